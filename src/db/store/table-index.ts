// The in-memory view of the current records, per table (pure; no I/O).
import type { StoredRecord } from './record.js';

const NO_RECORDS: ReadonlyMap<string, StoredRecord> = new Map();

export class TableIndex {
  private readonly tables = new Map<string, Map<string, StoredRecord>>();
  private count = 0;

  get(table: string, key: string): StoredRecord | undefined {
    return this.tables.get(table)?.get(key);
  }

  /** Applies records in order; a later record for the same key replaces the earlier one. */
  apply(records: Iterable<StoredRecord>): void {
    for (const r of records) {
      let t = this.tables.get(r.table);
      if (!t) {
        t = new Map();
        this.tables.set(r.table, t);
      }
      const before = t.size;
      t.set(r.key, r);
      this.count += t.size - before;
    }
  }

  size(table?: string): number {
    return table === undefined ? this.count : (this.tables.get(table)?.size ?? 0);
  }

  /** One table's records (its map's own iterator, no generator between), or every table's. */
  entries(table?: string): IterableIterator<StoredRecord> {
    if (table !== undefined) return (this.tables.get(table) ?? NO_RECORDS).values();
    return this.#all();
  }

  *#all(): IterableIterator<StoredRecord> {
    for (const t of this.tables.values()) yield* t.values();
  }

  tableNames(): string[] {
    return [...this.tables.keys()];
  }

  /** A point-in-time copy of all records (the records themselves are immutable). */
  snapshot(): StoredRecord[] {
    const out = new Array<StoredRecord>(this.count);
    let i = 0;
    for (const t of this.tables.values()) for (const r of t.values()) out[i++] = r;
    return out;
  }
}
