#!/usr/bin/env node
// `npm run build`: compiles src/ and the native ctl client into a fresh tree next to build/,
// then switches build/ to it in one step, so a node that starts (bin/emqx execs
// node build/cli/main.js) or runs while a build is under way never loads a half-written tree.
//
//   build -> build.<start ms>-<builder pid>      a symlink, replaced by rename(2) of a new one
//   build.<ms>-<pid>/                           trees: the current one, the previous one, and
//                                               any a build still under way is writing
//
// If tsc fails, its output is shown, the fresh tree is removed, build is left as it was and the
// script exits non-zero. A build that is killed leaves its tree behind; a later build removes it.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { copyFileSync, existsSync, lstatSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const LINK = 'build';
// The trees must sit directly in the root: build/cli/main.js finds the install root two levels
// above its real path, and so does the native client from /proc/self/exe.
const TREE = /^build\.(\d+)-(\d+|legacy)$/;
const TMP_LINK = /^build\.link-(\d+)$/;

const name = `build.${Date.now()}-${process.pid}`;
const fresh = join(root, name);

function fail(message, code = 1) {
  rmSync(fresh, { recursive: true, force: true });
  if (message) console.error(`build: ${message}`);
  process.exit(code);
}

const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', fresh], {
  cwd: root,
  stdio: 'inherit',
});
if (compiled.status !== 0) fail(`tsc failed; ${LINK} was left as it was`, compiled.status ?? 1);

// The dashboard page (web/): its TypeScript compiled for the browser, its HTML and CSS copied,
// into the tree's api/www/, which the API serves as `/` and `/static/...`.
// (A tree without web/, such as the build script's own test project, has no page to build.)
if (existsSync(join(root, 'web', 'tsconfig.json'))) {
  const www = join(fresh, 'api', 'www');
  const page = spawnSync(process.execPath, [tsc, '-p', join(root, 'web', 'tsconfig.json'), '--outDir', join(www, 'static')], { cwd: root, stdio: 'inherit' });
  if (page.status !== 0) fail(`tsc failed on web/; ${LINK} was left as it was`, page.status ?? 1);
  copyFileSync(join(root, 'web', 'index.html'), join(www, 'index.html'));
  copyFileSync(join(root, 'web', 'style.css'), join(www, 'static', 'style.css'));
}

// Never fails for want of a compiler (it warns and bin/emqx_ctl falls back to Node.js); a
// non-zero exit means the script itself broke.
const native = spawnSync(process.execPath, [join(root, 'scripts', 'build-native.mjs'), fresh], { cwd: root, stdio: 'inherit' });
if (native.status !== 0) fail(`the native client's build failed; ${LINK} was left as it was`, native.status ?? 1);

const previous = switchTo(name);
prune(name, previous);
console.log(`build: ${LINK} -> ${name}${previous ? ` (kept ${previous})` : ''}`);

/** Points build at `tree` atomically; returns the tree it pointed at before, if any. */
function switchTo(tree) {
  const link = join(root, LINK);
  let previous;
  let st;
  try {
    st = lstatSync(link);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  if (st?.isSymbolicLink()) {
    const target = basename(readlinkSync(link));
    if (TREE.test(target)) previous = target;
  } else if (st?.isDirectory()) {
    // A real build/ from an older checkout: renamed once into a tree of its own (rename(2)
    // cannot put a symlink over a directory). Between the two renames build/ is briefly missing;
    // this happens only on the first build after the switch to symlinked trees.
    previous = `build.${Math.trunc(st.mtimeMs)}-legacy`;
    renameSync(link, join(root, previous));
  } else if (st) {
    fail(`${link} is neither a directory nor a symlink; move it away and build again`);
  }
  const tmp = join(root, `build.link-${process.pid}`);
  rmSync(tmp, { force: true });
  symlinkSync(tree, tmp);
  renameSync(tmp, link);
  return previous;
}

/**
 * Removes trees older than the previous one. The previous tree stays: Node resolves ESM module
 * paths through symlinks to real paths, so a process started on it keeps loading its modules
 * from build.<old>/..., including the ones it imports lazily (cli/main.js loads each command on
 * demand). One tree back is enough today: those lazy imports happen in a command's first moments,
 * and the daemon imports none of our modules after it has booted: its lazy imports are packages
 * (pino-pretty, etcd3), which resolve from the root's node_modules even once its tree is gone.
 * A tree whose builder is still running is never touched: it is a concurrent build's.
 */
function prune(current, previous) {
  const stampOf = (tree) => Number(TREE.exec(tree)?.[1]);
  const olderThan = stampOf(previous ?? current);
  for (const entry of readdirSync(root)) {
    const tree = TREE.exec(entry);
    if (tree) {
      if (entry === current || entry === previous) continue;
      if (tree[2] !== 'legacy' && alive(Number(tree[2]))) continue;
      if (Number(tree[1]) >= olderThan) continue;
      rmSync(join(root, entry), { recursive: true, force: true });
      continue;
    }
    // A temporary link left by a build that was killed between creating and renaming it.
    const tmp = TMP_LINK.exec(entry);
    if (tmp && !alive(Number(tmp[1]))) rmSync(join(root, entry), { force: true });
  }
}

function alive(pid) {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}
