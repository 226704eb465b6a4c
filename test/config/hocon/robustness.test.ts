// Bad input never escapes as anything but a positioned HoconError, and pathological input is
// bounded: deep nesting and long substitution chains are errors, large files stay fast.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HoconError, parseHocon } from '../../../src/config/hocon/index.js';
import { generateDocument, prng } from './hocon-generator.js';

const corpus = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../shared/hocon-corpus');
const TRICKY = ['{', '}', '[', ']', '"', '"""', '$', '${', '${?', '\\', '\n', ',', ':', '=', '+=', '#', '//', ' ', '.', 'include "x"', '\u0000', '\uFEFF', 'é'];

function mutate(text: string, rnd: () => number): string {
  let out = text;
  const n = 1 + Math.floor(rnd() * 4);
  for (let i = 0; i < n; i += 1) {
    const at = Math.floor(rnd() * (out.length + 1));
    const r = rnd();
    if (r < 0.4) out = out.slice(0, at) + out.slice(at + 1 + Math.floor(rnd() * 5));
    else out = out.slice(0, at) + (TRICKY[Math.floor(rnd() * TRICKY.length)] as string) + out.slice(at);
  }
  return out;
}

test('mutated documents give a value or a positioned HoconError, nothing else', () => {
  const rnd = prng(20240601);
  const sources: string[] = [];
  for (let seed = 1; seed <= 150; seed += 1) sources.push(generateDocument(seed));
  for (const rel of ['emqx/emqx.conf', 'emqx/base.hocon', 'lightbend/test01.conf', 'emqx-hocon-etc/unescape.conf']) {
    const file = path.join(corpus, rel);
    if (fs.existsSync(file)) sources.push(fs.readFileSync(file, 'utf8'));
  }
  const lines = (t: string): number => t.split('\n').length;
  let rejected = 0;
  for (let i = 0; i < 1500; i += 1) {
    const text = mutate(sources[i % sources.length] as string, rnd);
    try {
      parseHocon(text, { file: 'm.conf', env: {}, readFile: () => 'x = 1' });
    } catch (err) {
      if (!(err instanceof HoconError)) assert.fail(`not a HoconError (${String(err)}) for:\n${text}`);
      rejected += 1;
      if (err.file === 'm.conf') {
        assert.ok(err.line >= 1 && err.line <= lines(text) + 1, `line ${err.line} outside the document: ${err.message}`);
        assert.ok(err.column >= 1, err.message);
      }
    }
  }
  assert.ok(rejected > 100, `expected many mutations to be rejected, got ${rejected}`);
});

test('nesting deeper than 200 levels is a positioned error, not a stack overflow', () => {
  assert.throws(() => parseHocon(`a = ${'{b = '.repeat(5000)}1${'}'.repeat(5000)}`, { file: 'd.conf' }),
    (e: unknown) => e instanceof HoconError && e.line === 1 && e.column === 1000 && /nested more than 200 levels/.test(e.message));
  assert.throws(() => parseHocon(`a = ${'['.repeat(5000)}${']'.repeat(5000)}`), /nested more than 200 levels/);
  assert.throws(() => parseHocon(`a${'.b'.repeat(300)} = 1`), /nested more than 200 levels/);
  assert.deepEqual(Object.keys(parseHocon(`a = ${'{b = '.repeat(150)}1${'}'.repeat(150)}`).value), ['a']);
});

test('a chain of more than 400 substitutions is an error; long files resolve quickly', () => {
  let selfs = 'p = a\n';
  for (let i = 0; i < 1000; i += 1) selfs += 'p = ${p}b\n';
  assert.throws(() => parseHocon(selfs, { env: {} }), /substitutions nested too deeply/);

  let flat = '';
  for (let i = 0; i < 20000; i += 1) flat += `s${i % 500}.k${i} = v${i} \${?s0.k0}\n`;
  const started = Date.now();
  const doc = parseHocon(flat, { env: {} });
  assert.equal(Object.keys(doc.value).length, 500);
  assert.ok(Date.now() - started < 15_000, `20000 lines took ${Date.now() - started} ms`);
});
