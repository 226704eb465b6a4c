import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, chmodSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AMBIGUOUS_TARGET, claimPointer, fnv1a64, pointerDir, pointerKey, pointerKeyInput, removePointer, selectorEtcDir, writePointer } from '../../src/ctl/pointer.js';
import { skipOrFail } from '../helpers/prerequisite.js';

test('FNV-1a 64 matches the published test vectors', () => {
  assert.equal(fnv1a64(Buffer.from('')), 'cbf29ce484222325');
  assert.equal(fnv1a64(Buffer.from('a')), 'af63dc4c8601ec8c');
  assert.equal(fnv1a64(Buffer.from('foobar')), '85944171f73967e8');
});

test('the key depends on the etc dir and each selecting variable, not on other variables', () => {
  const base = pointerKey('/opt/emqx/etc', {});
  assert.notEqual(pointerKey('/opt/emqx2/etc', {}), base);
  assert.notEqual(pointerKey('/opt/emqx/etc', { EMQX_NODE__NAME: 'a@127.0.0.1' }), base);
  assert.notEqual(pointerKey('/opt/emqx/etc', { EMQX_NODE_NAME: 'a@127.0.0.1' }), pointerKey('/opt/emqx/etc', { EMQX_NODE__NAME: 'a@127.0.0.1' }));
  assert.notEqual(pointerKey('/opt/emqx/etc', { EMQX_NODE__DATA_DIR: '/d' }), base);
  assert.equal(pointerKey('/opt/emqx/etc', { EMQX_NODE__COOKIE: 'x', PATH: '/bin' }), base);
  assert.equal(pointerKeyInput('/e', { EMQX_NODE__NAME: 'n' }), '/e\0n\0\0');
});

test('etc dir: EMQX_ETC_DIR relative to the root, symlinks resolved', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ptr-'));
  try {
    mkdirSync(join(dir, 'real'));
    symlinkSync(join(dir, 'real'), join(dir, 'link'));
    assert.equal(selectorEtcDir(dir, { EMQX_ETC_DIR: 'link' }), join(dir, 'real'));
    assert.equal(selectorEtcDir(dir, { EMQX_ETC_DIR: join(dir, 'link') }), join(dir, 'real'));
    assert.equal(selectorEtcDir(dir, {}), join(dir, 'etc'), 'a missing dir is used as is');
    assert.equal(pointerDir({ XDG_RUNTIME_DIR: '/run/user/7' }, 7), '/run/user/7/emqx-ctl-7');
    assert.equal(pointerDir({}, 0), '/tmp/emqx-ctl-0');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('write, replace and remove a pointer; a non-private directory is refused', () => {
  const base = mkdtempSync(join(tmpdir(), 'ptr-'));
  try {
    const dir = join(base, 'emqx-ctl-x');
    assert.equal(writePointer(dir, 'k', '/a.sock'), undefined);
    assert.equal(lstatSync(dir).mode & 0o777, 0o700);
    assert.equal(readlinkSync(join(dir, 'k')), '/a.sock');
    assert.equal(writePointer(dir, 'k', '/b.sock'), undefined);
    assert.equal(readlinkSync(join(dir, 'k')), '/b.sock');
    removePointer(dir, 'k', '/a.sock');
    assert.ok(existsSync(join(dir, 'k')) || lstatSync(join(dir, 'k')).isSymbolicLink(), 'another node’s pointer is left alone');
    removePointer(dir, 'k', '/b.sock');
    assert.throws(() => lstatSync(join(dir, 'k')));
    // Pointers to sockets that are gone are pruned when a node writes its own.
    symlinkSync(join(base, 'gone.sock'), join(dir, '0123456789abcdef'));
    writeFileSync(join(base, 'here.sock'), '');
    symlinkSync(join(base, 'here.sock'), join(dir, 'fedcba9876543210'));
    assert.equal(writePointer(dir, 'k2', '/c.sock'), undefined);
    assert.throws(() => lstatSync(join(dir, '0123456789abcdef')));
    assert.ok(lstatSync(join(dir, 'fedcba9876543210')).isSymbolicLink());
    chmodSync(dir, 0o755);
    assert.match(String(writePointer(dir, 'k', '/a.sock')?.message), /not a private directory/);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('the native client derives the same pointer path (C and TypeScript agree)', (t) => {
  const root = join(import.meta.dirname, '..', '..');
  const work = mkdtempSync(join(tmpdir(), 'ptr-c-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  // Built here from source so the test does not depend on `npm run build`.
  mkdirSync(join(work, 'build'));
  const bin = join(work, 'build', 'emqx_ctl');
  const cc = spawnSync(process.env.CC ?? 'cc', ['-O2', '-o', bin, join(root, 'native', 'emqx_ctl.c')], { encoding: 'utf8' });
  if ((cc.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return skipOrFail(t, `no C compiler (${process.env.CC ?? 'cc'})`);
  assert.equal(cc.status, 0, `native/emqx_ctl.c does not compile: ${cc.stderr}`);
  mkdirSync(join(work, 'etc'));
  mkdirSync(join(work, 'etc2'));
  const cases: NodeJS.ProcessEnv[] = [
    {},
    { EMQX_ETC_DIR: 'etc2' },
    { EMQX_ETC_DIR: join(work, 'etc2'), EMQX_NODE__NAME: 'emqx1@127.0.0.1', EMQX_NODE__DATA_DIR: '/srv/d' },
    { EMQX_NODE_NAME: 'ünï@127.0.0.1', XDG_RUNTIME_DIR: work },
  ];
  for (const extra of cases) {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...extra };
    const res = spawnSync(bin, ['--emqx-where'], { env, encoding: 'utf8' });
    const expected = join(pointerDir(env), pointerKey(selectorEtcDir(work, env), env));
    assert.equal(res.stdout.split(' ')[0]!.trim(), expected, JSON.stringify(extra));
  }
});

test('claiming a key held by another live node marks it ambiguous; a dead holder is simply replaced', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'ptr-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const dir = join(base, 'p');
  const live = new Set(['/live.sock']);
  const isLive = (s: string): Promise<boolean> => Promise.resolve(live.has(s));
  assert.deepEqual(await claimPointer(dir, 'k', '/live.sock', isLive), { ambiguous: false });
  assert.deepEqual(await claimPointer(dir, 'k', '/other.sock', isLive), { ambiguous: true });
  assert.equal(readlinkSync(join(dir, 'k')), AMBIGUOUS_TARGET);
  // Stays ambiguous for a third claimant, whoever is alive.
  assert.deepEqual(await claimPointer(dir, 'k', '/third.sock', isLive), { ambiguous: true });
  assert.deepEqual(await claimPointer(dir, 'j', '/dead.sock', isLive), { ambiguous: false });
  assert.deepEqual(await claimPointer(dir, 'j', '/new.sock', isLive), { ambiguous: false });
  assert.equal(readlinkSync(join(dir, 'j')), '/new.sock');
});
