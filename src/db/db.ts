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
import { decodeChunk, encodeChunkHeader, nextChunk, type ChunkCursor, type ChunkLimits } from './transfer.js';

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
  /** Records per fetch when catching up with a member. */
  readonly chunkRecords?: number;
  /** Bytes per chunk of the copy streamed to a joining node (default 4 MiB). */
  readonly snapshotChunkBytes?: number;
  /** Chunks a joining node keeps asked for ahead of the one it stages (default 4). */
  readonly snapshotWindow?: number;
}

export class DbCorruptError extends Error {
  readonly code = 'db_corrupt';
  constructor(message: string) {
    super(message);
    this.name = 'DbCorruptError';
  }
}

/** A joining node's copy being streamed: the records as they were at its first request. */
interface Snapshot {
  readonly peer: string;
  readonly records: DbRecord[];
  readonly cursor: ChunkCursor;
  /** The chunk asked for next. */
  seq: number;
  timer: NodeJS.Timeout;
}

const SNAPSHOT_IDLE_MS = 60_000;
/** Frames of a chunk aim at this size; records per frame at most (as the store's own snapshots). */
const FRAME_BYTES = 1 << 20;
const FRAME_RECORDS = 512;

export interface DbEvents {
  /** A row of `table` changed here (a local write, a member's, a catch-up): its value now, or undefined when deleted. */
  changed: [table: string, key: string, value: unknown];
  /** The whole replica was replaced (a join) or emptied (a leave): re-read what you mirror. */
  reset: [why: 'join' | 'leave'];
}

/** Rows kept from before a join go to the members in batches of this many (each message stays small). */
const MERGE_BATCH = 500;

export class Db extends EventEmitter<DbEvents> {
  /** Records handed to the store whose write has not resolved yet: newer than what get() shows. */
  private readonly pending = new Map<string, DbRecord>();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly timeoutMs: number;
  private readonly chunk: number;
  private readonly chunkBytes: number;
  private readonly window: number;
  private readonly chunkLimits: ChunkLimits;
  /** Tables whose rows a join merges into the cluster's copy instead of dropping, and which rows (mergeOnJoin). */
  private readonly merged = new Map<string, (key: string) => boolean>();
  /** A joiner that went down will not ask for the rest of its copy: free it at once. */
  private readonly onNodeDown = (node: string): void => {
    for (const [id, s] of this.snapshots) if (s.peer === node) this.dropSnapshot(id);
  };

  constructor(private readonly o: DbOptions) {
    super();
    this.timeoutMs = o.replicateTimeoutMs ?? 10_000;
    this.chunk = o.chunkRecords ?? 2000;
    this.chunkBytes = o.snapshotChunkBytes ?? 4 << 20;
    this.window = Math.max(1, o.snapshotWindow ?? 4);
    // A few frames per chunk at least, so a chunk ends close to its size.
    this.chunkLimits = { chunkBytes: this.chunkBytes, frameBytes: Math.min(FRAME_BYTES, Math.max(1024, this.chunkBytes >> 2)), maxFrameRecords: FRAME_RECORDS };
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
    d.handle(DB_CHANNELS.snapshot, (from, p) => this.snapshotChunk(from, p));
    d.on('nodedown', this.onNodeDown);
  }

