import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlSocketPath, ensureWritableDir, mnesiaDir, otherNodesInDataDir, renameWarning } from '../../src/daemon/data-dir.js';

test('layout', () => {
  assert.equal(mnesiaDir('/d', 'emqx@127.0.0.1'), '/d/mnesia/emqx@127.0.0.1');
  assert.equal(controlSocketPath('/d'), '/d/emqx_ctl.sock');
});

test('rename detection: other nodes only when none for this name', (t) => {
  const d = mkdtempSync(join(tmpdir(), 'dd-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  assert.deepEqual(otherNodesInDataDir(d, 'a@127.0.0.1'), [], 'fresh data dir');
  mkdirSync(join(d, 'mnesia', 'b@127.0.0.1'), { recursive: true });
  mkdirSync(join(d, 'mnesia', 'not a node'), { recursive: true });
  assert.deepEqual(otherNodesInDataDir(d, 'a@127.0.0.1'), ['b@127.0.0.1']);
  mkdirSync(join(d, 'mnesia', 'a@127.0.0.1'));
  assert.deepEqual(otherNodesInDataDir(d, 'a@127.0.0.1'), []);
  const w = renameWarning(d, 'a@127.0.0.1', ['b@127.0.0.1']);
  assert.match(w, /holds the database of 'b@127\.0\.0\.1' but none for 'a@127\.0\.0\.1'/);
  assert.match(w, /set node\.name back to 'b@127\.0\.0\.1'/);
  assert.ok(w.includes(join(d, 'mnesia', 'b@127.0.0.1')));
});

test('ensureWritableDir creates, and names the directory when it cannot', (t) => {
  const d = mkdtempSync(join(tmpdir(), 'dd-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  ensureWritableDir(join(d, 'x', 'y'), 'data directory');
  writeFileSync(join(d, 'f'), '');
  assert.throws(() => ensureWritableDir(join(d, 'f', 'y'), 'data directory'), /^DataDirError: data directory .*f\/y cannot be created: ENOTDIR$/);
  assert.throws(() => ensureWritableDir(join(d, 'f'), 'log directory'), /log directory .*\/f (cannot be created|is not a directory)/);
});
