// Records of the replicated tables and the pure rules that merge them: last writer wins by
// hybrid logical clock, deletions kept as tombstones so a stale copy cannot bring a row back.
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

/** The two 32-bit halves of the last hash64(). */
const lanes = new Uint32Array(2);

/** murmur3's finalizer: every input bit reaches every output bit. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A 64-bit hash of `s` into `lanes`: two independently multiplied lanes over its UTF-16 units,
 * each finished with fmix32. Not cryptographic, and it need not be: the digest only tells
 * anti-entropy where to look, and an XOR of fingerprints could be cancelled by a chosen set of
 * rows whatever the hash (a linear system), so md5 bought nothing over this but its cost: two md5
 * objects per row made a digest of 100,000 rows take a second of a node's event loop, on both
 * members, every time two members meet (a join, a restart) and every minute.
 */
function hash64(s: string): void {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  lanes[0] = fmix32(a ^ Math.imul(s.length, 0x27d4eb2d));
  lanes[1] = fmix32(b ^ lanes[0]);
}

export function bucketOf(table: string, key: string): number {
  hash64(recordId(table, key));
  return lanes[0]! % DIGEST_BUCKETS;
}

/**
 * Per-bucket fingerprints of a replica: equal digests mean equal replicas (up to a 64-bit
 * collision), unequal buckets tell anti-entropy where to look. A record's fingerprint covers its
 * table, key, version and deletion; its bucket, its table and key only.
 */
export function digest(records: Iterable<DbRecord>): string[] {
  const acc = new Uint32Array(DIGEST_BUCKETS * 2);
  for (const r of records) {
    const b = bucketOf(r.table, r.key) * 2;
    const h = r.meta.hlc;
    hash64(`${recordId(r.table, r.key)}\u0000${h.t}.${h.c}.${h.n}.${r.deleted ? 1 : 0}`);
    acc[b] = acc[b]! ^ lanes[0]!;
    acc[b + 1] = acc[b + 1]! ^ lanes[1]!;
  }
  const out: string[] = new Array<string>(DIGEST_BUCKETS);
  for (let i = 0; i < DIGEST_BUCKETS; i++) out[i] = `${acc[i * 2]!.toString(16)}.${acc[i * 2 + 1]!.toString(16)}`;
  return out;
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
