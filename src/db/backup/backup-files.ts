// The export files of one node's `<data_dir>/backup/`, for the API's /data/files: listed, read
// and deleted by name only. A name is a plain file name ending in .tar.gz (no path, no dot
// first), so no request reaches a file outside that directory.
import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

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
