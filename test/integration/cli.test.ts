// The command line's own verbs, through the real launchers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN_EMQX, ROOT, cleanEnv, createTestNode, run } from '../helpers/launcher.js';
import { readVersion } from '../../src/daemon/version.js';

const VERSION = readVersion(ROOT);

test('help, versions, and an unknown command', async () => {
  const help = await run(BIN_EMQX, ['help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: emqx COMMAND/);
  for (const verb of ['start', 'stop', 'restart', 'console', 'foreground', 'ping', 'pid', 'ctl', 'check_config', 'hocon', 'versions']) {
    assert.match(help.stdout, new RegExp(`^  ${verb}: `, 'm'), verb);
  }
  const versions = await run(BIN_EMQX, ['versions']);
  assert.deepEqual([versions.code, versions.stdout], [0, `Installed versions:\n* ${VERSION}\tpermanent\n`]);
  const bad = await run(BIN_EMQX, ['frobnicate']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^Unknown command: frobnicate$/m);
  assert.equal(bad.stdout, help.stdout);
});

test('check_config and hocon are dispatched', async (t) => {
  const node = await createTestNode(t, { name: 'emqx21@127.0.0.1' });
  const ok = await node.emqx(['check_config']);
  assert.equal(ok.code, 0, ok.stderr);
  node.writeConf('node { cookie = x\n  nope = 1 }\n');
  const bad = await node.emqx(['check_config']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /emqx\.conf:2:\d+: .*nope/);
  const file = join(node.dir, 'some.conf');
  writeFileSync(file, 'a { b = 1, c = [x, "y"] }\na.d = ${a.b}\n');
  const hocon = await node.emqx(['hocon', file]);
  assert.equal(hocon.code, 0, hocon.stderr);
  assert.deepEqual(JSON.parse(hocon.stdout), { a: { b: 1, c: ['x', 'y'], d: 1 } });
});

test('restart replaces the running daemon; restart of a stopped node starts it', async (t) => {
  const node = await createTestNode(t, { name: 'emqx22@127.0.0.1' });
  await node.startOk();
  const before = node.pid;
  const r = await node.emqx(['restart']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `EMQX ${VERSION} is started successfully!\n`);
  const pid = Number((await node.emqx(['pid'])).stdout.trim());
  assert.notEqual(pid, before);
  assert.ok(pid > 0);
  // The helper cleans up by the PIDs it knows: make sure it knows this one.
  t.after(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* stopped already */
    }
  });
  assert.equal((await node.stop()).code, 0);
  const r2 = await node.emqx(['restart']);
  assert.equal(r2.code, 0, r2.stderr);
  const pid2 = Number((await node.emqx(['pid'])).stdout.trim());
  t.after(() => {
    try {
      process.kill(pid2, 'SIGKILL');
    } catch {
      /* stopped already */
    }
  });
  assert.equal((await node.stop()).stdout, 'ok\n');
});

test('launchers work through a symlink and say what to do when the build is missing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'emqx-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  symlinkSync(BIN_EMQX, join(dir, 'emqx'));
  const viaLink = await run(join(dir, 'emqx'), ['versions']);
  assert.equal(viaLink.stdout, `Installed versions:\n* ${VERSION}\tpermanent\n`);
  // An install without build/: copy the launchers only.
  const bare = join(dir, 'install');
  mkdirSync(join(bare, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'bin'), join(bare, 'bin'), { recursive: true });
  const r = await run(join(bare, 'bin', 'emqx'), ['start'], { env: cleanEnv() });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /build\/cli\/main\.js is missing: run 'npm ci' \(or 'npm run build'\)/);
  const c = await run(join(bare, 'bin', 'emqx_ctl'), ['status'], { env: cleanEnv() });
  assert.equal(c.code, 1);
  assert.match(c.stderr, /run 'npm ci' \(or 'npm run build'\)/);
});
