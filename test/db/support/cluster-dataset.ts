// What a busy cluster's database holds, generated for the join benchmark and the kill-during-join
// tests: retained messages with a payload mix, built-in-database users, bans, API keys and
// administrators, each in the table and shape its owner stores (router/retained-store.ts,
// auth/authn/users.ts, auth/banned/banned.ts, api/auth/api-keys.ts, db/admins.ts). Seeded, so a
// run is reproduced exactly; records come out in batches so that no caller holds the whole set.
import { createHash } from 'node:crypto';
import { prng } from '../../helpers/prng.js';
import { ADMINS_TABLE } from '../../../src/db/admins.js';
import { RETAINED_TABLE } from '../../../src/router/retained-store.js';
import { AUTHN_USERS_TABLE } from '../../../src/auth/authn/users.js';
import { BANNED_TABLE } from '../../../src/auth/banned/banned.js';
import { API_KEYS_TABLE } from '../../../src/api/auth/api-keys.js';
import { API_META_TABLE } from '../../../src/api/auth/auth-store.js';
import { digest, recordId, wins, type DbRecord } from '../../../src/db/record.js';
import { Store } from '../../../src/db/store/index.js';
import type { StoredPassword } from '../../../src/auth/authn/password-hash.js';

export interface DatasetSpec {
  /** Retained messages (topic → message), payloads drawn from PAYLOAD_MIX. */
  readonly retained: number;
  readonly users: number;
  readonly banned: number;
  readonly apiKeys: number;
  readonly admins: number;
  readonly seed: number;
  /** The node the versions are stamped with. */
  readonly node: string;
}

/**
 * Retained payload sizes: most retained messages are small states, some are documents or images.
 * Bands of [weight, smallest, largest] bytes, uniform within a band; the mean is about 4.2 KB.
 */
export const PAYLOAD_MIX: ReadonlyArray<readonly [weight: number, lo: number, hi: number]> = [
  [0.6, 16, 256],
  [0.3, 256, 4096],
  [0.1, 4096, 65536],
];

/** The realistic dataset of the join benchmark. */
export const BUSY_CLUSTER = { retained: 100_000, users: 10_000, banned: 1_000, apiKeys: 100, admins: 20 } as const;

export const retainedTopic = (i: number): string => `site/${i % 100}/device/${i}/state`;
export const userName = (i: number): string => `user${i}`;

/** A user whose password works: the benchmark's clients log in as it. */
export interface LoginUser {
  readonly userId: string;
  readonly password: string;
  readonly stored: StoredPassword;
}

function payloadSize(r: () => number): number {
  let x = r();
  for (const [w, lo, hi] of PAYLOAD_MIX) {
    if (x < w) return lo + Math.floor(r() * (hi - lo + 1));
    x -= w;
  }
  return 16;
}

/** Deterministic bytes that do not compress to nothing (a payload is not a run of one byte). */
function fill(buf: Buffer, seed: number): Buffer {
  let h = createHash('sha256').update(String(seed)).digest();
  for (let off = 0; off < buf.length; off += h.length) {
    h.copy(buf, off);
    h = createHash('sha256').update(h).digest();
  }
  return buf;
}

function hex(r: () => number, bytes: number): string {
  let s = '';
  for (let i = 0; i < bytes; i++) s += Math.floor(r() * 256).toString(16).padStart(2, '0');
  return s;
}

/**
 * The records of `spec`, `batch` at a time, in table order. `login` (if given) is stored as
 * user 0, so a client can log in with its password.
 */
