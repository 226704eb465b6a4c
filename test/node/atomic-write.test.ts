import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { atomicWriteFile, atomicWriteFileSync } from '../../src/node/atomic-write.js';

function sandbox(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'aw-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('replaces the content whole and leaves no temp file', async (t) => {
  const dir = sandbox(t);
  const f = join(dir, 'state.json');
  writeFileSync(f, 'old');
  await atomicWriteFile(f, '{"new":true}', { mode: 0o600 });
  assert.equal(readFileSync(f, 'utf8'), '{"new":true}');
  assert.equal(statSync(f).mode & 0o777, 0o600);
  atomicWriteFileSync(f, Buffer.from('sync'));
  assert.equal(readFileSync(f, 'utf8'), 'sync');
  assert.deepEqual(readdirSync(dir), ['state.json']);
});

test('a failed write leaves the old file intact and cleans up', async (t) => {
  const dir = sandbox(t);
  const f = join(dir, 'missing-dir', 'x');
  await assert.rejects(atomicWriteFile(f, 'x'), /ENOENT/);
  assert.throws(() => atomicWriteFileSync(f, 'x'), /ENOENT/);
  const g = join(dir, 'g');
  writeFileSync(g, 'keep');
  // Renaming a file over a directory fails after the temp file was written.
  const sub = join(dir, 'sub');
  (await import('node:fs')).mkdirSync(sub);
  await assert.rejects(atomicWriteFile(sub, 'x'));
  assert.throws(() => atomicWriteFileSync(sub, 'x'));
  assert.equal(readFileSync(g, 'utf8'), 'keep');
  assert.deepEqual(readdirSync(dir).sort(), ['g', 'sub']);
});

test('concurrent writers never interleave: the file is one of the versions', async (t) => {
  const dir = sandbox(t);
  const f = join(dir, 'c');
  const versions = Array.from({ length: 20 }, (_, i) => `v${i}:${'x'.repeat(10_000)}`);
  await Promise.all(versions.map((v) => atomicWriteFile(f, v)));
  assert.ok(versions.includes(readFileSync(f, 'utf8')));
  assert.deepEqual(readdirSync(dir), ['c']);
});
