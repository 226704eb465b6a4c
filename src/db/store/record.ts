// The record shape the store persists, and its compact on-disk encoding (pure).
import { deserialize, serialize } from 'node:v8';
import { StoreRecordError } from './errors.js';

export interface StoredRecord {
  readonly table: string;
  readonly key: string;
  /** undefined together with deleted=true for a tombstone */
  readonly value: unknown;
  readonly deleted?: boolean;
  /** opaque version metadata owned by the replication layer (e.g. a hybrid logical clock); stored as given */
  readonly meta: unknown;
}

/** On disk a record is a tuple: positional fields keep batches small and decoding cheap. */
type Tuple = [table: string, key: string, flags: number, value: unknown, meta: unknown];
const TOMBSTONE = 1;

/** The canonical, frozen in-memory form: a tombstone never carries a value. */
export function normalize(r: StoredRecord): StoredRecord {
  if (r === null || typeof r !== 'object') throw new StoreRecordError(`a record must be an object, got ${r === null ? 'null' : typeof r}`);
  if (typeof r.table !== 'string' || r.table.length === 0) throw new StoreRecordError(`record table must be a non-empty string, got ${JSON.stringify(r.table)}`);
  if (typeof r.key !== 'string') throw new StoreRecordError(`record key in table '${r.table}' must be a string, got ${typeof r.key}`);
  return r.deleted === true
    ? Object.freeze({ table: r.table, key: r.key, value: undefined, deleted: true, meta: r.meta })
    : Object.freeze({ table: r.table, key: r.key, value: r.value, meta: r.meta });
}

function toTuple(r: StoredRecord): Tuple {
  return [r.table, r.key, r.deleted === true ? TOMBSTONE : 0, r.deleted === true ? undefined : r.value, r.meta];
}

/** Serializes normalized records; names the offending record when a value cannot be serialized. */
export function encodeRecords(records: readonly StoredRecord[]): Buffer {
  try {
    return serialize(records.map(toTuple));
  } catch {
    for (const r of records) {
      try {
        serialize(toTuple(r));
      } catch (err) {
        throw new StoreRecordError(`record '${r.table}'/'${r.key}' cannot be stored: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    throw new StoreRecordError('records cannot be serialized');
  }
}

/** Decodes a payload written by encodeRecords; returns undefined when it is not one. */
export function decodeRecords(payload: Uint8Array): StoredRecord[] | undefined {
  let raw: unknown;
  try {
    raw = deserialize(payload);
  } catch {
    return undefined;
  }
  if (!Array.isArray(raw)) return undefined;
  const out: StoredRecord[] = new Array<StoredRecord>(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const t: unknown = raw[i];
    if (!Array.isArray(t) || t.length !== 5 || typeof t[0] !== 'string' || typeof t[1] !== 'string' || typeof t[2] !== 'number') return undefined;
    out[i] =
      t[2] === TOMBSTONE
        ? Object.freeze({ table: t[0], key: t[1], value: undefined, deleted: true, meta: t[4] as unknown })
        : Object.freeze({ table: t[0], key: t[1], value: t[3] as unknown, meta: t[4] as unknown });
  }
  return out;
}
