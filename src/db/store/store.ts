// The storage engine: an in-memory index of the current records, made durable by an append-only
// log of batches (group-committed with one fsync per group) and periodically folded into a
// snapshot. The MANIFEST is the only switch point, so compaction, replace and clear are atomic
// and a crash at any moment recovers every acknowledged batch. See docs/storage.md.
import { unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { StoreClosedError, StoreFailedError, StoreRecordError } from './errors.js';
import { MAX_FRAME_BYTES, encodeFrame } from './frame.js';
import { AfterRenameError, fsyncDir, logName, snapshotName } from './files.js';
import { acquireLock } from './lock.js';
import { LogFile } from './log.js';
import { writeManifest, type Manifest } from './manifest.js';
import { Mutex } from './mutex.js';
import { encodeRecords, normalize, type StoredRecord } from './record.js';
import { ensureDir, recover } from './recovery.js';
import { SnapshotWriter } from './snapshot.js';
import { decodeRecordFrames, encodeRecordFrame } from './transfer.js';
import { encodeState, readStateDoc, writeStateDoc } from './state-docs.js';
import { TableIndex } from './table-index.js';

export interface StoreOptions {
  logger?: Logger;
  /**
   * Compact (fold the logs into a new snapshot) once the logs hold at least this many bytes and
   * at least as many as the last snapshot. Default 64 MiB.
   */
  compactLogBytes?: number;
  /** Upper bound of bytes appended with one fsync; more waiting batches go in the next group. Default 16 MiB. */
  maxGroupBytes?: number;
}

export interface ReplaceHandle {
  /**
   * Stages records (a later record for the same key wins); nothing is visible before commit. The
   * staged file is written while the next records come: a failed write is reported by the first
   * call after it (commit at the latest), and the replace can then only be aborted.
   */
  add(records: readonly StoredRecord[]): Promise<void>;
  /**
   * Stages records received in the store's own form (encodeRecordFrame's frames, back to back):
   * checks and decodes them, writes the bytes as they are into the staged snapshot and resolves
   * with the records, once the write is under way. `bytes` must not change afterwards.
   */
  addEncoded(bytes: Buffer): Promise<StoredRecord[]>;
  /** Atomically makes the staged records the whole content of the store. */
  commit(): Promise<void>;
  /** Drops the staged records; the store is untouched. */
  abort(): Promise<void>;
}

/** Counters since open, for tests, benchmarks and metrics. */
export interface StoreStats {
  /** Batches acknowledged by write(). */
  readonly batches: number;
  /** Appends, each followed by one fsync (group commit: batches / groups is the sharing factor). */
  readonly groups: number;
  readonly compactions: number;
  /** Bytes in the logs on top of the snapshot, and the snapshot's size. */
  readonly logBytes: number;
  readonly snapshotBytes: number;
}

interface Pending {
  readonly frame: Buffer;
  readonly records: readonly StoredRecord[];
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

const DEFAULT_COMPACT_LOG_BYTES = 64 << 20;
const DEFAULT_MAX_GROUP_BYTES = 16 << 20;

export class Store {
  private readonly mutex = new Mutex();
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private compacting: Promise<void> | undefined;
  /** Bumped whenever replace/clear swaps the content, so an overlapping compaction knows it is stale. */
  private epoch = 0;
  private failure: StoreFailedError | undefined;
  private counters = { batches: 0, groups: 0, compactions: 0 };
  /** After a failed compaction, wait for this much log before trying again (no retry storm on a full disk). */
  private compactRetryAt = 0;
  private closed = false;
  private readonly stagers = new Set<{ abort(): Promise<void> }>();
  private readonly stateChains = new Map<string, Promise<void>>();
  private readonly compactLogBytes: number;
  private readonly maxGroupBytes: number;

  private constructor(
    readonly dir: string,
    private readonly logger: Logger | undefined,
    private readonly unlock: () => Promise<void>,
    private manifest: Manifest,
    private index: TableIndex,
    private log: LogFile,
    private logBytes: number,
    private snapshotBytes: number,
    private nextSnapshot: number,
    opts: StoreOptions,
  ) {
    this.compactLogBytes = opts.compactLogBytes ?? DEFAULT_COMPACT_LOG_BYTES;
    this.maxGroupBytes = opts.maxGroupBytes ?? DEFAULT_MAX_GROUP_BYTES;
  }

  /** Creates the directory's database or recovers it; throws StoreCorruptError on damage. */
  static async open(dir: string, opts: StoreOptions = {}): Promise<Store> {
    const abs = resolve(dir);
    await ensureDir(abs);
    const unlock = await acquireLock(abs);
    try {
      const r = await recover(abs, opts.logger);
      const store = new Store(abs, opts.logger, unlock, r.manifest, r.index, r.log, r.logBytes, r.snapshotBytes, r.nextSnapshot, opts);
      store.maybeCompact();
      return store;
    } catch (err) {
      await unlock();
      throw err;
    }
  }

  get(table: string, key: string): StoredRecord | undefined {
    return this.index.get(table, key);
  }

  /** Current records (tombstones included), in no particular order. */
  entries(table?: string): IterableIterator<StoredRecord> {
    return this.index.entries(table);
  }

  /** Number of records entries() yields. */
  size(table?: string): number {
    return this.index.size(table);
  }

  stats(): StoreStats {
    return { ...this.counters, logBytes: this.logBytes, snapshotBytes: this.snapshotBytes };
  }

  tables(): string[] {
    return this.index.tableNames();
  }

  /**
   * Durable (fsynced) before it resolves, atomic as a batch, visible to get() once it resolves.
   * Concurrent calls share one fsync. Values are kept by reference: do not mutate them afterwards.
   */
  write(records: readonly StoredRecord[]): Promise<void> {
    const usable = this.usable();
    if (usable) return Promise.reject(usable);
    let norm: StoredRecord[];
    let frame: Buffer;
    try {
      norm = records.map(normalize);
      if (norm.length === 0) return Promise.resolve();
      const payload = encodeRecords(norm);
      if (payload.length > MAX_FRAME_BYTES) throw new StoreRecordError(`a batch of ${payload.length} bytes exceeds the limit of ${MAX_FRAME_BYTES}; split it`);
      frame = encodeFrame(payload);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ frame, records: norm, resolve, reject });
      this.flushing ??= this.flushLoop();
    });
  }

  /** Records in transfer form (transfer.ts): frames as a snapshot file holds them, for another store's addEncoded. */
  encodeTransfer(records: readonly StoredRecord[]): Buffer[] {
    return encodeRecordFrame(records);
  }

  beginReplace(): ReplaceHandle {
    const usable = this.usable();
    if (usable) throw usable;
    const number = this.nextSnapshot++;
    const staged = new TableIndex();
    let writer: Promise<SnapshotWriter> | undefined;
    let state: 'open' | 'committing' | 'done' = 'open';
    let adding: Promise<void> = Promise.resolve();
    let addFailure: unknown;
    const getWriter = (): Promise<SnapshotWriter> => (writer ??= SnapshotWriter.create(this.dir, number));
    const stage = (records: readonly StoredRecord[], write: (w: SnapshotWriter) => Promise<void>): Promise<void> => {
      if (state !== 'open') return Promise.reject(new Error(`replace is already ${state === 'done' ? 'finished' : 'committing'}`));
      // Adds run one after another even when the caller does not wait: the file is written in order.
      const step = adding.then(async () => {
        if (addFailure !== undefined) throw addFailure;
        try {
          await write(await getWriter());
        } catch (err) {
          // The staged file may now hold part of these records: this replace cannot be committed.
          addFailure = err;
          throw err;
        }
        staged.apply(records);
      });
      adding = step.catch(() => undefined);
      return step;
    };
    const handle = {
      add: (records: readonly StoredRecord[]): Promise<void> => {
        let norm: StoredRecord[];
        try {
          norm = records.map(normalize);
        } catch (err) {
          return Promise.reject(err);
        }
        return stage(norm, (w) => w.add(norm));
      },
      addEncoded: (bytes: Buffer): Promise<StoredRecord[]> => {
        let records: StoredRecord[];
        try {
          records = decodeRecordFrames(bytes);
        } catch (err) {
          return Promise.reject(err);
        }
        return stage(records, (w) => w.addFrames(bytes, records.length)).then(() => records);
      },
      commit: async (): Promise<void> => {
        if (state !== 'open') throw new Error(`replace is already ${state === 'done' ? 'finished' : 'committing'}`);
        const usable = this.usable();
        if (usable) throw usable;
        state = 'committing';
        await adding;
        if (addFailure !== undefined) {
          state = 'open';
          throw new Error(`cannot commit: staging failed earlier (${addFailure instanceof Error ? addFailure.message : String(addFailure)}); abort this replace`, { cause: addFailure });
        }
        const w = await getWriter();
        try {
          const size = await w.finish();
          await this.switchTo(number, staged, size, 'replace');
        } catch (err) {
          // The new MANIFEST may already name this snapshot: then it must stay.
          if (!(err instanceof StoreFailedError && err.cause instanceof AfterRenameError)) {
            await w.abort();
            await unlink(join(this.dir, snapshotName(number))).catch(() => undefined);
          }
          throw err;
        } finally {
          state = 'done';
          this.stagers.delete(handle);
        }
      },
      abort: async (): Promise<void> => {
        if (state !== 'open') return;
        state = 'done';
        this.stagers.delete(handle);
        await adding;
        if (writer) await (await writer).abort();
      },
    };
    this.stagers.add(handle);
    return handle;
  }

  /** Empties the database atomically (state documents are kept). */
  async clear(): Promise<void> {
    const usable = this.usable();
    if (usable) throw usable;
    await this.switchTo(null, new TableIndex(), 0, 'clear');
  }

  /** Folds the logs into a new snapshot now (normally automatic). */
  async compact(): Promise<void> {
    const usable = this.usable();
    if (usable) throw usable;
    this.compacting ??= this.runCompaction();
    return this.compacting;
  }

  async readState<T>(name: string): Promise<T | undefined> {
    if (this.closed) throw new StoreClosedError(this.dir);
    await this.stateChains.get(name);
    return (await readStateDoc(this.dir, name)) as T | undefined;
  }

  /** Replaces a state document atomically; calls for the same name take effect in call order. */
  async writeState(name: string, value: unknown): Promise<void> {
    if (this.closed) throw new StoreClosedError(this.dir);
    // Encoded now: what is written is the value as it was at the call.
    const data = encodeState(name, value);
    const prev = this.stateChains.get(name) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(() => writeStateDoc(this.dir, name, data));
    const tail = next.catch(() => undefined);
    this.stateChains.set(name, tail);
    void tail.then(() => {
      if (this.stateChains.get(name) === tail) this.stateChains.delete(name);
    });
    return next;
  }

  /** Waits for queued writes, stops compaction, drops staged replaces, releases the directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flushing?.catch(() => undefined);
    await this.compacting?.catch(() => undefined);
    for (const s of [...this.stagers]) await s.abort().catch(() => undefined);
    await Promise.all([...this.stateChains.values()]);
    await this.mutex.run(() => this.log.close()).catch(() => undefined);
    await this.unlock();
  }

  private usable(): Error | undefined {
    if (this.closed) return new StoreClosedError(this.dir);
    return this.failure;
  }

  private async flushLoop(): Promise<void> {
    // The flag is cleared in the same tick the queue is seen empty: a write() arriving a moment
    // later starts a new loop instead of waiting on this finished one.
    try {
      while (this.queue.length > 0) await this.mutex.run(() => this.commitGroup());
    } finally {
      this.flushing = undefined;
    }
  }

  /** Appends one group of waiting batches, fsyncs once, then applies and acknowledges them. */
  private async commitGroup(): Promise<void> {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || bytes + this.queue[n]!.frame.length <= this.maxGroupBytes)) bytes += this.queue[n++]!.frame.length;
    const group = this.queue.splice(0, n);
    if (group.length === 0) return;
    if (this.failure) {
      for (const p of group) p.reject(this.failure);
      return;
    }
    const buf = group.length === 1 ? group[0]!.frame : Buffer.concat(group.map((p) => p.frame), bytes);
    try {
      await this.log.append(buf);
    } catch (err) {
      // Not written (and cut back): these batches fail, later ones may still succeed (e.g. after ENOSPC clears).
      const cutBackFailed = (err as { cutBackFailed?: boolean }).cutBackFailed === true;
      const e = cutBackFailed ? this.fail(`writing ${this.log.path} failed and the partial write could not be removed`, err) : err;
      this.logger?.error({ err, file: this.log.path }, 'store: write failed');
      for (const p of group) p.reject(e);
      return;
    }
    try {
      await this.log.sync();
    } catch (err) {
      // After a failed fsync the kernel may have dropped the dirty pages: nothing about the file
      // can be trusted any more, so stop here and let a restart recover from what is on disk.
      const e = this.fail(`fsync of ${this.log.path} failed`, err);
      for (const p of group) p.reject(e);
      return;
    }
    for (const p of group) this.index.apply(p.records);
    this.logBytes += buf.length;
    this.counters.groups++;
    this.counters.batches += group.length;
    for (const p of group) p.resolve();
    this.maybeCompact();
  }

  private fail(what: string, cause: unknown): StoreFailedError {
    this.failure ??= new StoreFailedError(
      `store ${this.dir} stopped accepting writes: ${what} (${cause instanceof Error ? cause.message : String(cause)}); ` +
        'restart the node to recover from the last durable state',
      { cause },
    );
    this.logger?.error({ err: cause, dir: this.dir }, this.failure.message);
    for (const p of this.queue.splice(0)) p.reject(this.failure);
    return this.failure;
  }

  private maybeCompact(): void {
    if (this.compacting || this.closed || this.failure) return;
    if (this.logBytes < this.compactLogBytes || this.logBytes < this.snapshotBytes || this.logBytes < this.compactRetryAt) return;
    this.compact().catch(() => undefined);
  }

  /** Starts a new log file; later appends go there. Must run under the mutex. */
  private async rotate(): Promise<number> {
    const next = await LogFile.create(this.dir, this.log.number + 1);
    try {
      await fsyncDir(this.dir);
    } catch (err) {
      await next.close().catch(() => undefined);
      throw err;
    }
    const old = this.log;
    this.log = next;
    await old.close().catch(() => undefined);
    return next.number;
  }

  private async runCompaction(): Promise<void> {
    try {
      await this.compactOnce();
    } finally {
      this.compacting = undefined;
    }
  }

  private async compactOnce(): Promise<void> {
    const started = Date.now();
    const epoch = this.epoch;
    let records: StoredRecord[] = [];
    let firstLog = 0;
    let foldedBytes = 0;
    const retryLater = (err: unknown): void => {
      this.compactRetryAt = this.logBytes + this.compactLogBytes;
      this.logger?.error({ err, dir: this.dir }, 'store: compaction failed; will retry later');
    };
    try {
      await this.mutex.run(async () => {
        // Never switch logs after a failed append: the current one may end in a partial batch,
        // which recovery accepts only at the end of the newest log.
        const usable = this.usable();
        if (usable) throw usable;
        records = this.index.snapshot();
        foldedBytes = this.logBytes;
        firstLog = await this.rotate();
      });
    } catch (err) {
      if (!this.usable()) retryLater(err);
      return;
    }
    const number = this.nextSnapshot++;
    this.logger?.debug({ dir: this.dir, snapshot: number, records: records.length }, 'store: compaction started');
    let w: SnapshotWriter | undefined;
    let size: number;
    try {
      w = await SnapshotWriter.create(this.dir, number);
      for (let i = 0; i < records.length; i += 4096) {
        if (this.closed || this.epoch !== epoch) throw new Error('compaction cancelled');
        await w.add(records.slice(i, i + 4096));
      }
      size = await w.finish();
    } catch (err) {
      await w?.abort();
      if (!this.closed && this.epoch === epoch) retryLater(err);
      return;
    }
    const switched = await this.mutex.run(async () => {
      if (this.epoch !== epoch || this.closed) {
        await unlink(join(this.dir, snapshotName(number))).catch(() => undefined);
        return false;
      }
      const old = this.manifest;
      const manifest: Manifest = { format: 1, snapshot: number, firstLog };
      try {
        await writeManifest(this.dir, manifest);
      } catch (err) {
        if (err instanceof AfterRenameError) throw this.fail('the MANIFEST was replaced but its directory could not be synced', err);
        await unlink(join(this.dir, snapshotName(number))).catch(() => undefined);
        retryLater(err);
        return false;
      }
      this.manifest = manifest;
      this.logBytes -= foldedBytes;
      this.snapshotBytes = size;
      this.counters.compactions++;
      this.compactRetryAt = 0;
      await this.removeOld(old, firstLog);
      return true;
    });
    if (switched) this.logger?.info({ dir: this.dir, snapshot: number, records: records.length, bytes: size, ms: Date.now() - started }, 'store: compaction done');
  }

  /** Makes `snapshot` (or nothing) the whole content: the commit point of replace and clear. */
  private async switchTo(snapshot: number | null, index: TableIndex, snapshotBytes: number, what: string): Promise<void> {
    await this.mutex.run(async () => {
      const usable = this.usable();
      if (usable) throw usable;
      const firstLog = await this.rotate();
      const manifest: Manifest = { format: 1, snapshot, firstLog };
      try {
        await writeManifest(this.dir, manifest);
      } catch (err) {
        // Which MANIFEST a power loss would bring back is unknown now: keep every file both refer
        // to, stop, and let a restart settle it.
        if (err instanceof AfterRenameError) throw this.fail('the MANIFEST was replaced but its directory could not be synced', err);
        throw err;
      }
      const old = this.manifest;
      this.manifest = manifest;
      this.index = index;
      this.epoch++;
      this.logBytes = 0;
      this.snapshotBytes = snapshotBytes;
      await this.removeOld(old, firstLog);
    });
    this.logger?.info({ dir: this.dir, records: this.index.size() }, `store: ${what} committed`);
  }

  /** Deletes the files the new manifest no longer needs (recovery would remove them too). */
  private async removeOld(old: Manifest, firstLog: number): Promise<void> {
    const files = [...(old.snapshot === null ? [] : [snapshotName(old.snapshot)])];
    for (let n = old.firstLog; n < firstLog; n++) files.push(logName(n));
    for (const f of files) await unlink(join(this.dir, f)).catch(() => undefined);
    await fsyncDir(this.dir).catch(() => undefined);
  }
}
