// The dashboard page's files, read once from the build's www/ directory into memory. A request
// names a file only by an exact match against that list, so no path (`..`, encoded slashes,
// absolute paths) can reach anything else on disk.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

export interface StaticFile {
  readonly body: Buffer;
  readonly type: string;
}

export const WWW_DIR = fileURLToPath(new URL('./www/', import.meta.url));

/** Every file under `dir`, keyed by its URL path (`/index.html`, `/static/app.js`). */
export function loadStatic(dir = WWW_DIR): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (d: string, prefix: string): void => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const name of names) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p, `${prefix}${name}/`);
      else if (TYPES[extname(name)] !== undefined && !name.endsWith('.map')) files.set(`${prefix}${name}`, { body: readFileSync(p), type: TYPES[extname(name)]! });
    }
  };
  walk(dir, '/');
  return files;
}
