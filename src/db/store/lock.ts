// One process per store directory: a LOCK file holding the owner's pid and that process's start
// time. A lock whose owner is gone is taken over. The start time matters in containers, where a
// restarted node often gets the same pid as its killed predecessor: same pid, different start
// time, so the lock is stale rather than "held by this process".
import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreLockedError } from './errors.js';
import { LOCK_FILE } from './files.js';

/**
 * State (field 3) and start time in clock ticks since boot (field 22) of a process from
 * /proc/<pid>/stat; '' for what is unknown.
 */
async function procStat(pid: number): Promise<{ state: string; start: string }> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: count from after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', start: fields[19] ?? '' };
  } catch {
    return { state: '', start: '' };
  }
}

async function startTime(pid: number): Promise<string> {
  return (await procStat(pid)).start;
}

async function alive(pid: number, recordedStart: string): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = await procStat(pid);
  // A killed node whose parent never reaps it (PID 1 in many containers does not) lingers as a
  // zombie: it holds no files any more, so its lock is stale.
  if (now.state === 'Z' || now.state === 'X') return false;
  return recordedStart === '' || now.start === '' || now.start === recordedStart;
}

export async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE);
  const me = `${process.pid} ${await startTime(process.pid)}`.trim();
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.writeFile(`${me}\n`);
      await fh.close();
      return async () => {
        await unlink(path).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const [pidText = '', start = ''] = (await readFile(path, 'utf8').catch(() => '')).trim().split(' ');
    const pid = Number.parseInt(pidText, 10);
    if (Number.isSafeInteger(pid) && pid > 0 && (await alive(pid, start))) throw new StoreLockedError(dir, pid);
    await unlink(path).catch(() => undefined);
  }
  throw new StoreLockedError(dir, -1);
}
