// Watches the config directory (SPEC §8) and calls back when the content of the config files
// changed. The directory is watched, not the file: editors save by writing a temp file and
// renaming it over, tools delete and recreate, and Kubernetes swaps a `..data` symlink, and
// every one of these replaces the inode a file watch would be holding. Events only wake us; a
// content hash decides, so a touch or an unrelated file never triggers a reload.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { SettleGate, statFiles } from '../base/settled-files.js';

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
  /** Takes the current content as the baseline (after a reload done by someone else); watches any new directories. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

// Cheap scans, not parses: a false positive only means one more file hashed.
const HOCON_INCLUDE_RE = /\binclude\s+(?:required\s*\(\s*)?(?:file\s*\(\s*)?"((?:[^"\\]|\\.)+)"/g;
const SSL_DIST_FILE_RE = /\{\s*(?:certfile|keyfile|cacertfile)\s*,\s*"((?:[^"\\]|\\.)+)"\s*\}/g;
const HOCON_EXTENSIONS = ['.conf', '.json', '.properties'];
const MAX_FILES = 64;

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The files whose content decides a reload: emqx.conf and what it includes (recursively,
 * relative to the including file; a name without extension stands for each HOCON extension),
 * ssl_dist.conf and the certificate/key files it names, plus `extra` (e.g. etcd TLS files).
 */
export function configFileSet(confFile: string, sslDistFile?: string, extra: readonly string[] = []): string[] {
  const out = new Set<string>();
  const queue = [resolve(confFile)];
  while (queue.length > 0 && out.size < MAX_FILES) {
    const file = queue.shift()!;
    if (out.has(file)) continue;
    out.add(file);
    const text = readText(file);
    if (text === undefined) continue;
    for (const m of text.matchAll(HOCON_INCLUDE_RE)) {
      const target = resolve(dirname(file), m[1]!);
      if (extname(target) === '') for (const ext of HOCON_EXTENSIONS) queue.push(target + ext);
      else queue.push(target);
    }
  }
  if (sslDistFile !== undefined) {
    const ssl = resolve(sslDistFile);
    out.add(ssl);
    for (const m of (readText(ssl) ?? '').matchAll(SSL_DIST_FILE_RE)) {
      out.add(isAbsolute(m[1]!) ? m[1]! : resolve(dirname(ssl), m[1]!));
    }
  }
  for (const f of extra) out.add(resolve(f));
  return [...out];
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
  /**
   * Called when the content changed, with `unchanged()`: whether the files are still as they were
   * when the watcher read them (so what the callback read of them is whole). Returning false
   * means "not applied": the files are looked at again once quiet.
   */
  onChange: (unchanged: () => Promise<boolean>) => void | boolean | Promise<void | boolean>,
  logger: WatchLogger,
  opts: ConfigWatchOptions = {},
): Promise<ConfigWatcher> {
  const debounceMs = opts.debounceMs ?? 200;
  const root = resolve(dir);
  let last = await hashFiles(files());
  const gate = new SettleGate(debounceMs);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let checking: Promise<boolean> | undefined;
  const watchedDirs = new Set<string>([root]);

  // depth 0: `..data` swaps and atomic renames all happen at the top of their directory.
  const watcher: FSWatcher = watch(root, { ignoreInitial: true, depth: 0, followSymlinks: false });
  const extraDirs = (): string[] => files().map((f) => dirname(resolve(f))).filter((d) => !watchedDirs.has(d));
  const addDirs = (): number => {
    const fresh = [...new Set(extraDirs())];
    for (const d of fresh) {
      watchedDirs.add(d);
      watcher.add(d);
    }
    return fresh.length;
  };
  addDirs();

  // A file written in place is empty between its truncation and its write: a look after events
  // goes through the settle gate (base/settled-files.ts: quiet by the files' times too, an empty
  // file seen twice), and what the reload read is applied only if no file changed meanwhile
  // (`unchanged`). Seen before: 1 in 300 in-place writes under load applied an empty emqx.conf,
  // which stopped its listeners for 0.4 s.
  /** With `settle` (a look after events): through the settle gate. */
  const runCheck = async (settle: boolean): Promise<boolean> => {
    const list = files();
    const before = await statFiles(list);
    const wait = settle ? gate.waitBefore(before) : 0;
    if (wait > 0) {
      poke(wait);
      return false;
    }
    const now = await hashFiles(list);
    const changed = now !== last;
    last = now;
    if (changed) {
      // A directory watched only from now on may already have changed before its watch was
      // up: look once more after the debounce.
      if (addDirs() > 0) poke();
      try {
        const unchanged = async (): Promise<boolean> => (await statFiles(list)).stamp === before.stamp;
        if ((await onChange(unchanged)) === false) {
          // Written to while being read: the next look must not take this content as seen.
          last = '';
          poke();
        }
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'config reload after a change in the config directory failed');
      }
    }
    opts.onCheck?.(changed);
    return changed;
  };
  function poke(waitMs = debounceMs): void {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void check(true).catch((err: Error) => logger.error({ err: err.message }, 'config directory check failed'));
    }, waitMs);
  }
  // Checks never overlap: a change arriving mid-check gets its own check after it.
  const check = (settle = false): Promise<boolean> => {
    const prev = checking ?? Promise.resolve(false);
    const p = prev.catch(() => false).then(() => (closed ? false : runCheck(settle)));
    checking = p;
    void p.finally(() => {
      if (checking === p) checking = undefined;
    });
    return p;
  };

  watcher.on('all', (event, path) => {
    if (closed) return;
    logger.debug({ event, path }, 'config directory event');
    poke();
  });
  watcher.on('error', (err) => logger.warn({ err: (err as Error).message, dir: root }, 'config directory watch error'));
  await new Promise<void>((res) => watcher.once('ready', () => res()));

  let closing: Promise<void> | undefined;
  return {
    check,
    async sync() {
      last = await hashFiles(files());
      // The applied configuration may name files in directories not watched yet (a listener's
      // certificates added by `conf reload`): watched from now on, and looked at once more in case
      // they changed before their watch was up.
      if (addDirs() > 0) poke();
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
