import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quietWait, readSettled, SettleGate, statFiles } from '../../src/base/settled-files.js';

test('quietWait: how long until the newest file is quiet; a time far ahead is clock skew', () => {
  assert.equal(quietWait(1000, 1000, 200), 200);
  assert.equal(quietWait(1000, 1150, 200), 50);
  assert.equal(quietWait(1000, 1200, 200), 0);
  assert.equal(quietWait(0, 1_000_000, 200), 0);
  assert.equal(quietWait(1100, 1000, 200), 300);
  assert.equal(quietWait(1300, 1000, 200), 0);
});

test('statFiles: a rewrite changes the stamp even with the same content; a missing file is part of it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'settled-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const f = join(dir, 'a.conf');
  await writeFile(f, 'x = 1\n');
  await utimes(f, new Date(), new Date(Date.now() - 10_000));
  const a = await statFiles([f, join(dir, 'missing.conf')]);
  assert.match(a.stamp, /,-$/);
  assert.equal(a.empty, false);
  await writeFile(f, 'x = 1\n');
  const b = await statFiles([f, join(dir, 'missing.conf')]);
  assert.notEqual(b.stamp, a.stamp);
  assert.ok(b.newest > a.newest);
});

test('readSettled: files modified less than the quiet time ago are not read yet; quiet ones are', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'settled-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const f = join(dir, 'acl.conf');
  const g = join(dir, 'gone.conf');
  await writeFile(f, '{allow, all}.\n');
  // A quiet time of a minute: the file just written is within it however slow the machine is.
  const fresh = await readSettled([f, g], new SettleGate(60_000));
  assert.ok('waitMs' in fresh && fresh.waitMs > 0 && fresh.waitMs <= 60_000, JSON.stringify(fresh));
  await utimes(f, new Date(), new Date(Date.now() - 120_000));
  const quiet = await readSettled([f, g], new SettleGate(60_000));
  assert.ok('texts' in quiet);
  assert.deepEqual([...quiet.texts], [[f, '{allow, all}.\n'], [g, undefined]]);
});

test('SettleGate: waits until the files are quiet, and once more for a state with an empty file', () => {
  const state = (size: number, mtimeMs: number) => ({ newest: mtimeMs, stamp: `7:${size}:${mtimeMs}`, empty: size === 0 });
  const gate = new SettleGate(200);
  assert.equal(gate.waitBefore(state(3000, 10_000), 10_050), 150);
  assert.equal(gate.waitBefore(state(3000, 10_000), 10_200), 0);
  // Empty with the time of the write before: maybe a truncation under way. Taken once seen again.
  assert.equal(gate.waitBefore(state(0, 10_000), 11_000), 200);
  assert.equal(gate.waitBefore(state(0, 10_000), 11_200), 0);
  // Another empty state is waited on again.
  assert.equal(gate.waitBefore(state(0, 12_000), 13_000), 200);
  assert.equal(gate.waitBefore(state(0, 12_000), 13_200), 0);
});
