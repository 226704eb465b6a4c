// The replicated tables: every member holds a full copy; a write is made durable here, then on
// every running member, before it is acknowledged. Members that were away catch up by
// anti-entropy (bucket digests, then versions, then the missing records) each time they meet.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Dist } from '../link/types.js';
import { compareHlc, type HlcClock } from '../base/hlc.js';
import type { Log } from '../base/log.js';
import { bucketOf, digest, isDbRecord, recordId, wanted, wins, type DbRecord, type VersionEntry } from './record.js';
import type { RecordStore } from './storage.js';

export const DB_CHANNELS = {
  apply: 'db.apply',
  digest: 'db.digest',
  versions: 'db.versions',
  fetch: 'db.fetch',
  snapshot: 'db.snapshot',
} as const;

export interface DbOptions {
  readonly dist: Dist;
  readonly store: RecordStore;
  readonly clock: HlcClock;
  readonly log: Log;
  /** Members a write must reach: the running members other than this node. */
  readonly runningPeers: () => readonly string[];
  /** How long a write waits for one member's acknowledgement before treating it as down. */
  readonly replicateTimeoutMs?: number;
  /** Records per snapshot chunk streamed to a joining node. */
  readonly chunkRecords?: number;
}

export class DbCorruptError extends Error {
  readonly code = 'db_corrupt';
  constructor(message: string) {
    super(message);
    this.name = 'DbCorruptError';
  }
}

interface Snapshot {
  readonly records: DbRecord[];
  timer: NodeJS.Timeout;
}

const SNAPSHOT_IDLE_MS = 60_000;

export interface DbEvents {
  /** A row of `table` changed here (a local write, a member's, a catch-up): its value now, or undefined when deleted. */
  changed: [table: string, key: string, value: unknown];
  /** The whole replica was replaced (a join) or emptied (a leave): re-read what you mirror. */
  reset: [];
}

export class Db extends EventEmitter<DbEvents> {
  /** Records handed to the store whose write has not resolved yet: newer than what get() shows. */
  private readonly pending = new Map<string, DbRecord>();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly timeoutMs: number;
  private readonly chunk: number;

  constructor(private readonly o: DbOptions) {
    super();
    this.timeoutMs = o.replicateTimeoutMs ?? 10_000;
    this.chunk = o.chunkRecords ?? 2000;
  }

  /** Loads the local replica and registers the replication handlers. */
  async open(): Promise<void> {
    for (const r of this.o.store.entries()) {
      if (!isDbRecord(r)) throw new DbCorruptError(`a stored record in table '${r.table}' (key '${r.key}') has no version; the database was not written by this node's replication layer`);
      this.o.clock.observe(r.meta.hlc);
    }
    const d = this.o.dist;
    d.handle(DB_CHANNELS.apply, (_from, p) => this.applyRemote(p));
    d.handle(DB_CHANNELS.digest, () => digest(this.all()));
    d.handle(DB_CHANNELS.versions, (_from, p) => this.versionsIn(p));
    d.handle(DB_CHANNELS.fetch, (_from, p) => this.fetch(p));
    d.handle(DB_CHANNELS.snapshot, (_from, p) => this.snapshotChunk(p));
  }

  close(): void {
    for (const s of this.snapshots.values()) clearTimeout(s.timer);
    this.snapshots.clear();
  }

  /** Only records validated at open or on arrival reach the store, so the cast holds. */
  private record(table: string, key: string): DbRecord | undefined {
    return this.o.store.get(table, key) as DbRecord | undefined;
  }

  private all(): Iterable<DbRecord> {
    return this.o.store.entries() as Iterable<DbRecord>;
  }

  /** The version a newly arriving record must beat: an in-flight write, else the stored one. */
  private current(table: string, key: string): DbRecord | undefined {
    return this.pending.get(recordId(table, key)) ?? this.record(table, key);
  }

  get(table: string, key: string): unknown {
    const r = this.record(table, key);
    return r && !r.deleted ? r.value : undefined;
  }

