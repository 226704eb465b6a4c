// The machine's memory as EMQX reports it: in use = total less what the kernel says is available
// (MemAvailable in /proc/meminfo, which counts reclaimable caches as free); node:os's free memory
// where /proc is not there. And this process's open files against its limit.
import { readdirSync, readFileSync } from 'node:fs';
import { freemem, totalmem } from 'node:os';

/** Bytes of system memory: total, and in use (total less what is available). */
export function systemMemory(): { total: number; used: number } {
  try {
    const text = readFileSync('/proc/meminfo', 'utf8');
    const kb = (key: string): number | undefined => {
      const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
      return m ? Number(m[1]) * 1024 : undefined;
    };
    const total = kb('MemTotal');
    const avail = kb('MemAvailable');
    if (total !== undefined && avail !== undefined) return { total, used: total - avail };
  } catch {
    // not Linux: below
  }
  return { total: totalmem(), used: totalmem() - freemem() };
}

/** The soft limit on open files (EMQX's max_fds); 0 when unknown. */
export function maxFds(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Files this process has open now; undefined where /proc is not there. */
export function openFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}
