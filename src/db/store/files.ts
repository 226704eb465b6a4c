// Names and magic numbers of the files in a store directory, and the small fs helpers every
// writer shares (directory fsync, whole-file atomic replacement).
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreCorruptError } from './errors.js';

export const MANIFEST_FILE = 'MANIFEST';
export const LOCK_FILE = 'LOCK';

/** Every store file starts with 8 bytes saying what it is and which format version. */
export const MAGIC = {
  log: Buffer.from('EMQXLOG1'),
  snapshot: Buffer.from('EMQXSNP1'),
  manifest: Buffer.from('EMQXMAN1'),
  state: Buffer.from('EMQXSTA1'),
} as const;
export const MAGIC_BYTES = 8;

const pad = (n: number): string => String(n).padStart(6, '0');
export const logName = (n: number): string => `log-${pad(n)}.wal`;
export const snapshotName = (n: number): string => `snap-${pad(n)}.snap`;
export const stateName = (name: string): string => `${name}.state`;

const LOG_RE = /^log-(\d{6,})\.wal$/;
const SNAPSHOT_RE = /^snap-(\d{6,})\.snap$/;
export const STATE_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;

export function parseLogName(file: string): number | undefined {
  const m = LOG_RE.exec(file);
  return m ? Number(m[1]) : undefined;
}

export function parseSnapshotName(file: string): number | undefined {
  const m = SNAPSHOT_RE.exec(file);
  return m ? Number(m[1]) : undefined;
}

export const isTempName = (file: string): boolean => file.endsWith('.tmp');

/** Makes renames, creations and deletions in `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch (err) {
    // A few filesystems cannot sync a directory at all (EINVAL); there is nothing more to do there.
    // Any other failure (EIO) is real and reported.
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
  } finally {
    await fh.close();
  }
}

/**
 * Replaces `dir/name` with `data` so that a crash at any point leaves either the old or the new
 * content: temp file, fsync, rename, directory fsync.
 */
export async function writeFileAtomic(dir: string, name: string, data: Uint8Array, tmpSuffix = ''): Promise<void> {
  const tmp = join(dir, `${name}${tmpSuffix}.tmp`);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  await rename(tmp, join(dir, name));
  try {
    await fsyncDir(dir);
  } catch (err) {
    throw new AfterRenameError(join(dir, name), err);
  }
}

/**
 * The new file is in place (readers see it) but the directory could not be synced, so after a
 * power loss either version may come back. Whoever switches state with a rename must not undo
 * anything the new file refers to.
 */
export class AfterRenameError extends Error {
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(`${file} was replaced but the directory could not be synced: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'AfterRenameError';
  }
}

/**
 * Reads a small whole-file document (manifest, state document): undefined when the file does not
 * exist, the decoded value when it is good, StoreCorruptError naming the file when it is not.
 */
export async function readDocument<T>(dir: string, name: string, decode: (buf: Buffer) => { value: T } | { problem: string }): Promise<T | undefined> {
  const file = join(dir, name);
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const d = decode(buf);
  if ('problem' in d) throw new StoreCorruptError(file, d.problem, dir);
  return d.value;
}
