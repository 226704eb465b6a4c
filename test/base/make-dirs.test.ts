import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDirs, makeDirsSync } from '../../src/base/make-dirs.js';

test('makeDirs creates the missing levels and says which was first; an existing directory is fine', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'mkd-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  assert.equal(makeDirsSync(join(root, 'a', 'b', 'c'), 0o700), join(root, 'a'));
  assert.equal(statSync(join(root, 'a', 'b')).mode & 0o777, 0o700);
  assert.equal(makeDirsSync(join(root, 'a', 'b')), undefined);
  assert.equal(await makeDirs(join(root, 'x', 'y')), join(root, 'x'));
  assert.ok(existsSync(join(root, 'x', 'y')));
  assert.equal(await makeDirs(root), undefined);
  // A file in the way: EEXIST for the path itself, ENOTDIR on the way, as mkdir(2) says.
  writeFileSync(join(root, 'f'), '');
  assert.throws(() => makeDirsSync(join(root, 'f')), { code: 'EEXIST' });
  assert.throws(() => makeDirsSync(join(root, 'f', 'g')), { code: 'ENOTDIR' });
  await assert.rejects(makeDirs(join(root, 'f', 'g')), { code: 'ENOTDIR' });
});

test("a path under /proc is an error at once (Node's own recursive mkdir never returns there)", async () => {
  assert.throws(() => makeDirsSync('/proc/emqx-nope/log'), { code: 'ENOENT' });
  await assert.rejects(makeDirs('/proc/emqx-nope/data'), { code: 'ENOENT' });
});
