// Log files: the append-only record of batches since the snapshot.
//   magic "EMQXLOG1" | frame(batch) | frame(batch) | ...
// One frame is one write() call's batch, so a batch is applied completely or not at all.
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { StoreCorruptError } from './errors.js';
import { FrameReader } from './frame-reader.js';
import { MAGIC, MAGIC_BYTES, logName } from './files.js';
import { decodeRecords } from './record.js';
import type { TableIndex } from './table-index.js';

/** The log being appended to. Only the store's commit path touches it, one call at a time. */
export class LogFile {
  private constructor(
    readonly number: number,
    readonly path: string,
    private readonly fh: FileHandle,
    /** End of the last complete append: where the next one goes. */
    private end: number,
  ) {}

  get size(): number {
    return this.end;
  }

  /**
   * Creates an empty log (magic only, synced). The caller syncs the directory. A file of that name
   * can only be the leftover of a creation that failed (numbers above the current log are never in
   * use), so it is overwritten.
   */
  static async create(dir: string, number: number): Promise<LogFile> {
    const path = join(dir, logName(number));
    const fh = await open(path, 'w', 0o600);
    try {
      await fh.write(MAGIC.log, 0, MAGIC_BYTES, 0);
      await fh.sync();
    } catch (err) {
      await fh.close().catch(() => undefined);
      await unlink(path).catch(() => undefined);
      throw err;
    }
    return new LogFile(number, path, fh, MAGIC_BYTES);
  }

  static async openForAppend(dir: string, number: number, size: number): Promise<LogFile> {
    const path = join(dir, logName(number));
    return new LogFile(number, path, await open(path, 'r+'), size);
  }

  /**
   * Writes `buf` at the end. On failure the file is cut back to its previous end so a half-written
   * batch never sits in front of later ones; if even that fails, the error says so (`cutBackFailed`).
   */
  async append(buf: Buffer): Promise<void> {
    let off = 0;
    try {
      while (off < buf.length) {
        const { bytesWritten } = await this.fh.write(buf, off, buf.length - off, this.end + off);
        off += bytesWritten;
      }
    } catch (err) {
      try {
        await this.fh.truncate(this.end);
      } catch {
        (err as { cutBackFailed?: boolean }).cutBackFailed = true;
      }
      throw err;
    }
    this.end += buf.length;
  }

  /** Data (and the size, which is what an append changes) reaches the disk. */
  async sync(): Promise<void> {
    await this.fh.datasync();
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

export interface ReplayResult {
  /** Size of the valid prefix: where appends continue. */
  readonly size: number;
  readonly batches: number;
}

/**
 * Replays one log into `index`. Only the newest log (`isLast`) may end in a torn batch, which is cut
 * away: that batch was being written when the process died, so its write() never resolved.
 * Anything else that does not verify is damage and stops recovery.
 */
export async function replayLog(dir: string, number: number, index: TableIndex, isLast: boolean, logger?: Logger): Promise<ReplayResult> {
  const file = join(dir, logName(number));
  const fh = await open(file, isLast ? 'r+' : 'r');
  try {
    const size = (await fh.stat()).size;
    let batches = 0;
    const torn = async (at: number, what: string): Promise<ReplayResult> => {
      if (at === 0) {
        await fh.truncate(0);
        await fh.write(MAGIC.log, 0, MAGIC_BYTES, 0);
      } else {
        await fh.truncate(at);
      }
      await fh.sync();
      logger?.warn({ file, offset: at, droppedBytes: size - at }, `store: ${what} at the end of ${file}: cut at offset ${at} (${size - at} bytes of a batch that was never acknowledged)`);
      return { size: Math.max(at, MAGIC_BYTES), batches };
    };
    const reader = new FrameReader(fh, MAGIC_BYTES, Math.max(size, MAGIC_BYTES));
    if (size < MAGIC_BYTES || !(await magicOk(fh))) {
      if (isLast && (size < MAGIC_BYTES || (await reader.zeroTail(0)))) return await torn(0, 'incomplete log header');
      throw new StoreCorruptError(file, size < MAGIC_BYTES ? `file is ${size} bytes, shorter than the log header` : 'bad magic at offset 0 (not a store log)', dir);
    }
    for (;;) {
      const r = await reader.next();
      if (r.kind === 'end') return { size: r.offset, batches };
      if (r.kind === 'frame') {
        const records = decodeRecords(r.payload);
        if (!records) throw new StoreCorruptError(file, `undecodable batch at offset ${r.offset} (checksum is good: written by an incompatible version?)`, dir);
        index.apply(records);
        batches++;
        continue;
      }
      if (r.kind === 'truncated') {
        if (isLast) return await torn(r.offset, 'torn batch');
        throw new StoreCorruptError(file, `the file ends inside a batch at offset ${r.offset} (${r.have} of ${r.want} bytes), but it is not the newest log`, dir);
      }
      if (isLast && (await reader.zeroTail(r.offset))) return await torn(r.offset, 'zero-filled tail');
      throw new StoreCorruptError(
        file,
        `${r.reason} at offset ${r.offset}` +
          (isLast
            ? `; if this host lost power (not just the process), the damage may be a batch that was never acknowledged: ` +
              `only then cut it with \`truncate -s ${r.offset} ${file}\` and start again`
            : ''),
        dir,
      );
    }
  } finally {
    await fh.close();
  }
}

async function magicOk(fh: FileHandle): Promise<boolean> {
  const b = Buffer.alloc(MAGIC_BYTES);
  await fh.read(b, 0, MAGIC_BYTES, 0);
  return b.equals(MAGIC.log);
}
