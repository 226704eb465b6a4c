// Snapshot files: the full set of records at one point, written once and never modified.
//   magic "EMQXSNP1" | frame(records) ... | frame(trailer {count})
// The trailer proves the file is complete: a snapshot without one is damaged, never "torn",
// because a snapshot only becomes visible (renamed, then named by the manifest) once complete.
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { StoreCorruptError } from './errors.js';
import { encodeFrame } from './frame.js';
import { FrameReader } from './frame-reader.js';
import { MAGIC, MAGIC_BYTES, fsyncDir, snapshotName } from './files.js';
import { decodeRecords, encodeRecords, type StoredRecord } from './record.js';
import type { TableIndex } from './table-index.js';

const RECORDS_PER_FRAME = 512;
/** Encoded frames gathered before a write is issued (small batches become one write). */
const WRITE_BUFFER_BYTES = 1 << 20;
/** Bytes handed to writes that have not completed yet; past this, adding waits for the disk. */
const MAX_INFLIGHT_BYTES = 32 << 20;
/**
 * A background fdatasync is started after this many bytes, so the disk works while records are
 * still arriving and the final sync has little left to flush (rather than the whole file at once).
 */
const SYNC_EVERY_BYTES = 64 << 20;

/**
 * Streams records into a new snapshot file; invisible until finish() renames it. Writes are
 * issued at known offsets without waiting for the previous ones (bounded by MAX_INFLIGHT_BYTES),
 * so encoding or receiving the next records overlaps the disk. A failed write is therefore
 * reported by the first call after it failed, finish() at the latest: a file with a hole in it
 * is never finished.
 */
export class SnapshotWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** End of what has been handed to a write: where the next write goes. */
  private position = 0;
  private count = 0;
  private done = false;
  /** Writes in flight (each settles without rejecting; a failure is kept in `failure`). */
  private readonly inflight = new Set<Promise<void>>();
  private inflightBytes = 0;
  private unsynced = 0;
  private syncing: Promise<void> | undefined;
  private failure: { readonly err: unknown } | undefined;

  private constructor(
    private readonly dir: string,
    readonly number: number,
    private readonly fh: FileHandle,
  ) {}

  get tempPath(): string {
    return join(this.dir, `${snapshotName(this.number)}.tmp`);
  }

  static async create(dir: string, number: number): Promise<SnapshotWriter> {
    const fh = await open(join(dir, `${snapshotName(number)}.tmp`), 'w', 0o600);
    const w = new SnapshotWriter(dir, number, fh);
    w.queue(MAGIC.snapshot);
    return w;
  }

  /** Adds normalized records; a later record for the same key wins when the snapshot is loaded. */
  async add(records: readonly StoredRecord[]): Promise<void> {
    if (this.failure) throw this.failure.err;
    for (let i = 0; i < records.length; i += RECORDS_PER_FRAME) {
      this.queue(encodeFrame(encodeRecords(records.slice(i, i + RECORDS_PER_FRAME))));
      if (this.pendingBytes >= WRITE_BUFFER_BYTES) await this.flush();
    }
    this.count += records.length;
  }

  /**
   * Adds whole frames of `count` records, already encoded and checked (decodeRecordFrames), as
   * they are. `bytes` must not change until the write completes.
   */
  async addFrames(bytes: Buffer, count: number): Promise<void> {
    if (this.failure) throw this.failure.err;
    this.issue(this.takePending());
    this.issue(bytes);
    this.count += count;
    await this.backPressure();
  }

  /** Seals, syncs and renames the file into place; returns its size in bytes. */
  async finish(): Promise<number> {
    this.queue(encodeFrame(serialize({ count: this.count })));
    this.issue(this.takePending());
    await Promise.all(this.inflight);
    await this.syncing;
    if (this.failure) throw this.failure.err;
    await this.fh.sync();
    await this.fh.close();
    this.done = true;
    await rename(this.tempPath, join(this.dir, snapshotName(this.number)));
    await fsyncDir(this.dir);
    return this.position;
  }

  async abort(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await Promise.all(this.inflight);
      await this.syncing;
      await this.fh.close().catch(() => undefined);
    }
    await unlink(this.tempPath).catch(() => undefined);
  }

  private queue(buf: Buffer): void {
    this.pending.push(buf);
    this.pendingBytes += buf.length;
  }

  private takePending(): Buffer | undefined {
    if (this.pendingBytes === 0) return undefined;
    const buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return buf;
  }

  private async flush(): Promise<void> {
    this.issue(this.takePending());
    await this.backPressure();
  }

  /** Starts writing `buf` at the current end; a failure is kept and reported by the next call. */
  private issue(buf: Buffer | undefined): void {
    if (!buf || buf.length === 0) return;
    if (this.failure) throw this.failure.err;
    const at = this.position;
    this.position += buf.length;
    const done: Promise<void> = this.writeAt(buf, at).then(
      () => {
        this.inflight.delete(done);
        this.inflightBytes -= buf.length;
        this.unsynced += buf.length;
        if (this.unsynced >= SYNC_EVERY_BYTES && !this.syncing && !this.failure) {
          this.unsynced = 0;
          this.syncing = this.fh.datasync().then(
            () => (this.syncing = undefined),
            (err: unknown) => {
              this.failure ??= { err };
              this.syncing = undefined;
            },
          );
        }
      },
      (err: unknown) => {
        this.inflight.delete(done);
        this.inflightBytes -= buf.length;
        this.failure ??= { err };
      },
    );
    this.inflight.add(done);
    this.inflightBytes += buf.length;
  }

  private async writeAt(buf: Buffer, at: number): Promise<void> {
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, off, buf.length - off, at + off);
      off += bytesWritten;
    }
  }

  /** Waits until the writes in flight fit the budget again; reports a failed write. */
  private async backPressure(): Promise<void> {
    while (this.inflightBytes > MAX_INFLIGHT_BYTES && !this.failure) await Promise.race(this.inflight);
    if (this.failure) throw this.failure.err;
  }
}

