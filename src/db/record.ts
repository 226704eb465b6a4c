// Records of the replicated tables and the pure rules that merge them: last writer wins by
// hybrid logical clock, deletions kept as tombstones so a stale copy cannot bring a row back.
import { createHash } from 'node:crypto';
import { compareHlc, isHlc, type Hlc } from '../base/hlc.js';

export interface RecordMeta {
  readonly hlc: Hlc;
}

/** The shape the storage engine persists (StoredRecord) with our meta. */
export interface DbRecord {
  readonly table: string;
  readonly key: string;
  readonly value: unknown;
  readonly deleted?: boolean;
  readonly meta: RecordMeta;
}

export const DIGEST_BUCKETS = 256;

export function recordId(table: string, key: string): string {
  return `${table}\u0000${key}`;
}

export function hlcOf(r: DbRecord): Hlc {
  return r.meta.hlc;
}

/** true when `incoming` should replace `current` (absent current always loses). */
export function wins(incoming: DbRecord, current: DbRecord | undefined): boolean {
  if (!current) return true;
  const c = compareHlc(hlcOf(incoming), hlcOf(current));
  if (c !== 0) return c > 0;
  // Same version: only a deletion may take over, so replicas agree whatever the arrival order.
  return incoming.deleted === true && current.deleted !== true;
}

export function isDbRecord(v: unknown): v is DbRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  const meta = r.meta as Record<string, unknown> | undefined;
  return typeof r.table === 'string' && typeof r.key === 'string' && !!meta && isHlc(meta.hlc);
}

function fingerprint(r: DbRecord): Buffer {
  const h = r.meta.hlc;
  return createHash('md5').update(`${recordId(r.table, r.key)}\u0000${h.t}.${h.c}.${h.n}.${r.deleted ? 1 : 0}`).digest();
}

export function bucketOf(table: string, key: string): number {
  return createHash('md5').update(recordId(table, key)).digest()[0]! % DIGEST_BUCKETS;
}

/**
 * Per-bucket fingerprints of a replica: equal digests mean equal replicas (up to a 64-bit
 * collision), unequal buckets tell anti-entropy where to look.
 */
export function digest(records: Iterable<DbRecord>): string[] {
  const acc = Array.from({ length: DIGEST_BUCKETS }, () => [0, 0]);
  for (const r of records) {
    const f = fingerprint(r);
    const b = acc[bucketOf(r.table, r.key)]!;
    b[0] = (b[0]! ^ f.readUInt32BE(0)) >>> 0;
    b[1] = (b[1]! ^ f.readUInt32BE(4)) >>> 0;
  }
  return acc.map(([a, b]) => `${a!.toString(16)}.${b!.toString(16)}`);
}

export interface VersionEntry {
  readonly table: string;
  readonly key: string;
  readonly hlc: Hlc;
  readonly deleted: boolean;
}

/** Which of the remote versions we should fetch (remote newer than ours, or missing here). */
export function wanted(remote: readonly VersionEntry[], local: (table: string, key: string) => DbRecord | undefined): VersionEntry[] {
  return remote.filter((v) => wins({ table: v.table, key: v.key, value: undefined, deleted: v.deleted, meta: { hlc: v.hlc } }, local(v.table, v.key)));
}
