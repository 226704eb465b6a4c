// The node's log file: written synchronously, rotated by size, keeping the operator's file name
// stable: the current file is always `emqx.log`; full files become `emqx.log.1` (newest) ..
// `emqx.log.<keep>`. (pino-roll numbers the live file itself, `emqx.1.log`, which breaks
// `tail -F log/emqx.log`.)
//
// A write that fails (disk full, file system gone read-only) drops that line and is reported on
// stderr (log/daemon.out for a daemon), at most once every 10 s with the count dropped. It never
// throws into the code that logged, and nothing piles up in memory: a node whose disk is full
// goes on serving. (pino's sync destination throws the write's error at the caller and keeps the
// failed bytes to retry with the next line.)
import { closeSync, existsSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { makeDirsSync } from './make-dirs.js';

export interface RotatingFileOptions {
  readonly file: string;
  /** Rotate once the file reaches this size (default 10 MiB); null: never. */
  readonly maxBytes?: number | null;
  /** How many rotated files to keep (default 5). */
  readonly keep?: number;
  /** Told of write and rotation failures, at most once every 10 s (default: a line on stderr). */
  readonly report?: (what: 'write' | 'rotation', err: Error, dropped: number) => void;
}

export interface RotatingFile {
  write(line: string): void;
  end(): void;
}

export function rotatedName(file: string, n: number): string {
  return `${file}.${n}`;
}

const REPORT_EVERY_MS = 10_000;

/** Opens (creating it and its directory) `opts.file` for appending; throws when it cannot. */
export function createRotatingFile(opts: RotatingFileOptions): RotatingFile {
  const maxBytes = opts.maxBytes === undefined ? 10 * 1024 * 1024 : opts.maxBytes;
  const keep = Math.max(1, opts.keep ?? 5);
  const report =
    opts.report ??
    ((what: string, err: Error, n: number) =>
      void process.stderr.write(`${new Date().toISOString()} log file ${opts.file}: ${what} failed: ${err.message}${n > 0 ? ` (${n} lines dropped so far)` : ''}\n`));
  makeDirsSync(dirname(opts.file));
  let fd: number | undefined = openSync(opts.file, 'a', 0o644);
  let size = statSync(opts.file).size;
  let dropped = 0;
  let lastReport = 0;

  const failed = (what: 'write' | 'rotation', err: unknown): void => {
    const now = Date.now();
    if (now - lastReport < REPORT_EVERY_MS) return;
    lastReport = now;
    report(what, err instanceof Error ? err : new Error(String(err)), dropped);
  };

  const rotate = (): void => {
    try {
      const oldest = rotatedName(opts.file, keep);
      if (existsSync(oldest)) unlinkSync(oldest);
      for (let i = keep - 1; i >= 1; i--) {
        const from = rotatedName(opts.file, i);
        if (existsSync(from)) renameSync(from, rotatedName(opts.file, i + 1));
      }
      renameSync(opts.file, rotatedName(opts.file, 1));
      const next = openSync(opts.file, 'a', 0o644);
      if (fd !== undefined) closeSync(fd);
      fd = next;
      size = 0;
    } catch (err) {
      // Keep writing where we are: a rotation that fails now is tried again at the next line.
      failed('rotation', err);
    }
  };

  return {
    write(line) {
      if (fd === undefined) return;
      const buf = Buffer.from(line);
      try {
        let off = 0;
        while (off < buf.length) off += writeSync(fd, buf, off);
        size += buf.length;
      } catch (err) {
        dropped++;
        failed('write', err);
        return;
      }
      if (maxBytes !== null && size >= maxBytes) rotate();
    },
    end() {
      if (fd === undefined) return;
      try {
        closeSync(fd);
      } catch {
        /* closed already */
      }
      fd = undefined;
    },
  };
}
