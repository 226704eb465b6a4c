// Which settings differ between two configs, as dotted keys (`cluster.static.seeds`), so that on a
// reload each part applies only what it owns.
import { isDeepStrictEqual } from 'node:util';
import type { Config } from './types.js';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

function walk(a: unknown, b: unknown, prefix: string, changed: string[]): void {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of [...keys].sort()) walk(a[k], b[k], prefix === '' ? k : `${prefix}.${k}`, changed);
    return;
  }
  // Arrays (seeds, server lists) count as one value: a reordered list is a change to that key.
  if (!isDeepStrictEqual(a, b)) changed.push(prefix);
}

export function diffConfig(a: Config, b: Config): { changed: string[] } {
  const changed: string[] = [];
  walk(a, b, '', changed);
  return { changed };
}
