// The daemon as an operator drives it: real launchers, real processes, real Unix sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync, unlinkSync, readlinkSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { createTestNode, TEST_COOKIE } from '../helpers/launcher.js';
import { pointerDir, pointerKey, selectorEtcDir } from '../../src/ctl/pointer.js';
import { NATIVE_CTL, ROOT } from '../helpers/launcher.js';
import { readVersion } from '../../src/daemon/version.js';
import { skipOrFail } from '../helpers/prerequisite.js';

const VERSION = readVersion(ROOT);

/** Writes raw bytes to a control socket and returns everything the node sends back. */
function rawExchange(socketPath: string, bytes: Buffer, timeoutMs = 8000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = createConnection({ path: socketPath, allowHalfOpen: true });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('no reply from the control socket'));
    }, timeoutMs);
    s.on('connect', () => s.write(bytes));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => {
      clearTimeout(timer);
      s.destroy();
      resolve(Buffer.concat(chunks));
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('start, ping, ctl, start again, stop, stop again', async (t) => {
  const node = await createTestNode(t, { name: 'emqx1@127.0.0.1' });
  const started = await node.start();
  assert.equal(started.code, 0, started.stderr);
  assert.equal(started.stdout, `EMQX ${VERSION} is started successfully!\n`);
  assert.doesNotMatch(started.stderr, /Default \(insecure\)/);

  const ping = await node.emqx(['ping']);
  assert.deepEqual([ping.code, ping.stdout], [0, 'pong\n']);

  const status = await node.ctl(['status']);
  assert.equal(status.code, 0);
  assert.match(status.stdout, new RegExp(`^Node 'emqx1@127\\.0\\.0\\.1' ${VERSION.replace(/\./g, '\\.')} is started\nUptime: \\d+ seconds\n$`));
  const viaEmqx = await node.emqx(['ctl', 'status']);
  assert.equal(viaEmqx.stdout.split('\n')[0], status.stdout.split('\n')[0]);

  const help = await node.ctl([]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: emqx ctl\n-{110}\nstatus +# Show broker status\n/);
  assert.equal((await node.ctl(['help'])).stdout, help.stdout);
  const unknown = await node.ctl(['no-such-command']);
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stdout, help.stdout);

  const again = await node.start();
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^Node emqx1@127\.0\.0\.1 is already running!$/m);

  const pid = await node.emqx(['pid']);
  assert.equal(pid.code, 0);
  assert.equal(Number(pid.stdout.trim()), node.pid);
  assert.ok(alive(node.pid!));

  const sock = join(node.dataDir, 'emqx_ctl.sock');
  assert.equal(statSync(sock).mode & 0o777, 0o600);
  assert.ok(statSync(join(node.dataDir, 'mnesia', 'emqx1@127.0.0.1')).isDirectory());

  const stop = await node.stop();
  assert.deepEqual([stop.code, stop.stdout], [0, 'ok\n']);
  await node.waitExit(5000);
  assert.ok(!existsSync(sock), 'the control socket is removed on stop');

  const stop2 = await node.stop();
  assert.equal(stop2.code, 1);
  assert.equal(stop2.stdout, "Node 'emqx1@127.0.0.1' not responding to pings.\n");
  const ping2 = await node.emqx(['ping']);
  assert.deepEqual([ping2.code, ping2.stdout], [1, "Node 'emqx1@127.0.0.1' not responding to pings.\n"]);
  const ctl2 = await node.ctl(['status']);
  assert.deepEqual([ctl2.code, ctl2.stdout], [1, "Node 'emqx1@127.0.0.1' not responding to pings.\n"]);
  const log = node.logText();
  assert.match(log, /"msg":"node emqx1@127\.0\.0\.1 stopped"/);
  assert.match(log, /"command":"status","code":0,"duration_ms":\d+,"msg":"ctl command"/);
  assert.match(log, /"command":"no-such-command","code":1/);
  assert.ok(!log.includes(TEST_COOKIE), 'the cookie never appears in the log');
});

