// What the replicated tables need from the storage engine (src/db/store/). Declared here, as the
// consumer's port, so db/ compiles and tests against any engine with this shape.
import type { DbRecord } from './record.js';

export interface ReplaceTxn {
  add(records: readonly DbRecord[]): unknown;
  /**
   * Stages records in the engine's own form (encodeTransfer's parts, as received): checks and
   * decodes them, keeps the bytes as they are and resolves with the records. Nothing is visible
   * before commit; the caller validates the records and aborts if they are not what it expects.
   */
  addEncoded(bytes: Buffer): Promise<readonly LoadedRecord[]>;
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
  /**
   * A run of records in the engine's own form, as parts to concatenate: what addEncoded takes on
   * another node, so a joining node stores what it receives without encoding it again.
   */
  encodeTransfer(records: readonly DbRecord[]): Buffer[];
  clear(): Promise<void> | void;
  readState(name: string): unknown;
  writeState(name: string, doc: unknown): Promise<void> | void;
}
