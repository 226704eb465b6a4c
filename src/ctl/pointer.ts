// How a client finds a node's control socket without reading the node's configuration.
//
// The socket lives in the node's data directory, which only the full config (file + env) tells.
// Parsing HOCON would cost the native client its speed, so at start the daemon leaves a pointer:
// a symlink `${XDG_RUNTIME_DIR:-/tmp}/emqx-ctl-<uid>/<key>` → the socket's absolute path, where
// <key> is a hash of exactly the inputs that select a node (see pointerKeyInput). A client
// computes the same key from its own environment and follows the link; when the link is missing
// or stale it falls back to resolving the configuration (the Node.js client). native/emqx_ctl.c
// implements the same key and directory rules; keep them in step.
import { existsSync, lstatSync, readdirSync, readlinkSync, realpathSync, renameSync, symlinkSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeDirsSync } from '../base/make-dirs.js';

/** The environment variables that select which node a command addresses (SPEC §3). */
export const SELECTOR_VARS = ['EMQX_NODE__NAME', 'EMQX_NODE_NAME', 'EMQX_NODE__DATA_DIR'] as const;

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = (1n << 64n) - 1n;

/** FNV-1a, 64-bit, as 16 lowercase hex digits. */
export function fnv1a64(data: Uint8Array): string {
  let h = FNV_OFFSET;
  for (const byte of data) {
    h ^= BigInt(byte);
    h = (h * FNV_PRIME) & MASK64;
  }
  return h.toString(16).padStart(16, '0');
}

/**
 * The etc dir as every client sees it: EMQX_ETC_DIR (relative to the install root, as the config
 * loader reads it) or <root>/etc, symlinks resolved.
 */
export function selectorEtcDir(root: string, env: NodeJS.ProcessEnv): string {
  const raw = env.EMQX_ETC_DIR ? resolve(root, env.EMQX_ETC_DIR) : join(root, 'etc');
  try {
    return realpathSync(raw);
  } catch {
    return raw;
  }
}

/** `<etc dir>\0<EMQX_NODE__NAME>\0<EMQX_NODE_NAME>\0<EMQX_NODE__DATA_DIR>` (unset = empty). */
export function pointerKeyInput(etcDir: string, env: NodeJS.ProcessEnv): string {
  return [etcDir, ...SELECTOR_VARS.map((v) => env[v] ?? '')].join('\0');
}

export function pointerKey(etcDir: string, env: NodeJS.ProcessEnv): string {
  return fnv1a64(Buffer.from(pointerKeyInput(etcDir, env), 'utf8'));
}

export function pointerDir(env: NodeJS.ProcessEnv, uid: number = process.getuid?.() ?? 0): string {
  return join(env.XDG_RUNTIME_DIR || '/tmp', `emqx-ctl-${uid}`);
}

/**
 * Creates (or replaces) the pointer. Best effort: without it clients are only slower, so a
 * failure is returned for logging, never thrown.
 */
export function writePointer(dir: string, key: string, socketPath: string): Error | undefined {
  try {
    makeDirsSync(dir, 0o700);
    const st = lstatSync(dir);
    const uid = process.getuid?.();
    // Another user's (or a symlinked) directory in /tmp could redirect our clients: refuse it.
    if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) {
      return new Error(`${dir} is not a private directory owned by this user; clients will resolve the config instead`);
    }
    prunePointers(dir);
    const link = join(dir, key);
    const tmp = `${link}.${process.pid}.tmp`;
    try {
      unlinkSync(tmp);
    } catch {
      /* not there */
    }
    symlinkSync(socketPath, tmp);
    renameSync(tmp, link);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** What a shared key points at: a path that never exists, so every client falls back. */
export const AMBIGUOUS_TARGET = '/nonexistent/emqx-ctl-pointer-is-ambiguous';

/**
 * Points this environment's key at our socket, unless another live node already holds the key
 * (two nodes whose selecting inputs are equal: see docs/cli.md): then the key is marked
 * ambiguous so that clients of either node resolve the configuration instead of guessing.
 */
export async function claimPointer(
  dir: string,
  key: string,
  socketPath: string,
  isLive: (socket: string) => Promise<boolean>,
): Promise<{ readonly ambiguous: boolean; readonly error?: Error }> {
  let previous: string | undefined;
  try {
    previous = readlinkSync(join(dir, key));
  } catch {
    /* no pointer yet */
  }
  const shared = previous !== undefined && previous !== socketPath && (previous === AMBIGUOUS_TARGET || (await isLive(previous)));
  const error = writePointer(dir, key, shared ? AMBIGUOUS_TARGET : socketPath);
  return error ? { ambiguous: shared, error } : { ambiguous: shared };
}

/** Removes pointers whose socket no longer exists (nodes killed, data directories deleted). */
export function prunePointers(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!/^[0-9a-f]{16}$/.test(name)) continue;
    const link = join(dir, name);
    try {
      const target = readlinkSync(link);
      if (target !== AMBIGUOUS_TARGET && !existsSync(target)) unlinkSync(link);
    } catch {
      /* not a link, or raced with its owner */
    }
  }
}

/** Removes the pointer if it still points at `socketPath` (another node may have replaced it). */
export function removePointer(dir: string, key: string, socketPath: string): void {
  const link = join(dir, key);
  try {
    if (readlinkSync(link) === socketPath) unlinkSync(link);
  } catch {
    /* already gone */
  }
}

/**
 * The socket path the pointer for this environment names, if the pointer directory is private
 * and ours (the same checks as the native client). undefined when there is no usable pointer.
 */
export function readPointer(root: string, env: NodeJS.ProcessEnv): { readonly key: string; readonly socketPath: string } | undefined {
  const dir = pointerDir(env);
  try {
    const st = lstatSync(dir);
    const uid = process.getuid?.();
    if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) return undefined;
    const key = pointerKey(selectorEtcDir(root, env), env);
    return { key, socketPath: readlinkSync(join(dir, key)) };
  } catch {
    return undefined;
  }
}