test('kill -9 leaves a stale socket that does not block the next start', async (t) => {
  const node = await createTestNode(t, { name: 'emqx2@127.0.0.1' });
  // Run as our child (foreground) so the killed process is reaped here: a detached daemon's
  // zombie may linger where PID 1 does not reap, which is not what this test is about.
  const child = node.spawnForeground('foreground');
  const firstPid = child.pid!;
  const exited = new Promise((res) => child.once('exit', res));
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const deadline = Date.now() + 15_000;
  while (!/"msg":"node emqx2@127\.0\.0\.1 started"/.test(out) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  assert.equal((await node.emqx(['ping'])).stdout, 'pong\n');
  child.kill('SIGKILL');
  await exited;
  assert.ok(existsSync(join(node.dataDir, 'emqx_ctl.sock')), 'kill -9 leaves the socket file behind');
  const ping = await node.emqx(['ping']);
  assert.equal(ping.code, 1);
  await node.startOk();
  assert.notEqual(node.pid, firstPid);
  const status = await node.ctl(['status']);
  assert.equal(status.code, 0, status.stdout + status.stderr);
  assert.match(node.logText(), /removing stale control socket/);
});

test('two nodes from one install, each addressed by its own variables', async (t) => {
  const a = await createTestNode(t, { name: 'emqx3@127.0.0.1' });
  const b = await createTestNode(t, { name: 'emqx4@127.0.0.1' });
  await Promise.all([a.startOk(), b.startOk()]);
  const [sa, sb] = await Promise.all([a.ctl(['status']), b.ctl(['status'])]);
  assert.match(sa.stdout, /^Node 'emqx3@127\.0\.0\.1'/);
  assert.match(sb.stdout, /^Node 'emqx4@127\.0\.0\.1'/);
  assert.notEqual(a.pid, b.pid);
  const stopA = await a.stop();
  assert.equal(stopA.code, 0);
  assert.equal((await b.emqx(['ping'])).stdout, 'pong\n', 'stopping one node leaves the other running');
  assert.equal((await a.emqx(['ping'])).code, 1);
});

test('a second node on the same data directory is refused', async (t) => {
  const a = await createTestNode(t, { name: 'emqx5@127.0.0.1' });
  await a.startOk();
  const b = await createTestNode(t, { name: 'emqx6@127.0.0.1', env: { EMQX_NODE__DATA_DIR: a.dataDir } });
  const r = await b.start();
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^Node emqx6@127\.0\.0\.1 cannot start: another node is running on this data directory \(.*\): emqx5@127\.0\.0\.1$/m);
  assert.equal((await a.emqx(['ping'])).stdout, 'pong\n');
});

test('bad config: start fails before forking, naming file, line and key', async (t) => {
  const node = await createTestNode(t, { name: 'emqx7@127.0.0.1', conf: 'node {\n  cookie = abc\n  bogus_key = 1\n}' });
  const r = await node.start();
  assert.equal(r.code, 1);
  assert.match(r.stderr, /emqx\.conf:4:\d+: .*bogus_key/); // line 1 is the helper's comment
  assert.ok(!existsSync(node.logDir), 'nothing was forked: not even the log directory exists');
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  const bad = await createTestNode(t, { name: 'emqx8@127.0.0.1', env: { EMQX_NODE__NAME: 'bad name@127.0.0.1' } });
  const r2 = await bad.start();
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /Invalid node name/);
});

test('a node started before its emqx.conf broke still answers ping and stops; a stopped one reports the file', async (t) => {
  const node = await createTestNode(t, { name: 'emqx27@127.0.0.1' });
  await node.startOk();
  writeFileSync(node.confFile, `${readFileSync(node.confFile, 'utf8')}\nnode {\n  bogus_key = 1\n}\n`);
  assert.equal((await node.emqx(['ping'])).stdout, 'pong\n');
  const stop = await node.stop();
  assert.deepEqual([stop.code, stop.stdout], [0, 'ok\n'], stop.stderr);
  assert.match(stop.stderr, /^ERROR: .*emqx\.conf:\d+:\d+: .*bogus_key/m);
  assert.match(stop.stderr, /the running node was stopped through its control socket/);
  await node.waitExit(5000);
  const again = await node.stop();
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^ERROR: .*bogus_key/m);
  assert.doesNotMatch(again.stderr, /stopped through its control socket/);
});

