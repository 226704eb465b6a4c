// scripts/build.mjs in a throwaway project (a small generated src/ with the real scripts,
// tsconfigs and native client): build is a symlink switched in one step, a reader or a node started
// during a rebuild always gets a complete tree, the previous tree survives, older ones go, and a
// failing tsc changes nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = join(import.meta.dirname, '..', '..');
const MODULES = 40;
const BUILD_TIMEOUT_MS = 25_000;
const HAS_CC = spawnSync(process.env.CC ?? 'cc', ['--version'], { stdio: 'ignore' }).status === 0;

let proj = '';

/** Every module carries the generation it was written for, so a mixed tree would show. */
function writeSources(gen: number, extra: Record<string, string> = {}): void {
  const lib = join(proj, 'src', 'lib');
  rmSync(join(proj, 'src'), { recursive: true, force: true });
  mkdirSync(lib, { recursive: true });
  mkdirSync(join(proj, 'src', 'cli'));
  const filler = `'${'x'.repeat(2000)}'`;
  for (let i = 0; i < MODULES; i++) {
    writeFileSync(join(lib, `m${i}.ts`), `export const gen: number = ${gen};\nexport const filler${i} = ${filler};\n`);
  }
  const imports = Array.from({ length: MODULES }, (_, i) => `import { gen as g${i} } from './m${i}.js';`).join('\n');
  const gens = Array.from({ length: MODULES }, (_, i) => `g${i}`).join(', ');
  writeFileSync(join(lib, 'all.ts'), `${imports}\nexport const gens: readonly number[] = [${gens}];\n`);
  writeFileSync(
    join(proj, 'src', 'cli', 'main.ts'),
    [
      "import { fileURLToPath } from 'node:url';",
      "import { gens } from '../lib/all.js';",
      'process.stdout.write(JSON.stringify({ file: fileURLToPath(import.meta.url), gens: [...new Set(gens)] }) + "\\n");',
      '',
    ].join('\n'),
  );
  for (const [rel, text] of Object.entries(extra)) writeFileSync(join(proj, 'src', rel), text);
}

const EXPECTED = ['cli/main.js', 'lib/all.js', ...Array.from({ length: MODULES }, (_, i) => `lib/m${i}.js`)];

/** Throws unless `tree` holds every compiled file, each written to its end, all of one generation. */
function checkTree(tree: string, withNative: boolean): number {
  const gens = new Set<string>();
  for (const rel of EXPECTED) {
    const text = readFileSync(join(tree, rel), 'utf8');
    // tsc ends every file with its source map comment: a file cut short has none.
    if (!text.trimEnd().endsWith(`//# sourceMappingURL=${basename(rel)}.map`)) throw new Error(`${tree}/${rel} is incomplete`);
    const m = /export const gen = (\d+);/.exec(text);
    if (m?.[1] !== undefined) gens.add(m[1]);
  }
  if (withNative && !existsSync(join(tree, 'emqx_ctl'))) throw new Error(`${tree}/emqx_ctl is missing`);
  if (gens.size !== 1) throw new Error(`${tree} mixes generations ${[...gens].join(', ')}`);
  return Number([...gens][0]);
}

interface Run {
  readonly code: number | null;
  readonly out: string;
}