export function* datasetBatches(spec: DatasetSpec, batch = 1000, login?: LoginUser): Generator<DbRecord[]> {
  const r = prng(spec.seed);
  const t0 = 1_780_000_000_000;
  let seq = 0;
  const meta = (): DbRecord['meta'] => ({ hlc: { t: t0 + seq, c: seq++ % 7, n: spec.node } });
  let out: DbRecord[] = [];
  const push = function* (table: string, key: string, value: unknown): Generator<DbRecord[]> {
    out.push({ table, key, value, meta: meta() });
    if (out.length >= batch) {
      yield out;
      out = [];
    }
  };
  const now = Math.floor(t0 / 1000);
  for (let i = 0; i < spec.retained; i++) {
    const payload = fill(Buffer.allocUnsafe(payloadSize(r)), spec.seed * 1_000_003 + i);
    yield* push(RETAINED_TABLE, retainedTopic(i), {
      payload,
      qos: i % 3 === 0 ? 0 : 1,
      from: `device-${i}`,
      ts: t0 + i,
      exp: i % 10 === 0 ? t0 + 86_400_000 : null,
      ...(i % 4 === 0 ? { props: { contentType: 'application/json', userProperties: { site: String(i % 100) } } } : {}),
    });
  }
  for (let i = 0; i < spec.users; i++) {
    const user =
      i === 0 && login
        ? { user_id: login.userId, ...login.stored, is_superuser: false }
        : { user_id: userName(i), password_hash: hex(r, 32), salt: hex(r, 16), is_superuser: i % 500 === 0 };
    yield* push(AUTHN_USERS_TABLE, user.user_id, user);
  }
  for (let i = 0; i < spec.banned; i++) {
    const as = i % 3 === 0 ? 'username' : 'clientid';
    const who = `banned-${as}-${i}`;
    // In force for years (or for good): a node sweeps ended bans away as soon as it starts.
    yield* push(BANNED_TABLE, `${as}\u0000${who}`, { as, who, by: 'flapping detector', reason: 'connected too often', at: now - i, ...(i % 4 === 0 ? {} : { until: now + 10 * 365 * 86_400 + i }) });
  }
  for (let i = 0; i < spec.apiKeys; i++) {
    const name = `key${i}`;
    yield* push(API_KEYS_TABLE, name, {
      name,
      apiKey: hex(r, 8),
      secretHash: `scrypt$16384$8$1$${Buffer.from(hex(r, 16), 'hex').toString('base64')}$${Buffer.from(hex(r, 64), 'hex').toString('base64')}`,
      enable: true,
      createdAt: now - i * 3600,
      desc: `automation key ${i}`,
    });
  }
  for (let i = 0; i < spec.admins; i++) yield* push(ADMINS_TABLE, `admin${i}`, adminRow(r, i, now));
  // The cluster's token signing key: every cluster has one (a node makes it at its first start).
  yield* push(API_META_TABLE, 'token_signing_key', Buffer.from(hex(r, 32), 'hex').toString('base64'));
  if (out.length > 0) yield out;
}

function adminRow(r: () => number, i: number, now: number): unknown {
  return {
    username: `admin${i}`,
    pwdHash: `scrypt$16384$8$1$${Buffer.from(hex(r, 16), 'hex').toString('base64')}$${Buffer.from(hex(r, 64), 'hex').toString('base64')}`,
    description: `operator ${i}`,
    role: 'administrator',
    createdAt: now * 1000 - i,
  };
}

/** `n` administrators as the admins table stores them (the join benchmark's small-record case). */
export function* adminBatches(n: number, seed: number, node: string, batch = 1000): Generator<DbRecord[]> {
  const r = prng(seed);
  const t0 = 1_780_000_000_000;
  const now = Math.floor(t0 / 1000);
  for (let i = 0; i < n; i += batch) {
    const out: DbRecord[] = [];
    for (let k = i; k < Math.min(n, i + batch); k++) out.push({ table: ADMINS_TABLE, key: `admin${k}`, value: adminRow(r, k, now), meta: { hlc: { t: t0 + k, c: 0, n: node } } });
    yield out;
  }
}

/**
 * Makes `batches` the whole content of the (closed) store in `dir`, as one committed replace, as a
 * node's database directory holds it; returns the records and the snapshot's size in bytes.
 */
export async function writeDataset(dir: string, batches: Iterable<DbRecord[]>): Promise<{ records: number; bytes: number }> {
  const store = await Store.open(dir);
  try {
    const txn = store.beginReplace();
    let records = 0;
    for (const b of batches) {
      await txn.add(b);
      records += b.length;
    }
    await txn.commit();
    return { records, bytes: store.stats().snapshotBytes };
  } finally {
    await store.close();
  }
}

/**
 * The anti-entropy digest of the (closed) store in `dir` (equal digests, equal contents), leaving
 * out what nodes write by themselves at any time: their retained $SYS facts (version, running
 * nodes), which are not part of any dataset.
 */
export async function storeDigest(dir: string): Promise<{ digest: string; records: number }> {
  return digestOf(await storeRecords(dir));
}

/**
 * The digest of what a join of the node holding `ownDir` into the cluster holding `clusterDir`
 * commits: the cluster's copy, and the joiner's live rows of the merged tables (the retained
 * messages) wherever they are newer than the copy's (db.ts, mergeOnJoin).
 */
export async function joinedDigest(clusterDir: string, ownDir: string): Promise<{ digest: string; records: number }> {
  const merged = new Map((await storeRecords(clusterDir)).map((r) => [recordId(r.table, r.key), r] as const));
  for (const r of await storeRecords(ownDir)) {
    if (r.table !== RETAINED_TABLE || r.deleted || r.key.startsWith('$SYS/')) continue;
    const id = recordId(r.table, r.key);
    if (wins(r, merged.get(id))) merged.set(id, r);
  }
  return digestOf([...merged.values()]);
}

async function storeRecords(dir: string): Promise<DbRecord[]> {
  const store = await Store.open(dir);
  try {
    return [...(store.entries() as Iterable<DbRecord>)].filter((r) => !(r.table === RETAINED_TABLE && r.key.startsWith('$SYS/')));
  } finally {
    await store.close();
  }
}

function digestOf(records: DbRecord[]): { digest: string; records: number } {
  return { digest: digest(records).join(','), records: records.length };
}