test('garbage on the control socket gets an error reply and the node keeps serving', async (t) => {
  const node = await createTestNode(t, { name: 'emqx9@127.0.0.1' });
  await node.startOk();
  const sock = join(node.dataDir, 'emqx_ctl.sock');
  const r1 = await rawExchange(sock, Buffer.from('GET / HTTP/1.1\r\n\r\n'));
  assert.equal(r1.subarray(0, 4).toString(), 'ECTR');
  assert.equal(r1[4], 2);
  assert.match(r1.subarray(5).toString(), /^Error: bad request on the control socket: /);
  // A valid header announcing a 1 GiB body.
  const huge = Buffer.from([...Buffer.from('ECTLC'), 0x40, 0, 0, 0]);
  const r2 = await rawExchange(sock, huge);
  assert.match(r2.subarray(5).toString(), /too large/);
  // Random bytes.
  const r3 = await rawExchange(sock, Buffer.from('ECTL\xff\x00\x00\x00\x00garbage', 'latin1'));
  assert.match(r3.subarray(5).toString(), /unknown request kind/);
  const status = await node.ctl(['status']);
  assert.equal(status.code, 0);
  assert.equal((await node.emqx(['ping'])).stdout, 'pong\n');
});

test('a socket path too long for a Unix socket is a clear start error', async (t) => {
  const node = await createTestNode(t, { name: 'emqx10@127.0.0.1' });
  const longDir = join(node.dir, 'x'.repeat(60), 'y'.repeat(60));
  const long = await createTestNode(t, { name: 'emqx10@127.0.0.1', dir: node.dir, env: { EMQX_NODE__DATA_DIR: longDir } });
  const r = await long.start();
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /control socket path is too long for a Unix socket \(\d+ bytes, the limit is 107\)/);
  assert.match(r.stderr, /use a shorter node\.data_dir/);
});

test('unusable data or log directory: a clear message each', async (t) => {
  const node = await createTestNode(t, { name: 'emqx11@127.0.0.1' });
  writeFileSync(join(node.dir, 'afile'), '');
  const d = await createTestNode(t, { name: 'emqx11@127.0.0.1', dir: node.dir, env: { EMQX_NODE__DATA_DIR: join(node.dir, 'afile', 'data') } });
  const r = await d.start();
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /data directory \(node\.data_dir\) .*afile\/data cannot be created: ENOTDIR/);
  const l = await createTestNode(t, { name: 'emqx11@127.0.0.1', dir: node.dir, env: { EMQX_LOG_DIR: join(node.dir, 'afile', 'log') } });
  const r2 = await l.start();
  assert.notEqual(r2.code, 0);
  assert.match(r2.stderr, /log directory \(EMQX_LOG_DIR\) .*afile\/log cannot be created: ENOTDIR/);
});