/** Runs a command in the project, killed by PID after `timeoutMs`. */
function run(args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: proj, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

const build = (): Promise<Run> => run(['scripts/build.mjs'], BUILD_TIMEOUT_MS);
const trees = (): string[] => readdirSync(proj).filter((e) => e.startsWith('build.')).sort();
const current = (): string => readlinkSync(join(proj, 'build'));

before(() => {
  proj = mkdtempSync(join(tmpdir(), 'emqx-build-'));
  mkdirSync(join(proj, 'scripts'));
  for (const f of ['build.mjs', 'build-native.mjs']) cpSync(join(ROOT, 'scripts', f), join(proj, 'scripts', f));
  for (const f of ['package.json', 'tsconfig.json', 'tsconfig.build.json']) cpSync(join(ROOT, f), join(proj, f));
  cpSync(join(ROOT, 'native'), join(proj, 'native'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(proj, 'node_modules'));
});

after(() => {
  if (proj) rmSync(proj, { recursive: true, force: true });
});

test('a real build/ left by an older checkout becomes a kept tree behind the new symlink', { timeout: 30_000 }, async () => {
  mkdirSync(join(proj, 'build', 'cli'), { recursive: true });
  writeFileSync(join(proj, 'build', 'cli', 'main.js'), '// the old tree\n');
  writeSources(1);
  const r = await build();
  assert.equal(r.code, 0, r.out);
  assert.ok(lstatSync(join(proj, 'build')).isSymbolicLink());
  assert.match(current(), /^build\.\d+-\d+$/);
  assert.equal(checkTree(join(proj, 'build'), HAS_CC), 1);
  const legacy = trees().filter((t) => t.endsWith('-legacy'));
  assert.equal(legacy.length, 1);
  assert.equal(readFileSync(join(proj, legacy[0]!, 'cli', 'main.js'), 'utf8'), '// the old tree\n');
  // Node runs it from the tree's real path, and the install root stays two levels above it.
  const ran = await run(['build/cli/main.js'], 10_000);
  assert.equal(ran.code, 0, ran.out);
  assert.deepEqual(JSON.parse(ran.out), { file: join(proj, current(), 'cli', 'main.js'), gens: [1] });
});

test('during a rebuild every reader and every node started sees one complete tree; the switch is one step', { timeout: 30_000 }, async () => {
  const old = current();
  writeSources(2);
  let done = false;
  const building = build().finally(() => (done = true));

  // A reader that resolves build once, as Node does for its entry module, then reads the tree.
  const seen: string[] = [];
  let probes = 0;
  const reader = (async () => {
    while (!done) {
      const tree = realpathSync(join(proj, 'build'));
      if (seen.at(-1) !== basename(tree)) seen.push(basename(tree));
      checkTree(tree, HAS_CC);
      probes++;
      await sleep(2);
    }
  })();
  // Nodes started while the build runs, the way bin/emqx starts one.
  const gensRun = new Set<number>();
  let starts = 0;
  const starter = (async () => {
    do {
      const r = await run(['build/cli/main.js'], 10_000);
      assert.equal(r.code, 0, r.out);
      const { gens } = JSON.parse(r.out) as { gens: number[] };
      assert.equal(gens.length, 1, `a node loaded a mixed tree: ${r.out}`);
      gensRun.add(gens[0]!);
      starts++;
    } while (!done);
  })();

  // Settled together so that a failed check is reported after the build has finished, not as an
  // unhandled rejection while it still runs.
  const [built, ...checks] = await Promise.allSettled([building, reader, starter]);
  for (const c of checks) if (c.status === 'rejected') throw c.reason;
  assert.ok(built.status === 'fulfilled');
  const r = built.value;
  assert.equal(r.code, 0, r.out);
  const fresh = current();
  assert.notEqual(fresh, old);
  assert.ok(probes > 0 && starts > 0, `probes ${probes}, starts ${starts}`);
  // build went from the old tree straight to the new one, never missing, never anything between.
  assert.deepEqual(seen.filter((t) => t !== old && t !== fresh), []);
  assert.ok(seen.length <= 2, `build pointed at ${seen.join(' → ')}`);
  for (const g of gensRun) assert.ok(g === 1 || g === 2, `generation ${g}`);
  assert.equal(checkTree(join(proj, 'build'), HAS_CC), 2);
  // The previous tree survives for processes started on it; the one before it (legacy) is gone.
  assert.equal(checkTree(join(proj, old), HAS_CC), 1);
  assert.deepEqual(trees(), [old, fresh].sort());
});

test('a failing tsc leaves build and its trees as they were and exits non-zero with the error', { timeout: 30_000 }, async () => {
  const before = { link: current(), trees: trees() };
  writeSources(3, { 'broken.ts': "export const n: number = 'not a number';\n" });
  const r = await build();
  assert.notEqual(r.code, 0);
  assert.match(r.out, /broken\.ts\(1,14\): error TS2322/);
  assert.match(r.out, /tsc failed; build was left as it was/);
  assert.equal(current(), before.link);
  assert.deepEqual(trees(), before.trees);
  assert.equal(checkTree(join(proj, 'build'), HAS_CC), 2);
});