function trailerCount(payload: Buffer): number | undefined {
  try {
    const v: unknown = deserialize(payload);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const c = (v as { count?: unknown }).count;
      if (typeof c === 'number' && Number.isSafeInteger(c) && c >= 0) return c;
    }
  } catch {
    // fall through: not a trailer
  }
  return undefined;
}

/** Loads snapshot `number` into `index`; any damage at all is a StoreCorruptError. Returns its size. */
export async function loadSnapshot(dir: string, number: number, index: TableIndex): Promise<number> {
  const file = join(dir, snapshotName(number));
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new StoreCorruptError(file, 'the snapshot named by the MANIFEST is missing', dir);
    throw err;
  }
  try {
    const size = (await fh.stat()).size;
    const magic = Buffer.alloc(MAGIC_BYTES);
    await fh.read(magic, 0, MAGIC_BYTES, 0);
    if (size < MAGIC_BYTES || !magic.equals(MAGIC.snapshot)) throw new StoreCorruptError(file, 'bad magic at offset 0 (not a store snapshot)', dir);
    const reader = new FrameReader(fh, MAGIC_BYTES, size);
    let count = 0;
    for (;;) {
      const r = await reader.next();
      if (r.kind === 'end') throw new StoreCorruptError(file, `the snapshot ends at offset ${r.offset} without its trailer (incomplete file)`, dir);
      if (r.kind === 'truncated') throw new StoreCorruptError(file, `the file ends inside a frame at offset ${r.offset} (${r.have} of ${r.want} bytes)`, dir);
      if (r.kind === 'damaged') throw new StoreCorruptError(file, `${r.reason} at offset ${r.offset}`, dir);
      const records = decodeRecords(r.payload);
      if (records) {
        index.apply(records);
        count += records.length;
        continue;
      }
      const expected = trailerCount(r.payload);
      if (expected === undefined) throw new StoreCorruptError(file, `undecodable frame at offset ${r.offset}`, dir);
      if (expected !== count) throw new StoreCorruptError(file, `trailer says ${expected} records, the file holds ${count}`, dir);
      if (reader.offset !== size) throw new StoreCorruptError(file, `${size - reader.offset} unexpected bytes after the trailer at offset ${reader.offset}`, dir);
      return size;
    }
  } finally {
    await fh.close();
  }
}
