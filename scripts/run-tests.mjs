#!/usr/bin/env node
// Runs the test suite with node:test through tsx.
// Usage: node scripts/run-tests.mjs [unit|integration|all] [extra node --test flags]
// Node 20's --test does not expand globs, so the file list is built here.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const which = process.argv[2] ?? 'all';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const all = walk(join(root, 'test')).map((p) => relative(root, p));
const isIntegration = (p) => p.startsWith('test/integration/') || p.startsWith('test/chaos/');
const files = all.filter((p) => (which === 'unit' ? !isIntegration(p) : which === 'integration' ? isIntegration(p) : true));
if (files.length === 0) {
  console.error(`no test files for '${which}'`);
  process.exit(1);
}
const res = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...process.argv.slice(3), ...files],
  { cwd: root, stdio: 'inherit' },
);
process.exit(res.status ?? 1);
