// Reading files that another process may be writing. A file written in place is empty between
// its truncation and its write, and a watcher's event can reach a busy process late. So a file is
// read only once its modification time is `quietMs` old, and what was read counts only if no
// file changed while it was being read (inode, size and modification time, before and after).
// One state gives itself away by none of these: in the middle of a truncation the kernel has set
// the size to 0 but not yet the new modification time (seen on a loaded machine: a writer held
// 30 ms inside open(O_TRUNC), its file empty with the time of the write before). So an empty file
// is taken only if it is still so, unchanged, `quietMs` later; a file with content has its time
// set at the start of each write, which the quiet time covers.
// The config watcher and the acl.conf watcher read through these.
import { readFile, stat } from 'node:fs/promises';

/** What the files' metadata says. */
export interface FilesState {
  /** The latest modification time (ms since the epoch; 0 when no file can be read). */
  readonly newest: number;
  /** Changed by any write, truncation or replacement of any of the files. */
  readonly stamp: string;
  /** Whether one of the files that exist is empty. */
  readonly empty: boolean;
}

export async function statFiles(files: readonly string[]): Promise<FilesState> {
  const stats = await Promise.all(files.map((f) => stat(f).then((s) => s, () => undefined)));
  let newest = 0;
  let empty = false;
  const parts: string[] = [];
  for (const s of stats) {
    if (s) {
      newest = Math.max(newest, s.mtimeMs);
      empty ||= s.size === 0;
    }
    parts.push(s ? `${s.ino}:${s.size}:${s.mtimeMs}` : '-');
  }
  return { newest, stamp: parts.join(','), empty };
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
 * One watcher's gate before it reads: files are read once each has been quiet for `quietMs`; a
 * state with an empty file is read only when it is seen again, unchanged, after `quietMs`.
 */
export class SettleGate {
  /** The state with an empty file seen last, waited on once. */
  #empty: string | undefined;

  constructor(readonly quietMs: number) {}

  /** How long to wait before reading the files in state `now` (0: read now). */
  waitBefore(now: FilesState, at = Date.now()): number {
    const wait = quietWait(now.newest, at, this.quietMs);
    if (wait > 0) return wait;
    if (!now.empty || this.#empty === now.stamp) return 0;
    this.#empty = now.stamp;
    return this.quietMs;
  }
}

/**
 * The text of each file (undefined: missing or unreadable), read through `gate` with no file
 * changed during the read; otherwise how long to wait before trying again.
 */
export async function readSettled(files: readonly string[], gate: SettleGate): Promise<{ texts: Map<string, string | undefined> } | { waitMs: number }> {
  const before = await statFiles(files);
  const wait = gate.waitBefore(before);
  if (wait > 0) return { waitMs: wait };
  const texts = new Map<string, string | undefined>();
  for (const f of files) texts.set(f, await readFile(f, 'utf8').catch(() => undefined));
  if ((await statFiles(files)).stamp !== before.stamp) return { waitMs: gate.quietMs };
  return { texts };
}
