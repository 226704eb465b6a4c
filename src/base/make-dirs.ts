// `mkdir -p`, by hand. Node's own (`mkdir(dir, { recursive: true })`, sync and async) never
// returns for a path under /proc on Node.js 20: the kernel answers ENOENT for the new entry and
// EEXIST for its parent, and Node goes round between the two. Such a path (a typo in
// log.file.path, node.data_dir) must be an error that names it, not a node that hangs.
import { mkdirSync, statSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

const codeOf = (err: unknown): string | undefined => (err as NodeJS.ErrnoException).code;

function notDir(path: string, itself: boolean): NodeJS.ErrnoException {
  // As mkdir(2) says it: EEXIST for the path itself, ENOTDIR for a component on the way.
  const code = itself ? 'EEXIST' : 'ENOTDIR';
  return Object.assign(new Error(`${code}: ${itself ? 'file already exists' : 'not a directory'}, mkdir '${path}'`), { code, path });
}

/** The directories to create, outermost first; throws when an existing entry on the way is not a directory. */
function missingSync(dir: string): string[] {
  const missing: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    try {
      if (!statSync(d).isDirectory()) throw notDir(d, missing.length === 0);
      return missing.reverse();
    } catch (err) {
      if (codeOf(err) !== 'ENOENT' || dirname(d) === d) throw err;
      missing.push(d);
    }
  }
}

/** Creates `dir` and its missing parents (`mode` for the new ones); returns the first one created, if any. */
export function makeDirsSync(dir: string, mode?: number): string | undefined {
  const missing = missingSync(dir);
  for (const d of missing) {
    try {
      mkdirSync(d, mode === undefined ? undefined : { mode });
    } catch (err) {
      if (codeOf(err) !== 'EEXIST' || !statSync(d).isDirectory()) throw err;
    }
  }
  return missing[0];
}

/** The same, asynchronously. */
export async function makeDirs(dir: string, mode?: number): Promise<string | undefined> {
  const missing: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    try {
      if (!(await stat(d)).isDirectory()) throw notDir(d, missing.length === 0);
      break;
    } catch (err) {
      if (codeOf(err) !== 'ENOENT' || dirname(d) === d) throw err;
      missing.push(d);
    }
  }
  missing.reverse();
  for (const d of missing) {
    try {
      await mkdir(d, mode === undefined ? undefined : { mode });
    } catch (err) {
      if (codeOf(err) !== 'EEXIST' || !(await stat(d)).isDirectory()) throw err;
    }
  }
  return missing[0];
}
