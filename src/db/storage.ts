// What the replicated tables need from the storage engine (src/db/store/). Declared here, as the
// consumer's port, so db/ compiles and tests against any engine with this shape.
import type { DbRecord } from './record.js';

export interface ReplaceTxn {
  add(records: readonly DbRecord[]): unknown;
  /** Durable when resolved: from then on the store holds exactly what was added. */
  commit(): Promise<void> | void;
  /** Leaves the store as it was before beginReplace(). */
  abort(): Promise<void> | void;
}

/** What the engine hands back: meta is opaque to it, so it is validated when loaded. */
export interface LoadedRecord {
  readonly table: string;
  readonly key: string;
  readonly value: unknown;
  readonly deleted?: boolean;
  readonly meta: unknown;
}

/**
 * The engine keeps every record in memory (its index) and serves reads from it; the replicated
 * tables use that index rather than keeping a second copy.
 */
export interface RecordStore {
  /** Visible once the write that made it has resolved. */
  get(table: string, key: string): LoadedRecord | undefined;
  /** Current records, tombstones included (of one table, or all). */
  entries(table?: string): Iterable<LoadedRecord>;
  /** Durable (fsynced) when resolved. */
  write(records: readonly DbRecord[]): Promise<void> | void;
  beginReplace(): ReplaceTxn | Promise<ReplaceTxn>;
  clear(): Promise<void> | void;
  readState(name: string): unknown;
  writeState(name: string, doc: unknown): Promise<void> | void;
}