  /** Live rows of a table, sorted by key. */
  list(table: string): Array<[key: string, value: unknown]> {
    const out: Array<[string, unknown]> = [];
    for (const r of this.o.store.entries(table)) if (r.table === table && !r.deleted) out.push([r.key, r.value]);
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /** Every record including tombstones (for tests and diagnostics). */
  size(): number {
    let n = 0;
    for (const _ of this.all()) n++;
    return n;
  }

  /**
   * Writes (or, with `undefined`, deletes) one row cluster-wide. Resolves once the record is
   * fsynced here and acknowledged (fsynced) by every member that was running when it was made,
   * except members that went down meanwhile; those catch up by anti-entropy when they return.
   */
  write(table: string, key: string, value: unknown): Promise<void> {
    return this.writeMany([{ table, key, value }]);
  }

  writeMany(rows: ReadonlyArray<{ table: string; key: string; value: unknown }>): Promise<void> {
    const p = this.replicate(
      rows.map((r) => ({
        table: r.table,
        key: r.key,
        value: r.value === undefined ? null : r.value,
        ...(r.value === undefined ? { deleted: true } : {}),
        meta: { hlc: this.o.clock.now() },
      })),
    );
    this.inflight.add(p);
    const done = (): void => void this.inflight.delete(p);
    p.then(done, done);
    return p;
  }

  /** Waits for the writes in flight (leave finishes them before dropping out). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
  }

  private async replicate(records: DbRecord[]): Promise<void> {
    await this.applyLocal(records);
    const peers = this.o.runningPeers();
    const results = await Promise.allSettled(peers.map((p) => this.o.dist.call(p, DB_CHANNELS.apply, { records }, this.timeoutMs)));
    results.forEach((r, i) => {
      if (r.status === 'rejected') {
        this.o.log.warn({ peer: peers[i], err: String(r.reason) }, 'a member did not acknowledge a write; it will catch up when it is back');
      }
    });
  }

  /** Applies records that win over what we hold; durable before returning. */
  async applyLocal(records: readonly DbRecord[]): Promise<number> {
    const winners: DbRecord[] = [];
    for (const r of records) {
      this.o.clock.observe(r.meta.hlc);
      if (wins(r, this.current(r.table, r.key))) {
        winners.push(r);
        // Checked and queued in the same tick, so the store applies winners in version order.
        this.pending.set(recordId(r.table, r.key), r);
      }
    }
    if (winners.length === 0) return 0;
    try {
      await this.o.store.write(winners);
    } finally {
      for (const r of winners) {
        const id = recordId(r.table, r.key);
        if (this.pending.get(id) === r) this.pending.delete(id);
      }
    }
    if (this.listenerCount('changed') > 0) {
      for (const r of winners) {
        // Only what is still the current version: a newer write may have landed meanwhile.
        const now = this.record(r.table, r.key);
        if (now !== undefined && compareHlc(now.meta.hlc, r.meta.hlc) === 0) this.emit('changed', r.table, r.key, r.deleted ? undefined : r.value);
      }
    }
    return winners.length;
  }

  private async applyRemote(p: unknown): Promise<boolean> {
    const recs = (p as { records?: unknown }).records;
    if (!Array.isArray(recs) || !recs.every(isDbRecord)) throw new Error('db.apply: malformed records');
    await this.applyLocal(recs);
    return true;
  }

  private versionsIn(p: unknown): VersionEntry[] {
    const buckets = new Set((p as { buckets?: number[] }).buckets ?? []);
    const out: VersionEntry[] = [];
    for (const r of this.all()) {
      if (buckets.has(bucketOf(r.table, r.key))) out.push({ table: r.table, key: r.key, hlc: r.meta.hlc, deleted: r.deleted === true });
    }
    return out;
  }

  private fetch(p: unknown): DbRecord[] {
    const ids = (p as { ids?: Array<[string, string]> }).ids ?? [];
    const out: DbRecord[] = [];
    for (const [t, k] of ids) {
      const r = this.record(t, k);
      if (r) out.push(r);
    }
    return out;
  }

  /**
   * Anti-entropy with one member: compares bucket digests, then the versions in the buckets that
   * differ, and pulls every record the peer holds newer. Both sides run it when they meet, so
   * each ends with the union (newest per row). Returns how many records were taken.
   */
  async syncWith(peer: string): Promise<number> {
    const theirs = (await this.o.dist.call(peer, DB_CHANNELS.digest, {}, this.timeoutMs)) as string[];
    const ours = digest(this.all());
    const differ = ours.map((d, i) => (d === theirs[i] ? -1 : i)).filter((i) => i >= 0);
    if (differ.length === 0) return 0;
    const versions = (await this.o.dist.call(peer, DB_CHANNELS.versions, { buckets: differ }, this.timeoutMs)) as VersionEntry[];
    const want = wanted(versions, (t, k) => this.current(t, k));
    let taken = 0;
    for (let i = 0; i < want.length; i += this.chunk) {
      const ids = want.slice(i, i + this.chunk).map((v) => [v.table, v.key]);
      const recs = (await this.o.dist.call(peer, DB_CHANNELS.fetch, { ids }, this.timeoutMs)) as DbRecord[];
      taken += await this.applyLocal(recs.filter(isDbRecord));
    }
    if (taken > 0) this.o.log.info({ peer, records: taken }, 'caught up with a member');
    return taken;
  }

  private snapshotChunk(p: unknown): { id: string; records: DbRecord[]; done: boolean } {
    const req = p as { id?: string; offset?: number };
    let snap = req.id ? this.snapshots.get(req.id) : undefined;
    if (req.id && !snap) throw new Error('snapshot expired; restart the join');
    const sid = req.id ?? randomUUID();
    if (!snap) {
      snap = { records: [...this.all()], timer: setTimeout(() => {}, 0) };
      this.snapshots.set(sid, snap);
    }
    clearTimeout(snap.timer);
    snap.timer = setTimeout(() => this.snapshots.delete(sid), SNAPSHOT_IDLE_MS);
    snap.timer.unref();
    const offset = req.offset ?? 0;
    const records = snap.records.slice(offset, offset + this.chunk);
    const done = offset + records.length >= snap.records.length;
    if (done) {
      clearTimeout(snap.timer);
      this.snapshots.delete(sid);
    }
    return { id: sid, records, done };
  }

  /**
   * Streams `peer`'s full copy into a replacement of the local store. `beforeCommit` runs once
   * everything has arrived; if anything fails before the commit, the local replica is untouched.
   */
  async replaceFrom(peer: string, beforeCommit: () => Promise<void>): Promise<{ records: number }> {
    let records = 0;
    const txn = await this.o.store.beginReplace();
    try {
      type Chunk = { id: string; records: DbRecord[]; done: boolean };
      const ask = (id: string | undefined, offset: number): Promise<Chunk> =>
        this.o.dist.call(peer, DB_CHANNELS.snapshot, { id, offset }, 60_000) as Promise<Chunk>;
      let offset = 0;
      let next = ask(undefined, 0);
      for (;;) {
        const chunk = await next;
        if (!chunk.records.every(isDbRecord)) throw new Error(`${peer} sent a malformed snapshot chunk`);
        offset += chunk.records.length;
        // One chunk ahead: the next one travels while this one is written.
        if (!chunk.done) next = ask(chunk.id, offset);
        next.catch(() => {});
        await txn.add(chunk.records);
        for (const r of chunk.records) this.o.clock.observe(r.meta.hlc);
        records += chunk.records.length;
        if (chunk.done) break;
      }
      await beforeCommit();
    } catch (err) {
      await txn.abort();
      throw err;
    }
    await txn.commit();
    this.emit('reset');
    return { records };
  }

  /** Empties the local replica (after leaving: the node continues alone with no data). */
  async clear(): Promise<void> {
    await this.o.store.clear();
    this.emit('reset');
  }
}
