// Links between real node processes on loopback: full mesh over every transport, and how a
// killed, silent or briefly stalled peer is seen.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCa, makeNodeCert } from '../helpers/certs.js';
import { randomBasePort } from '../link/fixtures.js';
import { DistProcess } from '../link/node-process.js';

const base = randomBasePort();

async function spawnNodes(t: TestContext, names: readonly string[], extra: (name: string) => Promise<string[]> | string[]): Promise<DistProcess[]> {
  const procs: DistProcess[] = [];
  t.after(async () => {
    for (const p of procs) p.kill();
    await Promise.all(procs.map((p) => p.exit));
  });
  await Promise.all(names.map(async (n) => {
    procs.push(await DistProcess.start(n, ['--base', String(base), ...(await extra(n))]));
  }));
  return names.map((n) => procs.find((p) => p.name === n)!);
}

async function meshOf(t: TestContext, names: readonly string[], extra: (name: string) => Promise<string[]> | string[], transport: string): Promise<void> {
  const [x, y, z] = await spawnNodes(t, names, extra);
  await x!.cmd('connect', { node: y!.name });
  await z!.cmd('connect', { node: y!.name });
  // Gossip links x and z.
  for (const p of [x!, y!, z!]) {
    const others = names.filter((n) => n !== p.name);
    for (const o of others) await p.waitFor((e) => e.event === 'nodeup' && e.node === o, 5000);
    assert.deepEqual(await p.cmd('nodes'), [...others].sort());
  }
  assert.equal(await x!.cmd('call', { node: z!.name, payload: 'hi' }), 'hi');
  const info = await z!.cmd<{ transport: string }>('info', { node: x!.name });
  assert.equal(info.transport, transport);
}

async function tlsArgs(t: TestContext): Promise<(name: string) => Promise<string[]>> {
  const dir = await mkdtemp(join(tmpdir(), 'dist-int-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const ca = await makeCa(join(dir, 'ca'));
  return async (name) => {
    const c = await makeNodeCert(ca, join(dir, 'certs'), name);
    return ['--proto', name.includes('::') ? 'inet6_tls' : 'inet_tls', '--cert', c.certFile, '--key', c.keyFile, '--ca', ca.certFile];
  };
}

test('three processes form a full mesh over inet_tcp', (t) =>
  meshOf(t, ['m1@127.0.0.2', 'm2@127.0.0.3', 'm3@127.0.0.4'], () => [], 'tcp'));

test('three processes form a full mesh over inet_tls', async (t) =>
  meshOf(t, ['m11@127.0.0.2', 'm12@127.0.0.3', 'm13@127.0.0.4'], await tlsArgs(t), 'tls'));

test('three processes form a full mesh over inet6_tcp on ::1', (t) =>
  meshOf(t, ['s21@::1', 's22@::1', 's23@::1'], () => ['--proto', 'inet6_tcp'], 'tcp6'));

test('three processes form a full mesh over inet6_tls on ::1', async (t) =>
  meshOf(t, ['s31@::1', 's32@::1', 's33@::1'], await tlsArgs(t), 'tls6'));

test('a killed peer is down at once, a silent one within 5 s, a 2 s stall never', async (t) => {
  const [a, k, s, p] = await spawnNodes(t, ['a41@127.0.0.2', 'k42@127.0.0.3', 's43@127.0.0.4', 'p44@127.0.0.5'], () => ['--no-gossip']);
  for (const o of [k!, s!, p!]) await a!.cmd('connect', { node: o.name });

  const killedAt = Date.now();
  k!.signal('SIGKILL');
  const kd = await a!.waitFor((e) => e.event === 'nodedown' && e.node === k!.name, 2000);
  assert.equal(kd.reason, 'connection_closed');
  const killTook = kd.at! - killedAt;
  assert.ok(killTook < 500, `killed peer seen down after ${killTook} ms`);

  // The stall and the silence run at the same time, to keep the test short.
  const from = a!.events.length;
  const stoppedAt = Date.now();
  s!.signal('SIGSTOP');
  p!.signal('SIGSTOP');
  t.after(() => {
    s!.signal('SIGCONT');
    p!.signal('SIGCONT');
  });
  await new Promise((r) => setTimeout(r, 2000));
  p!.signal('SIGCONT');
  const sd = await a!.waitFor((e) => e.event === 'nodedown' && e.node === s!.name, 6000, from);
  const silentTook = sd.at! - stoppedAt;
  s!.signal('SIGCONT');
  assert.equal(sd.reason, 'heartbeat_timeout');
  assert.ok(silentTook >= 2500 && silentTook <= 5000, `silent peer seen down after ${silentTook} ms`);
  t.diagnostic(`killed: down after ${killTook} ms; silent: down after ${silentTook} ms`);
  // Let the resumed staller run a full ticktime: neither side may see the other go down.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(a!.events.slice(from).some((e) => e.event === 'nodedown' && e.node === p!.name), false, 'stalled peer never down on a');
  assert.equal(p!.events.some((e) => e.event === 'nodedown'), false, 'stalled peer saw no nodedown');
  assert.equal(await a!.cmd('call', { node: p!.name, payload: 1 }), 1);
});

test('simultaneous dials between two processes yield one link', async (t) => {
  for (let i = 0; i < 3; i++) {
    const [x, y] = await spawnNodes(t, [`x${50 + i}@127.0.0.2`, `y${60 + i}@127.0.0.3`], () => []);
    await Promise.all([x!.cmd('connect', { node: y!.name }), y!.cmd('connect', { node: x!.name })]);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(x!.events.filter((e) => e.event === 'nodeup').length, 1);
    assert.equal(y!.events.filter((e) => e.event === 'nodeup').length, 1);
    const dx = await x!.cmd<{ direction: string }>('info', { node: y!.name });
    const dy = await y!.cmd<{ direction: string }>('info', { node: x!.name });
    assert.notEqual(dx.direction, dy.direction);
    x!.kill();
    y!.kill();
  }
});
