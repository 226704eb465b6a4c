// Watches the acl.conf files of the file sources and calls back when one's content changed, with
// the text of every watched file as read. The directories are watched (editors save by renaming
// a new file over the old one), events only wake it, and a content comparison decides, so a
// touch does not recompile anything. Files are read settled (base/settled-files.ts): a file caught
// between its truncation and its write would otherwise compile to no rules at all, and leave
// every check to `authorization.no_match` (allow, by default) until the next read.
import { dirname, resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { readSettled, SettleGate } from '../../base/settled-files.js';

export interface AclWatch {
  /** Settles once the files' current content is known and the directories are watched. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/** `onChange(file, texts)`: `file` changed; `texts` holds every watched file's content (undefined: unreadable). */
export function watchAclFiles(files: readonly string[], onChange: (file: string, texts: ReadonlyMap<string, string | undefined>) => void, debounceMs = 200): AclWatch {
  if (files.length === 0) return { ready: Promise.resolve(), close: async () => undefined };
  const wanted = [...new Set(files.map((f) => resolve(f)))];
  const last = new Map<string, string | undefined>();
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const gate = new SettleGate(debounceMs);
  const baseline = readSettled(wanted, new SettleGate(0)).then((r) => {
    if ('texts' in r) for (const [f, t] of r.texts) last.set(f, t);
  });
  const look = async (): Promise<void> => {
    await baseline;
    const r = await readSettled(wanted, gate);
    if (closed) return;
    if ('waitMs' in r) return poke(r.waitMs);
    const changed = wanted.find((f) => r.texts.get(f) !== last.get(f));
    if (changed === undefined) return;
    for (const [f, t] of r.texts) last.set(f, t);
    onChange(changed, r.texts);
  };
  const poke = (waitMs = debounceMs): void => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void look().catch(() => undefined), waitMs);
  };
  // Any event in a watched directory (a `..data` symlink swap shows up under another name) looks at every file.
  const watcher: FSWatcher = watch([...new Set(wanted.map((f) => dirname(f)))], { ignoreInitial: true, depth: 0, followSymlinks: false });
  watcher.on('all', () => poke());
  watcher.on('error', () => undefined);
  const watching = new Promise<void>((res) => watcher.once('ready', () => res()));
  return {
    ready: Promise.all([baseline, watching]).then(() => undefined),
    async close() {
      closed = true;
      clearTimeout(timer);
      await watcher.close();
    },
  };
}
