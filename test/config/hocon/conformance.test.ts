// Conformance against the shared corpus: every corpus file that has an expected outcome is
// parsed; where EMQX's parser accepted it we must give EMQX's value, else where the HOCON
// reference (Lightbend) accepted it we must give the reference's value, else we must reject it
// with a positioned HoconError. Deliberate departures are listed in KNOWN_DIFFERENCES and
// explained in docs/hocon.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HoconError, parseHoconFile } from '../../../src/config/hocon/index.js';
import { skipOrFail } from '../../helpers/prerequisite.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const corpus = path.resolve(projectRoot, '../shared/hocon-corpus');
const expectedDir = path.join(corpus, 'expected');

// The two reference outputs that read the environment were written with placeholders.
const FIXED_ENV: Record<string, string> = {
  HOME: '/home/conformance',
  LANG: 'C.UTF-8',
  PATH: '/usr/bin:/bin',
  PWD: '/work',
  SHELL: '/bin/sh',
};

/**
 * Files where we deliberately give a different outcome than the rule above, with the outcome we
 * give instead ('java': the reference's value; 'reject': an error; or the exact value we give).
 * Each is explained in docs/hocon.md.
 */
const KNOWN_DIFFERENCES: Record<string, { expect: 'java' | 'reject' | { value: unknown }; why: string }> = {
  'emqx-hocon-etc/triple-quotes.conf': {
    expect: 'reject',
    why: 'EMQX joins strings written on separate lines and strips """~ indentation; in the specification a newline ends the value',
  },
  'lightbend/equiv01/no-commas.conf': {
    expect: 'java',
    why: 'newline-separated array elements are separate elements (EMQX concatenates them into one string)',
  },
  'lightbend/equiv03/includes.conf': {
    expect: 'java',
    why: 'include "name" without extension loads name.properties, name.json and name.conf (EMQX reads only the exact name)',
  },
  'lightbend/equiv03/letters/a.conf': {
    expect: 'java',
    why: 'include "name" without extension loads name.properties, name.json and name.conf (EMQX reads only the exact name)',
  },
  'lightbend/file-include.conf': {
    expect: { value: { base: 41, foo: 42, bar: 43, 'bar-file': 44, baz: 45 } },
    why: 'include file("x") is relative to the including file like include "x" (the reference resolves file() against the working directory)',
  },
  'lightbend/subdir/foo.conf': {
    expect: { value: { foo: 42, bar: 43, 'bar-file': 44 } },
    why: 'include file("x") is relative to the including file like include "x" (the reference resolves file() against the working directory)',
  },
};

type Outcome = { kind: 'value'; value: unknown; source: 'emqx' | 'java' | 'documented' } | { kind: 'reject' };

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (full !== expectedDir) out.push(...listFiles(full));
    } else if (entry.isFile()) {
      out.push(full);
    }
  }
  return out.sort();
}

function withEnvPlaceholders(v: unknown): unknown {
  if (typeof v === 'string') {
    const m = /^\$\{([A-Z]+)\}$/.exec(v);
    return m !== null && m[1] !== undefined && m[1] in FIXED_ENV ? FIXED_ENV[m[1]] : v;
  }
  if (Array.isArray(v)) return v.map(withEnvPlaceholders);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withEnvPlaceholders(x)]));
  }
  return v;
}

function readJson(file: string): unknown {
  return withEnvPlaceholders(JSON.parse(fs.readFileSync(file, 'utf8')));
}

function expectedOutcome(rel: string): Outcome | undefined {
  const base = path.join(expectedDir, rel);
  const known = KNOWN_DIFFERENCES[rel];
  if (known?.expect === 'reject') return { kind: 'reject' };
  if (typeof known?.expect === 'object') return { kind: 'value', value: known.expect.value, source: 'documented' };
  if (known?.expect !== 'java' && fs.existsSync(`${base}.emqx.json`)) return { kind: 'value', value: readJson(`${base}.emqx.json`), source: 'emqx' };
  if (fs.existsSync(`${base}.java.json`)) return { kind: 'value', value: readJson(`${base}.java.json`), source: 'java' };
  if (fs.existsSync(`${base}.emqx.err`) || fs.existsSync(`${base}.java.err`)) return { kind: 'reject' };
  return undefined;
}

test('hocon conformance with the shared corpus', (t) => {
  if (!fs.existsSync(corpus)) return skipOrFail(t, `corpus not found at ${corpus}`);
  const results: { rel: string; ok: boolean; detail: string; kind?: string }[] = [];
  for (const file of listFiles(corpus)) {
    const rel = path.relative(corpus, file);
    const expected = expectedOutcome(rel);
    if (expected === undefined) continue;
    let got: { ok: true; value: unknown } | { ok: false; err: unknown };
    try {
      got = { ok: true, value: parseHoconFile(file, { env: FIXED_ENV }).value };
    } catch (err) {
      got = { ok: false, err };
    }
    if (expected.kind === 'reject') {
      if (got.ok) {
        results.push({ rel, ok: false, detail: `accepted, expected a rejection; got ${JSON.stringify(got.value).slice(0, 300)}` });
      } else if (!(got.err instanceof HoconError) || got.err.line < 1 || got.err.column < 1) {
        results.push({ rel, ok: false, detail: `rejected without a positioned HoconError: ${String(got.err)}` });
      } else {
        results.push({ rel, ok: true, detail: got.err.message, kind: KNOWN_DIFFERENCES[rel] ? 'documented' : 'rejected' });
      }
      continue;
    }
    if (!got.ok) {
      results.push({ rel, ok: false, detail: `rejected, expected the ${expected.source} value: ${String(got.err instanceof Error ? got.err.message : got.err)}` });
      continue;
    }
    try {
      assert.deepStrictEqual(got.value, expected.value);
      results.push({ rel, ok: true, detail: '', kind: KNOWN_DIFFERENCES[rel] ? 'documented' : `equal to ${expected.source}` });
    } catch (err) {
      results.push({ rel, ok: false, detail: `differs from the ${expected.source} value:\n${(err as Error).message.slice(0, 2000)}` });
    }
  }
  const failed = results.filter((r) => !r.ok);
  const tally = new Map<string, number>();
  for (const r of results) if (r.ok) tally.set(r.kind ?? '', (tally.get(r.kind ?? '') ?? 0) + 1);
  const parts = [...tally.entries()].sort().map(([k, n]) => `${n} ${k}`).join(', ');
  console.log(`hocon conformance: ${results.length - failed.length}/${results.length} as expected (${parts})`);
  if (process.env.HOCON_CONFORMANCE_VERBOSE === '1') {
    for (const r of results) console.log(`  ${r.ok ? 'ok  ' : 'FAIL'} ${r.rel} [${r.kind ?? 'failed'}] ${r.detail.split('\n')[0]}`);
  }
  for (const f of failed) console.log(`  FAIL ${f.rel}: ${f.detail}`);
  assert.ok(results.length >= 129, `expected at least 129 corpus files with an expected outcome, found ${results.length}`);
  assert.deepEqual(failed.map((f) => f.rel), []);
});