  close(): void {
    this.o.dist.off('nodedown', this.onNodeDown);
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
    return this.rows(table).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /**
   * Live rows of a table in no particular order: a copy taken at once, without list()'s sort
   * (100,000 keys take it ~100 ms, a pause every client of the node would feel).
   */
  rows(table: string): Array<[key: string, value: unknown]> {
    const out: Array<[string, unknown]> = [];
    for (const r of this.o.store.entries(table)) if (r.table === table && !r.deleted) out.push([r.key, r.value]);
    return out;
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

  /**
   * The next chunk of a joining node's copy. The first request takes the copy (the records as
   * they are now: they are immutable, so holding them costs one pointer each); each chunk is
   * encoded when asked for, so the seed holds at most the joiner's window of encoded chunks.
   */
  private snapshotChunk(from: string, p: unknown): Buffer {
    const req = p as { id?: unknown; seq?: unknown } | undefined;
    const seq = typeof req?.seq === 'number' ? req.seq : 0;
    let id: string;
    let snap: Snapshot | undefined;
    if (req?.id === undefined) {
      if (seq !== 0) throw new Error('a snapshot starts at chunk 0');
      id = randomUUID();
      snap = { peer: from, records: [...this.all()], cursor: { pos: 0, perFrame: FRAME_RECORDS }, seq: 0, timer: setTimeout(() => {}, 0) };
      this.snapshots.set(id, snap);
    } else {
      id = String(req.id);
      snap = this.snapshots.get(id);
      if (!snap) throw new Error('snapshot expired; restart the join');
      if (seq !== snap.seq) throw new Error(`snapshot chunk ${seq} asked for, ${snap.seq} expected; restart the join`);
    }
    clearTimeout(snap.timer);
    snap.timer = setTimeout(() => this.dropSnapshot(id), SNAPSHOT_IDLE_MS);
    snap.timer.unref();
    let chunk: ReturnType<typeof nextChunk>;
    try {
      chunk = nextChunk(snap.records, snap.cursor, (rs) => this.o.store.encodeTransfer(rs), this.chunkLimits);
    } catch (err) {
      this.dropSnapshot(id);
      throw err;
    }
    const last = snap.cursor.pos >= snap.records.length;
    const header = encodeChunkHeader({ id, seq, records: chunk.records, total: snap.records.length, last });
    snap.seq++;
    if (last) this.dropSnapshot(id);
    return Buffer.concat([header, ...chunk.parts], header.length + chunk.bytes);
  }

  private dropSnapshot(id: string): void {
    const s = this.snapshots.get(id);
    if (!s) return;
    clearTimeout(s.timer);
    this.snapshots.delete(id);
  }

  /**
   * A join keeps this node's rows of `table` that are newer than the cluster's (its row or its
   * tombstone): the two copies merge by the rule replication uses everywhere, last writer wins,
   * instead of the joiner's being dropped.
   */
  mergeOnJoin(table: string, keep: (key: string) => boolean = () => true): void {
    this.merged.set(table, keep);
  }

  /**
   * Streams `peer`'s full copy into a replacement of the local store. `beforeCommit` runs once
   * everything has arrived; if anything fails before the commit, the local replica is untouched.
   * The next chunks are asked for while one is staged (a window of them in flight), and each is
   * stored as it arrives, in the engine's own form, so the transfer, the checks and the disk
   * overlap; memory is the new copy plus the window.
   */
  async replaceFrom(peer: string, beforeCommit: () => Promise<void>): Promise<{ records: number }> {
    // This node's live rows of the merged tables; each one the copy holds newer is struck off.
    const own = new Map<string, DbRecord>();
    for (const [t, keep] of this.merged) for (const r of this.o.store.entries(t)) if (r.table === t && !r.deleted && isDbRecord(r) && keep(r.key)) own.set(recordId(t, r.key), r);
    let records = 0;
    let bytes = 0;
    // Where the time goes, for the log line below: waiting for chunks, staging them, committing.
    let waitMs = 0;
    let stageMs = 0;
    const started = performance.now();
    const txn = await this.o.store.beginReplace();
    try {
      const ask = (id: string | undefined, seq: number): Promise<unknown> => {
        const p = this.o.dist.call(peer, DB_CHANNELS.snapshot, id === undefined ? { seq } : { id, seq }, 60_000);
        // Chunks asked for past the last one, or after a failure, are not waited for.
        p.catch(() => {});
        return p;
      };
      const receive = async (p: Promise<unknown>): Promise<ReturnType<typeof decodeChunk>> => {
        const t = performance.now();
        const c = decodeChunk(await p);
        waitMs += performance.now() - t;
        bytes += c.frames.length;
        return c;
      };
      let chunk = await receive(ask(undefined, 0));
      const { id, total } = chunk.header;
      const ahead: Array<Promise<unknown>> = [];
      let nextSeq = 1;
      for (let seq = 0; ; seq++) {
        if (chunk.header.seq !== seq || chunk.header.id !== id) throw new Error(`${peer} sent chunk ${chunk.header.seq} where ${seq} was expected`);
        if (!chunk.header.last) while (ahead.length < this.window) ahead.push(ask(id, nextSeq++));
        const t = performance.now();
        const staged = await txn.addEncoded(chunk.frames);
        if (staged.length !== chunk.header.records) throw new Error(`${peer} sent a chunk of ${staged.length} records that says it holds ${chunk.header.records}`);
        for (const r of staged) {
          if (!isDbRecord(r)) throw new Error(`${peer} sent a malformed record (table '${r.table}', key '${r.key}')`);
          this.o.clock.observe(r.meta.hlc);
          if (own.size > 0 && this.merged.has(r.table)) {
            const id = recordId(r.table, r.key);
            const mine = own.get(id);
            if (mine && !wins(mine, r)) own.delete(id);
          }
        }
        stageMs += performance.now() - t;
        records += staged.length;
        if (chunk.header.last) break;
        chunk = await receive(ahead.shift()!);
      }
      if (records !== total) throw new Error(`${peer} sent ${records} records of a copy of ${total}`);
      // Staged after the copy, so they replace its older rows of the same keys: the replace
      // commits the merge whole, or nothing.
      if (own.size > 0) await txn.add([...own.values()]);
      await beforeCommit();
    } catch (err) {
      await txn.abort();
      throw err;
    }
    const committing = performance.now();
    await txn.commit();
    const ms = performance.now() - started;
    this.o.log.info(
      { peer, records, bytes, ms: Math.round(ms), waitMs: Math.round(waitMs), stageMs: Math.round(stageMs), commitMs: Math.round(performance.now() - committing), mbps: Math.round(bytes / 1048576 / (ms / 1000)) },
      "copied the cluster's database",
    );
    this.emit('reset', 'join');
    if (own.size > 0) {
      this.o.log.info({ rows: own.size, tables: [...this.merged.keys()] }, "kept rows from before the join that are newer than the cluster's");
      // To the members now (they would also pull them by anti-entropy when they meet this node).
      const kept = [...own.values()];
      for (let i = 0; i < kept.length; i += MERGE_BATCH) {
        const records = kept.slice(i, i + MERGE_BATCH);
        await Promise.allSettled(this.o.runningPeers().map((p) => this.o.dist.call(p, DB_CHANNELS.apply, { records }, this.timeoutMs)));
      }
    }
    return { records };
  }

  /** Empties the local replica (after leaving: the node continues alone with no data). */
  async clear(): Promise<void> {
    await this.o.store.clear();
    this.emit('reset', 'leave');
  }
}
