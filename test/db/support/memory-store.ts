// An in-memory RecordStore for protocol tests (the real engine is tested on its own). It can be
// told to fail, to check that a failed join leaves the replica untouched.
import { deserialize, serialize } from 'node:v8';
import type { DbRecord } from '../../../src/db/record.js';
import type { RecordStore, ReplaceTxn } from '../../../src/db/storage.js';

export class MemoryStore implements RecordStore {
  readonly rows = new Map<string, DbRecord>();
  readonly state = new Map<string, unknown>();
  writes = 0;

  get(table: string, key: string): DbRecord | undefined {
    return this.rows.get(`${table}\u0000${key}`);
  }

  entries(table?: string): Iterable<DbRecord> {
    return [...this.rows.values()].filter((r) => table === undefined || r.table === table);
  }

  write(records: readonly DbRecord[]): void {
    this.writes++;
    for (const r of records) this.rows.set(`${r.table}\u0000${r.key}`, r);
  }

  /** Length-prefixed v8 arrays: a chunk carries several back to back. */
  encodeTransfer(records: readonly DbRecord[]): Buffer[] {
    const body = serialize(records);
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(body.length, 0);
    return [len, body];
  }

  beginReplace(): ReplaceTxn {
    const fresh = new Map<string, DbRecord>();
    return {
      add: (records) => {
        for (const r of records) fresh.set(`${r.table}\u0000${r.key}`, r);
      },
      addEncoded: (bytes) => {
        const out: DbRecord[] = [];
        for (let off = 0; off < bytes.length; ) {
          const len = bytes.readUInt32BE(off);
          for (const r of deserialize(bytes.subarray(off + 4, off + 4 + len)) as DbRecord[]) out.push(r);
          off += 4 + len;
        }
        for (const r of out) fresh.set(`${r.table}\u0000${r.key}`, r);
        return Promise.resolve(out);
      },
      commit: () => {
        this.rows.clear();
        for (const [k, v] of fresh) this.rows.set(k, v);
      },
      abort: () => fresh.clear(),
    };
  }

  clear(): void {
    this.rows.clear();
  }

  readState(name: string): unknown {
    return structuredClone(this.state.get(name));
  }

  writeState(name: string, doc: unknown): void {
    this.state.set(name, structuredClone(doc));
  }
}
