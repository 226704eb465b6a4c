// Watches the acl.conf files of the file sources and calls back when one's content changed.
// The directory is watched (editors save by renaming a new file over the old one), events only
// wake it, and a content comparison decides, so a touch does not recompile anything.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

export interface AclWatch {
  close(): Promise<void>;
}

export function watchAclFiles(files: readonly string[], onChange: (file: string) => void, debounceMs = 200): AclWatch {
  if (files.length === 0) return { close: async () => undefined };
  const wanted = new Set(files.map((f) => resolve(f)));
  const last = new Map<string, string | undefined>();
  const read = async (f: string): Promise<string | undefined> => readFile(f, 'utf8').catch(() => undefined);
  void Promise.all([...wanted].map(async (f) => last.set(f, await read(f))));
  const timers = new Map<string, NodeJS.Timeout>();
  const watcher: FSWatcher = watch([...new Set([...wanted].map((f) => dirname(f)))], { ignoreInitial: true, depth: 0, followSymlinks: false });
  const poke = (path: string): void => {
    // A `..data` symlink swap (Kubernetes) shows up as another name: check every file then.
    const targets = wanted.has(resolve(path)) ? [resolve(path)] : [...wanted];
    for (const f of targets) {
      clearTimeout(timers.get(f));
      timers.set(
        f,
        setTimeout(() => {
          void read(f).then((text) => {
            if (text === last.get(f)) return;
            last.set(f, text);
            onChange(f);
          });
        }, debounceMs),
      );
    }
  };
  watcher.on('all', (_event, path) => poke(path));
  watcher.on('error', () => undefined);
  return {
    async close() {
      for (const t of timers.values()) clearTimeout(t);
      await watcher.close();
    },
  };
}
