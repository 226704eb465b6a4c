// The export files of one node's `<data_dir>/backup/`, for the API's /data/files: listed, read
// and deleted by name only. A name is a plain file name ending in .tar.gz (no path, no dot
// first), so no request reaches a file outside that directory.
import { link, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { makeDirs } from '../../base/make-dirs.js';

export interface BackupFileInfo {
  readonly node: string;
  readonly filename: string;
  readonly size: number;
  /** When it was written, ms since the epoch. */
  readonly createdMs: number;
}

/** Where a node keeps its exports: `<node.data_dir>/backup/` (as EMQX). */
export const backupDir = (dataDir: string): string => join(dataDir, 'backup');

export const isBackupName = (name: string): boolean => /^[A-Za-z0-9_-][A-Za-z0-9._-]*\.tar\.gz$/.test(name) && name.length <= 255;

async function info(dir: string, node: string, filename: string): Promise<BackupFileInfo | undefined> {
  const s = await stat(join(dir, filename)).catch(() => undefined);
  if (!s?.isFile()) return undefined;
  const ms = s.birthtimeMs > 0 ? s.birthtimeMs : s.mtimeMs;
  return { node, filename, size: s.size, createdMs: ms };
}

/** The exports in `dir`, newest first (none when the directory does not exist yet). */
export async function listBackupFiles(dir: string, node: string): Promise<BackupFileInfo[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: BackupFileInfo[] = [];
  for (const n of names) {
    if (!isBackupName(n)) continue;
    const i = await info(dir, node, n);
    if (i) out.push(i);
  }
  return out.sort((a, b) => b.createdMs - a.createdMs || (a.filename < b.filename ? 1 : -1));
}

export async function backupFileInfo(dir: string, node: string, filename: string): Promise<BackupFileInfo | undefined> {
  return isBackupName(filename) ? info(dir, node, filename) : undefined;
}

/** The file's bytes; undefined when there is no such export. */
export async function readBackupFile(dir: string, filename: string): Promise<Buffer | undefined> {
  if (!isBackupName(filename)) return undefined;
  // A regular file only: anything else put there (a FIFO) would be read forever.
  if (!(await stat(join(dir, filename)).catch(() => undefined))?.isFile()) return undefined;
  return readFile(join(dir, filename)).catch(() => undefined);
}

/** Whether there was such an export to delete. */
export async function deleteBackupFile(dir: string, filename: string): Promise<boolean> {
  if (!isBackupName(filename)) return false;
  return unlink(join(dir, filename)).then(
    () => true,
    () => false,
  );
}

/**
 * Stores an uploaded export under `filename`: written aside (a name the listing skips), checked
 * whole by `check` (which throws saying what is wrong), then linked into place, so the name
 * never shows a partial or unusable file and an existing one is never replaced. Resolves with
 * why it was refused, or undefined.
 */
export async function storeBackupFile(dir: string, filename: string, data: Buffer, check: (file: string) => Promise<unknown>): Promise<string | undefined> {
  if (!isBackupName(filename)) return `${filename}: a backup file name ends in .tar.gz and holds only letters, digits, '.', '_' and '-'`;
  // Not mkdir's own `recursive`: it never returns for a path under /proc (base/make-dirs.ts).
  await makeDirs(dir);
  const aside = join(dir, `.upload-${process.pid}-${Date.now()}-${filename}`);
  try {
    await writeFile(aside, data, { mode: 0o600, flag: 'wx' });
    await check(aside);
    // link() fails when the name is taken: an upload never replaces an export.
    await link(aside, join(dir, filename));
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return `${filename} already exists`;
    if (code !== undefined) return `cannot write ${filename}: ${code}`;
    // The check names the file it read: the upload's own name is the one the caller knows.
    return (err as Error).message.replaceAll(aside, filename).replaceAll(basename(aside), filename);
  } finally {
    await rm(aside, { force: true }).catch(() => undefined);
  }
}
