// Config fuzzing: ≥ 10,000 mutations of the HOCON corpus and of our shipped etc/emqx.conf.
// Each must either load or be rejected with a positioned error: never a crash, never a hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { judge, inputFor, type FuzzBase } from './config-fuzz-worker.js';

const root = new URL('../..', import.meta.url).pathname;
const corpus = join(root, '..', 'shared', 'hocon-corpus');
const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const COUNT = Number(process.env.FUZZ_COUNT ?? 10_000);
const STALL_MS = 5_000;

function corpusFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'expected') out.push(...corpusFiles(p));
    } else if (/\.(conf|hocon)$/.test(name)) out.push(p);
  }
  return out;
}

function bases(): FuzzBase[] {
  const list: FuzzBase[] = corpusFiles(corpus).map((file) => ({ file, text: readFileSync(file, 'utf8'), asEmqxConf: false }));
  const shipped = join(root, 'etc', 'emqx.conf');
  const text = readFileSync(shipped, 'utf8');
  // Our own file is weighted up: it is the one operators edit.
  for (let i = 0; i < Math.max(1, Math.floor(list.length / 2)); i++) list.push({ file: shipped, text, asEmqxConf: true });
  return list;
}

test(`config fuzz: ${COUNT} mutations load or are rejected with a position (seed ${SEED})`, { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'emqx-fuzz-bases-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const list = bases();
  const basesFile = join(dir, 'bases.json');
  writeFileSync(basesFile, JSON.stringify(list));

  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'test/fuzz/config-fuzz-worker.ts'), String(SEED), String(COUNT), basesFile], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  let last = -1;
  let verdict: string | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  const stalled = new Promise<'stalled'>((resolve) => {
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => resolve('stalled'), STALL_MS);
    };
    arm();
    createInterface({ input: child.stdout! }).on('line', (line) => {
      arm();
      if (line.startsWith('progress ')) last = Number(line.slice(9));
      else verdict = line;
    });
  });
  const exited = new Promise<'exited'>((resolve) => child.on('exit', () => resolve('exited')));
  const outcome = await Promise.race([stalled, exited]);
  clearTimeout(watchdog);

  if (outcome === 'stalled') {
    // Replay the window that stalled, one input at a time, to name the culprit.
    assert.fail(`fuzz worker made no progress for ${STALL_MS} ms after input ${last} (seed ${SEED}); replay inputs ${last}..${last + 49} with inputFor()`);
  }
  assert.ok(verdict, 'worker printed no verdict');
  if (verdict.startsWith('FAIL ')) {
    const { i, base, error } = JSON.parse(verdict.slice(5)) as { i: number; base: string; error: string };
    const { text } = inputFor(SEED, i, list);
    assert.fail(`input ${i} (mutation of ${base}) neither loaded nor was rejected cleanly:\n${error}\n--- input ---\n${text}`);
  }
  const tally = JSON.parse(verdict.slice(5)) as { loaded: number; rejected: number };
  console.log(`config fuzz: ${COUNT} inputs, ${tally.loaded} loaded, ${tally.rejected} rejected with a positioned error (seed ${SEED})`);
  assert.equal(tally.loaded + tally.rejected, COUNT);
  assert.ok(tally.rejected > COUNT / 10, 'mutations should break a good share of documents');
});

test('adversarial documents are rejected or loaded quickly, never a crash', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'emqx-fuzz-adv-'));
  try {
    const chain = Array.from({ length: 64 }, (_, i) => (i === 0 ? 'a0 = "xxxxxxxx"' : `a${i} = \${a${i - 1}}\${a${i - 1}}`)).join('\n');
    const cases: Record<string, string> = {
      'deep arrays': '['.repeat(100_000),
      'deep objects': 'a = ' + '{ b = '.repeat(50_000),
      'deep dotted key': 'a' + '.a'.repeat(100_000) + ' = 1',
      'exponential substitution': chain,
      'self include': 'include "fuzz.conf"\n',
      'huge string': `s = "${'x'.repeat(5_000_000)}"`,
      'unterminated triple quote': 'a = """' + 'x'.repeat(100_000),
      'nul bytes': 'a = 1\u0000\u0000b = 2',
    };
    writeFileSync(join(dir, 'fuzz.conf'), 'include "fuzz.conf"\n');
    for (const [name, text] of Object.entries(cases)) {
      const started = Date.now();
      try {
        judge({ file: name, text, asEmqxConf: false }, text, dir);
      } catch (err) {
        assert.fail(`${name}: ${err instanceof Error ? `${err.name}: ${err.message.slice(0, 300)}` : String(err)}`);
      }
      assert.ok(Date.now() - started < 5_000, `${name} took ${Date.now() - started} ms`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
