// Reading files that another process may be writing. A file written in place is empty between
// its truncation and its write, and a watcher's event can reach a busy process late, so a file
// is read only once its modification time is `quietMs` old, and what was read counts only if no
// file changed while it was being read (inode, size and modification time, before and after).
// The config watcher and the acl.conf watcher read through these.
import { readFile, stat } from 'node:fs/promises';

/**
 * What the files' metadata says: `newest`, the latest modification time (ms since the epoch; 0
 * when none can be read), and `stamp`, which any write, truncation or replacement changes.
 */
export async function statFiles(files: readonly string[]): Promise<{ newest: number; stamp: string }> {
  const stats = await Promise.all(files.map((f) => stat(f).then((s) => s, () => undefined)));
  let newest = 0;
  const parts: string[] = [];
  for (const s of stats) {
    if (s) newest = Math.max(newest, s.mtimeMs);
    parts.push(s ? `${s.ino}:${s.size}:${s.mtimeMs}` : '-');
  }
  return { newest, stamp: parts.join(',') };
}

/**
 * How long to wait before reading files last modified at `newest`, so that none is read less
 * than `quietMs` after it changed (0: read now). A time further in the future than `quietMs` is
 * taken as clock skew, not as a write in progress, so the wait is bounded by 2 × quietMs.
 */
export function quietWait(newest: number, now: number, quietMs: number): number {
  const age = now - newest;
  if (age < -quietMs || age >= quietMs) return 0;
  return quietMs - age;
}

/**
 * The text of each file (undefined: missing or unreadable), read once every file has been quiet
 * for `quietMs` and none changed during the read; otherwise how long to wait before trying again.
 */
export async function readSettled(files: readonly string[], quietMs: number): Promise<{ texts: Map<string, string | undefined> } | { waitMs: number }> {
  const before = await statFiles(files);
  const wait = quietWait(before.newest, Date.now(), quietMs);
  if (wait > 0) return { waitMs: wait };
  const texts = new Map<string, string | undefined>();
  for (const f of files) texts.set(f, await readFile(f, 'utf8').catch(() => undefined));
  if ((await statFiles(files)).stamp !== before.stamp) return { waitMs: quietMs };
  return { texts };
}
