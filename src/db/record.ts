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

/** The two 32-bit halves of the last finish(). */
const lanes = new Uint32Array(2);
/** The running hash: two lanes and the number of units fed. */
let ha = 0;
let hb = 0;
let hn = 0;

/** murmur3's finalizer: every input bit reaches every output bit. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/*
 * A 64-bit hash fed piece by piece (so a record's bucket and its fingerprint share the work on
 * its table and key): two independently multiplied lanes over 16-bit units, each finished with
 * fmix32. Not cryptographic, and it need not be: the digest only tells anti-entropy where to
 * look, and an XOR of fingerprints could be cancelled by a chosen set of rows whatever the hash
 * (a linear system), so md5 bought nothing over this but its cost: two md5 objects per row made
 * a digest of 100,000 rows take a second of a node's event loop, on both members, every time two
 * members meet (a join, a restart) and every minute.
 */
function begin(): void {
  ha = 0x811c9dc5;
  hb = 0x9747b28c;
  hn = 0;
}

function unit(c: number): void {
  ha = Math.imul(ha ^ c, 0x01000193);
  hb = Math.imul(hb ^ c, 0x5bd1e995);
  hb ^= hb >>> 15;
  hn++;
}

function text(s: string): void {
  for (let i = 0; i < s.length; i++) unit(s.charCodeAt(i));
  unit(0);
}

/** A non-negative integer below 2^53 (wall ms, counters), as four 16-bit units. */
function integer(n: number): void {
  const hi = Math.floor(n / 0x100000000);
  unit(n & 0xffff);
  unit((n >>> 16) & 0xffff);
  unit(hi & 0xffff);
  unit((hi >>> 16) & 0xffff);
}

/** The hash of what was fed so far, into `lanes`; feeding may go on after. */
function finish(): void {
  lanes[0] = fmix32(ha ^ Math.imul(hn, 0x27d4eb2d));
  lanes[1] = fmix32(hb ^ lanes[0]);
}

function idHash(table: string, key: string): void {
  begin();
  text(table);
  text(key);
  finish();
}

export function bucketOf(table: string, key: string): number {
  idHash(table, key);
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
    idHash(r.table, r.key);
    const b = (lanes[0]! % DIGEST_BUCKETS) * 2;
    const h = r.meta.hlc;
    integer(h.t);
    integer(h.c);
    text(h.n);
    unit(r.deleted ? 1 : 0);
    finish();
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
