// Size-based rotation for the node's JSON log, keeping the operator's file name stable:
// the current file is always `emqx.log`; full files become `emqx.log.1` (newest) .. `emqx.log.<keep>`.
// (pino-roll numbers the live file itself, `emqx.1.log`, which breaks `tail -F log/emqx.log`.)
import { existsSync, renameSync, statSync, unlinkSync } from 'node:fs';
import pino from 'pino';

export interface RotatingFileOptions {
  readonly file: string;
  /** Rotate once the file reaches this size (default 10 MiB); null: never. */
  readonly maxBytes?: number | null;
  /** How many rotated files to keep (default 5). */
  readonly keep?: number;
}

export type RotatingFile = ReturnType<typeof pino.destination>;

export function rotatedName(file: string, n: number): string {
  return `${file}.${n}`;
}

export function createRotatingFile(opts: RotatingFileOptions): RotatingFile {
  const maxBytes = opts.maxBytes === undefined ? 10 * 1024 * 1024 : opts.maxBytes;
  const keep = Math.max(1, opts.keep ?? 5);
  // Synchronous writes: a log line is on disk before the process can die, and a crash or
  // `kill -9` loses nothing already logged. Logging volume here is low.
  const dest = pino.destination({ dest: opts.file, mkdir: true, sync: true });
  if (maxBytes === null) return dest;
  let size = existsSync(opts.file) ? statSync(opts.file).size : 0;
  dest.on('write', (n: number) => {
    size += n;
    if (size < maxBytes) return;
    size = 0;
    try {
      const oldest = rotatedName(opts.file, keep);
      if (existsSync(oldest)) unlinkSync(oldest);
      for (let i = keep - 1; i >= 1; i--) {
        const from = rotatedName(opts.file, i);
        if (existsSync(from)) renameSync(from, rotatedName(opts.file, i + 1));
      }
      // Renaming keeps any write still in flight on the same inode; reopen starts a fresh emqx.log.
      renameSync(opts.file, rotatedName(opts.file, 1));
      dest.reopen();
    } catch (err) {
      process.stderr.write(`log rotation of ${opts.file} failed: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  });
  return dest;
}
