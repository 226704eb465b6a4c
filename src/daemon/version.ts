// The release version shown by `start`, `status` and `versions`: package.json's, read once.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function readVersion(root: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