test('default cookie warns; a renamed node is told loudly; SIGHUP reloads; SIGTERM stops cleanly', async (t) => {
  const node = await createTestNode(t, { name: 'emqx12@127.0.0.1', cookie: 'emqxsecretcookie' });
  const r = await node.startOk();
  assert.match(r.stderr, /^WARNING: Default \(insecure\) Erlang cookie is in use\.$/m);
  assert.equal(r.stderr.match(/Erlang cookie is in use/g)?.length, 1, 'the warning is printed once');
  assert.match(r.stderr, /^WARNING: Configure node\.cookie in .*emqx\.conf or override from environment variable EMQX_NODE__COOKIE$/m);
  assert.match(node.logText(), /Default \(insecure\) Erlang cookie is in use\./);
  assert.ok(!node.logText().includes('emqxsecretcookie'));

  node.kill('SIGHUP');
  const deadline = Date.now() + 5000;
  while (!/reload requested/.test(node.logText()) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  assert.match(node.logText(), /reload requested/);
  assert.equal((await node.emqx(['ping'])).stdout, 'pong\n');

  const ptr = join(pointerDir(process.env), pointerKey(selectorEtcDir(ROOT, node.env), node.env));
  assert.equal(readlinkSync(ptr), join(node.dataDir, 'emqx_ctl.sock'));
  node.kill('SIGTERM');
  await node.waitExit(5000);
  assert.ok(!existsSync(join(node.dataDir, 'emqx_ctl.sock')));
  assert.ok(!existsSync(ptr), 'the pointer is removed on a graceful stop');
  assert.match(node.logText(), /"reason":"SIGTERM"/);

  // Same data directory, new name: the old database is still there and nothing for the new name.
  const renamed = await createTestNode(t, { name: 'emqx13@127.0.0.1', dir: node.dir, cookie: 'emqxsecretcookie' });
  const r2 = await renamed.startOk();
  assert.match(r2.stderr, /holds the database of 'emqx12@127\.0\.0\.1' but none for 'emqx13@127\.0\.0\.1'/);
  assert.match(r2.stderr, /starts with an EMPTY database/);
  assert.deepEqual(readdirSync(join(node.dataDir, 'mnesia')).sort(), ['emqx12@127.0.0.1', 'emqx13@127.0.0.1']);
});

test('the ctl fast path falls back to the Node.js client when the pointer is gone', async (t) => {
  const node = await createTestNode(t, { name: 'emqx14@127.0.0.1' });
  await node.startOk();
  if (!existsSync(NATIVE_CTL)) return skipOrFail(t, 'build/emqx_ctl was not built (no C compiler at build time)');
  // With no Node.js on PATH only the native client can answer: proof that the fast path is taken.
  const bin = join(node.dir, 'bin-without-node');
  mkdirSync(bin);
  symlinkSync('/usr/bin/readlink', join(bin, 'readlink'));
  const fast = await node.ctl(['status'], { env: { ...node.env, PATH: bin } });
  assert.equal(fast.code, 0, fast.stderr);
  assert.match(fast.stdout, /^Node 'emqx14@127\.0\.0\.1'/);
  assert.equal((await node.emqx(['ping'], { env: { ...node.env, PATH: bin } })).stdout, 'pong\n');
  assert.match((await node.emqx(['ctl', 'status'], { env: { ...node.env, PATH: bin } })).stdout, /^Node 'emqx14@127\.0\.0\.1'/);

  const ptr = join(pointerDir(process.env), pointerKey(selectorEtcDir(ROOT, node.env), node.env));
  unlinkSync(ptr);
  const noNode = await node.ctl(['status'], { env: { ...node.env, PATH: bin } });
  assert.match(noNode.stderr, /cannot run node/, 'without the pointer the native client hands over to Node.js');
  const status = await node.ctl(['status']);
  assert.equal(status.code, 0);
  assert.match(status.stdout, /^Node 'emqx14@127\.0\.0\.1'/);
  // A stale pointer (to a socket nobody listens on) also falls back.
  mkdirSync(join(node.dir, 'stale'), { recursive: true });
  symlinkSync(join(node.dir, 'stale', 'nothing.sock'), ptr);
  assert.equal((await node.emqx(['ping'])).stdout, 'pong\n');
  assert.equal((await node.ctl(['status'])).code, 0);
});

test('console and foreground run in the terminal and stop on SIGINT / SIGTERM', async (t) => {
  for (const mode of ['console', 'foreground'] as const) {
    const node = await createTestNode(t, { name: `emqx1${mode === 'console' ? 5 : 6}@127.0.0.1` });
    const child = node.spawnForeground(mode);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    const deadline = Date.now() + 15_000;
    while (!/started/.test(out) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    assert.match(out, /started/, `${mode} printed no start line: ${out}`);
    if (mode === 'console') assert.doesNotMatch(out.split('\n')[0]!, /^\{/, 'console logs are human-readable');
    else assert.doesNotThrow(() => JSON.parse(out.split('\n')[0]!), 'foreground logs are JSON lines');
    assert.equal((await node.emqx(['ping'])).stdout, 'pong\n');
    const twice = await node.emqx([mode]);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /is already running!/);
    child.kill(mode === 'console' ? 'SIGINT' : 'SIGTERM');
    const code = await Promise.race([exited, new Promise((res) => setTimeout(() => res('timeout'), 10_000).unref())]);
    assert.equal(code, 0);
    assert.equal((await node.emqx(['ping'])).code, 1);
  }
});

test('a busy distribution port is a clear start error', async (t) => {
  const node = await createTestNode(t, { name: 'emqx17@127.0.0.1' });
  const blocker = createServer();
  await new Promise<void>((res) => blocker.listen({ port: node.distPort, host: '127.0.0.1' }, res));
  t.after(() => blocker.close());
  const r = await node.start();
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`port ${node.distPort} is in use`));
  assert.match(r.stderr, /See the log: .*emqx\.log/);
  assert.equal((await node.emqx(['ping'])).code, 1, 'nothing left running');
  assert.ok(!existsSync(join(node.dataDir, 'emqx_ctl.sock')), 'the parts that had started were stopped');
  assert.ok(!existsSync(join(pointerDir(process.env), pointerKey(selectorEtcDir(ROOT, node.env), node.env))));
  blocker.close();
  await node.startOk();
});

