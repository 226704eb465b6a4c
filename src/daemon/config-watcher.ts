// Watches the config directory (SPEC §8) and calls back when the content of the config files
// changed. The directory is watched, not the file: editors save by writing a temp file and
// renaming it over, tools delete and recreate, and Kubernetes swaps a `..data` symlink, and
// every one of these replaces the inode a file watch would be holding. Events only wake us; a
// content hash decides, so a touch or an unrelated file never triggers a reload.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

export interface WatchLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ConfigWatchOptions {
  /** Quiet time after the last event before the files are read (default 200 ms). */
  readonly debounceMs?: number;
  /** Called after every content check (tests: proves a no-op really was looked at). */
  readonly onCheck?: (changed: boolean) => void;
}

export interface ConfigWatcher {
  /** Re-reads now (SIGHUP, `conf reload`): calls onChange if the content differs. */
  check(): Promise<boolean>;
  /** Takes the current content as the baseline (after a reload done by someone else). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** sha256 over (path, content) of each file; a missing or unreadable file hashes as its error. */
export async function hashFiles(files: readonly string[]): Promise<string> {
  const h = createHash('sha256');
  for (const f of [...new Set(files.map((p) => resolve(p)))].sort()) {
    h.update(f).update('\0');
    try {
      h.update('+').update(await readFile(f));
    } catch (err) {
      h.update('!').update((err as NodeJS.ErrnoException).code ?? 'error');
    }
    h.update('\0');
  }
  return h.digest('hex');
}

/**
 * `files()` lists what matters now: emqx.conf, ssl_dist.conf, their includes, certificates.
 * It is asked again after each change, since an edit can add an include. Resolves once the
 * watcher is live.
 */
export async function watchConfigDir(
  dir: string,
  files: () => readonly string[],
  onChange: () => void | Promise<void>,
  logger: WatchLogger,
  opts: ConfigWatchOptions = {},
): Promise<ConfigWatcher> {
  const debounceMs = opts.debounceMs ?? 200;
  const root = resolve(dir);
  let last = await hashFiles(files());
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let checking: Promise<boolean> | undefined;
  const watchedDirs = new Set<string>([root]);

  // depth 0: `..data` swaps and atomic renames all happen at the top of their directory.
  const watcher: FSWatcher = watch(root, { ignoreInitial: true, depth: 0, followSymlinks: false });
  const extraDirs = (): string[] => files().map((f) => dirname(resolve(f))).filter((d) => !watchedDirs.has(d));
  const addDirs = (): void => {
    for (const d of new Set(extraDirs())) {
      watchedDirs.add(d);
      watcher.add(d);
    }
  };
  addDirs();

  const runCheck = async (): Promise<boolean> => {
    const now = await hashFiles(files());
    const changed = now !== last;
    last = now;
    if (changed) {
      addDirs();
      try {
        await onChange();
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'config reload after a change in the config directory failed');
      }
    }
    opts.onCheck?.(changed);
    return changed;
  };
  // Checks never overlap: a change arriving mid-check gets its own check after it.
  const check = (): Promise<boolean> => {
    const prev = checking ?? Promise.resolve(false);
    const p = prev.catch(() => false).then(() => (closed ? false : runCheck()));
    checking = p;
    void p.finally(() => {
      if (checking === p) checking = undefined;
    });
    return p;
  };

  watcher.on('all', (event, path) => {
    if (closed) return;
    logger.debug({ event, path }, 'config directory event');
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void check().catch((err: Error) => logger.error({ err: err.message }, 'config directory check failed'));
    }, debounceMs);
  });
  watcher.on('error', (err) => logger.warn({ err: (err as Error).message, dir: root }, 'config directory watch error'));
  await new Promise<void>((res) => watcher.once('ready', () => res()));

  let closing: Promise<void> | undefined;
  return {
    check,
    async sync() {
      last = await hashFiles(files());
    },
    close() {
      closing ??= (async () => {
        closed = true;
        if (timer) clearTimeout(timer);
        await watcher.close();
        await checking?.catch(() => undefined);
      })();
      return closing;
    },
  };
}