test("a stale pointer that leads to another node's socket is not followed", async (t) => {
  const a = await createTestNode(t, { name: 'emqx18@127.0.0.1' });
  await a.startOk();
  // b is not running; its pointer (as left by a killed b) now leads to a's socket.
  const b = await createTestNode(t, { name: 'emqx19@127.0.0.1' });
  const ptr = join(pointerDir(process.env), pointerKey(selectorEtcDir(ROOT, b.env), b.env));
  symlinkSync(join(a.dataDir, 'emqx_ctl.sock'), ptr);
  t.after(() => {
    try {
      unlinkSync(ptr);
    } catch {
      /* removed */
    }
  });
  for (const r of [await b.ctl(['status']), await b.emqx(['ctl', 'status']), await b.emqx(['ping']), await b.emqx(['pid'])]) {
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "Node 'emqx19@127.0.0.1' not responding to pings.\n");
  }
  assert.match((await a.ctl(['status'])).stdout, /^Node 'emqx18@127\.0\.0\.1'/);
});

test('two nodes whose name and data dir come from other variables never get each other\'s answers', async (t) => {
  const conf = 'node { name = ${MY_NAME}, data_dir = ${MY_DIR} }';
  const a = await createTestNode(t, { name: 'emqx23@127.0.0.1', conf });
  const mk = (n: string, dir: string): NodeJS.ProcessEnv => ({ EMQX_NODE__NAME: undefined, EMQX_NODE__DATA_DIR: undefined, EMQX_ETC_DIR: a.etcDir, MY_NAME: n, MY_DIR: dir });
  const a2 = await createTestNode(t, { name: 'emqx23@127.0.0.1', dir: a.dir, distBasePort: a.distBasePort, env: mk('emqx23@127.0.0.1', join(a.dir, 'd23')) });
  const b = await createTestNode(t, { name: 'emqx24@127.0.0.1', distBasePort: a.distBasePort, env: mk('emqx24@127.0.0.1', join(a.dir, 'd24')) });
  const shared = join(pointerDir(process.env), pointerKey(selectorEtcDir(ROOT, b.env), b.env));
  // The ambiguity marker outlives both nodes by design; this test's sandbox goes, so does it.
  t.after(() => {
    try {
      unlinkSync(shared);
    } catch {
      /* gone */
    }
  });
  await a2.startOk();
  await b.startOk();
  assert.match(b.logText(), /another running node was started with the same EMQX_ETC_DIR/);
  for (let i = 0; i < 2; i++) {
    assert.match((await a2.ctl(['status'])).stdout, /^Node 'emqx23@127\.0\.0\.1'/);
    assert.match((await b.ctl(['status'])).stdout, /^Node 'emqx24@127\.0\.0\.1'/);
  }
  assert.equal((await a2.stop()).stdout, 'ok\n');
  assert.equal((await a2.emqx(['ping'])).stdout, "Node 'emqx23@127.0.0.1' not responding to pings.\n");
  assert.equal((await b.emqx(['ping'])).stdout, 'pong\n');
});
