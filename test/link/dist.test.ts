// The link layer against live listeners on loopback, several nodes in one process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { LinkError, type LinkInfo, type NodeDownReason } from '../../src/link/index.js';
import { encodeFrame } from '../../src/link/framing.js';
import { Kind } from '../../src/link/protocol.js';
import { distPort } from '../../src/node/name.js';
import { randomBasePort, rawLink, sendRaw, startNode, until, waitEvent } from './fixtures.js';
import { Partition, partitionUnavailable } from '../helpers/partition.js';
import { skipOrFail } from '../helpers/prerequisite.js';

const base = randomBasePort();
const A = 'a1@127.0.41.1';
const B = 'b2@127.0.41.2';
const C = 'c3@127.0.41.3';

test('two nodes link and exchange structured payloads', async (t) => {
  const a = await startNode(t, A, { basePort: base });
  const b = await startNode(t, B, { basePort: base });
  b.handle('echo', (from, p) => ({ from, p }));
  b.handle('fail', () => {
    throw new Error('no such table');
  });
  const got: unknown[] = [];
  b.handle('sink', (_from, p) => void got.push(p));
  const up = waitEvent<[string, LinkInfo]>(b, 'nodeup');
  await a.connect(B);
  const [node, info] = await up;
  assert.equal(node, A);
  assert.equal(info.direction, 'in');
  assert.equal(info.transport, 'tcp');
  assert.match(info.address, /^127\.0\.41\.1:\d+$/);
  assert.deepEqual(a.nodes(), [B]);
  assert.equal(a.linkInfo(B)?.address, `127.0.41.2:${distPort(B, base)}`);

  const payload = { buf: Buffer.from([0, 1, 255]), map: new Map([['k', 1n]]), s: 'é' };
  const reply = (await a.call(B, 'echo', payload)) as { from: string; p: typeof payload };
  assert.equal(reply.from, A);
  assert.deepEqual(Buffer.from(reply.p.buf), payload.buf);
  assert.equal(reply.p.map.get('k'), 1n);
  await assert.rejects(a.call(B, 'fail', null), /no such table/);
  await assert.rejects(a.call(B, 'nobody', null), /no handler for channel nobody/);
  // Handlers answer at once or later; both ways reply and fail alike.
  b.handle('later', async (_from, p) => p);
  b.handle('laterFail', async () => Promise.reject(new Error('disk full')));
  assert.equal(await a.call(B, 'later', 'x'), 'x');
  await assert.rejects(a.call(B, 'laterFail', null), /disk full/);
  b.handle('slow', () => new Promise(() => undefined));
  await assert.rejects(a.call(B, 'slow', null, 100), /timeout/);
  // Calls in flight with different timeouts each fail at their own deadline, whatever the order.
  const t0 = performance.now();
  const late = a.call(B, 'slow', null, 600).catch((e: Error) => [e.message, performance.now() - t0] as const);
  const early = a.call(B, 'slow', null, 150).catch((e: Error) => [e.message, performance.now() - t0] as const);
  const answered = a.call(B, 'later', 'y', 400);
  const [[earlyMsg, earlyAt], [lateMsg, lateAt]] = (await Promise.all([early, late])) as [readonly [string, number], readonly [string, number]];
  assert.match(earlyMsg, /within 150 ms/);
  assert.match(lateMsg, /within 600 ms/);
  assert.ok(earlyAt >= 145 && earlyAt < 450, `the 150 ms call failed after ${earlyAt} ms`);
  assert.ok(lateAt >= 595, `the 600 ms call failed after ${lateAt} ms`);
  assert.equal(await answered, 'y', 'an answered call is not failed by the timer');

  assert.equal(a.send(B, 'sink', 1), true);
  a.broadcast('sink', 2);
  await until(() => got.length === 2, 2000, 'two messages');
  assert.deepEqual(got, [1, 2]);
  assert.equal(a.send(C, 'sink', 3), false, 'no link, no send');
  await assert.rejects(a.call(C, 'echo', 1), /nodedown/);
});

test('a busy port is a clear start error', async (t) => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(distPort('x7@127.0.41.7', base), '127.0.41.7', r));
  t.after(() => blocker.close());
  await assert.rejects(startNode(t, 'x7@127.0.41.7', { basePort: base }), { message: `port ${distPort('x7@h', base)} is in use` });
});

test('gossip completes the mesh; with meshGossip off it does not', async (t) => {
  const a = await startNode(t, 'a11@127.0.41.11', { basePort: base });
  const b = await startNode(t, 'b12@127.0.41.12', { basePort: base });
  const c = await startNode(t, 'c13@127.0.41.13', { basePort: base });
  await a.connect(b.self);
  await c.connect(b.self);
  await until(() => a.isUp(c.self) && c.isUp(a.self), 3000, 'a–c link by gossip');

  const d = await startNode(t, 'd14@127.0.41.14', { basePort: base, meshGossip: false });
  const e = await startNode(t, 'e15@127.0.41.15', { basePort: base, meshGossip: false });
  const f = await startNode(t, 'f16@127.0.41.16', { basePort: base, meshGossip: false });
  await d.connect(e.self);
  await f.connect(e.self);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(d.isUp(f.self), false);
});

test('simultaneous dials leave exactly one link per pair', async (t) => {
  for (let i = 0; i < 5; i++) {
    const x = await startNode(t, `x${20 + i}@127.0.41.${20 + i}`, { basePort: base });
    const y = await startNode(t, `y${30 + i}@127.0.41.${30 + i}`, { basePort: base });
    const ups: string[] = [];
    x.on('nodeup', (n) => ups.push(`x:${n}`));
    y.on('nodeup', (n) => ups.push(`y:${n}`));
    await Promise.all([x.connect(y.self), y.connect(x.self)]);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(ups.sort(), [`x:${y.self}`, `y:${x.self}`], 'one nodeup on each side');
    const dx = x.linkInfo(y.self)!.direction;
    const dy = y.linkInfo(x.self)!.direction;
    assert.notEqual(dx, dy, 'both sides hold the same connection');
    assert.equal(await (y.handle('e', (_f, p) => p), x.call(y.self, 'e', i)), i);
    await Promise.all([x.stop(), y.stop()]);
  }
});

test('setPeers reconnects after the peer restarts; disconnect tells the peer', async (t) => {
  const a = await startNode(t, 'a40@127.0.41.40', { basePort: base, reconnectMinMs: 50, reconnectMaxMs: 200 });
  let b = await startNode(t, 'b41@127.0.41.41', { basePort: base });
  a.setPeers([b.self]);
  // Both ends: a link that b has not finished setting up yet ends without a word to a.
  await until(() => a.isUp(b.self) && b.isUp(a.self), 3000, 'link from setPeers');
  const down = waitEvent(a, 'nodedown');
  await b.stop();
  assert.deepEqual(await down, [b.self, 'stopped']);
  const up = waitEvent(a, 'nodeup');
  b = await startNode(t, 'b41@127.0.41.41', { basePort: base });
  await up;
  a.setPeers([]);
  const gone = waitEvent(b, 'nodedown');
  a.disconnect(b.self);
  assert.deepEqual(await gone, [a.self, 'disconnect']);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(a.isUp(b.self), false, 'no reconnect once not a peer');
});

test('a silent peer is down after the ticktime; a live one stays up', async (t) => {
  const a = await startNode(t, 'a50@127.0.41.50', { basePort: base, netTicktimeMs: 800 });
  const b = await startNode(t, 'b51@127.0.41.51', { basePort: base, netTicktimeMs: 800 });
  await b.connect(a.self);
  const raw = await rawLink(a.self, base, 'r52@127.0.41.52');
  t.after(() => raw.destroy());
  const started = Date.now();
  const [node, reason] = await waitEvent<[string, NodeDownReason]>(a, 'nodedown', (n) => n === 'r52@127.0.41.52', 3000);
  const took = Date.now() - started;
  assert.equal(node, 'r52@127.0.41.52');
  assert.equal(reason, 'heartbeat_timeout');
  assert.ok(took >= 700 && took < 1400, `declared down after ${took} ms`);
  assert.ok(a.isUp(b.self), 'the ticking peer is still up');
});

test('a frame over the limit drops that link only; oversized sends are refused locally', async (t) => {
  const a = await startNode(t, 'a60@127.0.41.60', { basePort: base, maxFrameBytes: 1024 * 1024 });
  const b = await startNode(t, 'b61@127.0.41.61', { basePort: base });
  b.handle('e', (_f, p) => p);
  a.handle('e', (_f, p) => p);
  await b.connect(a.self);
  const raw = await rawLink(a.self, base, 'r62@127.0.41.62');
  t.after(() => raw.destroy());
  await waitEvent(a, 'nodeup', (n) => n === 'r62@127.0.41.62').catch(() => undefined);
  const down = waitEvent<[string, NodeDownReason]>(a, 'nodedown', (n) => n === 'r62@127.0.41.62');
  const h = Buffer.alloc(5);
  h.writeUInt32BE(1024 * 1024 + 1, 0);
  h[4] = Kind.Send;
  raw.write(h);
  assert.equal((await down)[1], 'protocol_error');
  assert.equal(await b.call(a.self, 'e', 'still here'), 'still here');
  assert.equal(a.send(b.self, 'e', Buffer.alloc(2 * 1024 * 1024)), false);
  await assert.rejects(a.call(b.self, 'e', Buffer.alloc(2 * 1024 * 1024)), /exceeds the frame limit/);
  assert.equal(await a.call(b.self, 'e', 'ok'), 'ok');
});

test('bad peers are refused with their reason and the node keeps serving', async (t) => {
  const a = await startNode(t, 'a70@127.0.41.70', { basePort: base, handshakeTimeoutMs: 1500 });
  const b = await startNode(t, 'b71@127.0.41.71', { basePort: base });
  a.handle('e', (_f, p) => p);
  await b.connect(a.self);
  const stillServes = async (): Promise<void> => assert.equal(await b.call(a.self, 'e', 'ok'), 'ok');
  const refusals: [string | undefined, string][] = [];
  a.on('refused', (n, r) => refusals.push([n, r]));

  await t.test('wrong cookie', async (t) => {
    const m = await startNode(t, 'm72@127.0.41.72', { basePort: base, cookie: 'wrong' });
    const mine = waitEvent(m, 'refused');
    await assert.rejects(m.connect(a.self), (e: unknown) => e instanceof LinkError && e.code === 'authentication_failed' && e.node === a.self);
    assert.equal((await mine)[1], 'authentication_failed');
    assert.deepEqual(refusals.at(-1), ['m72@127.0.41.72', 'authentication_failed']);
    await stillServes();
  });

  await t.test('another cluster', async (t) => {
    const m = await startNode(t, 'm73@127.0.41.73', { basePort: base, clusterName: 'other' });
    await assert.rejects(m.connect(a.self), (e: unknown) => e instanceof LinkError && e.code === 'cluster_mismatch');
    assert.deepEqual(refusals.at(-1), ['m73@127.0.41.73', 'cluster_mismatch']);
    await stillServes();
  });

  await t.test('a name the peer does not own (inbound)', async () => {
    // Dials from 127.0.41.74 while claiming a host of 127.0.41.99.
    await assert.rejects(rawLink(a.self, base, 'liar@127.0.41.99', { localAddress: '127.0.41.74' }), (e: unknown) =>
      e instanceof Error && 'reason' in e && e.reason === 'name_mismatch');
    assert.deepEqual(refusals.at(-1), ['liar@127.0.41.99', 'name_mismatch']);
    await stillServes();
  });

  await t.test('the name is checked only after the cookie: a stranger cannot make us resolve names', async () => {
    // 'localhost' resolves (from /etc/hosts) to 127.0.0.1, not the 127.0.41.77 it dials from:
    // checked first, this would be name_mismatch.
    await assert.rejects(rawLink(a.self, base, 'stranger@localhost', { localAddress: '127.0.41.77', cookie: 'wrong' }), (e: unknown) =>
      e instanceof Error && 'reason' in e && e.reason === 'authentication_failed');
    assert.deepEqual(refusals.at(-1), ['stranger@localhost', 'authentication_failed']);
    await stillServes();
  });

  await t.test('a peer that is not the node we dialed (outbound)', async (t) => {
    // z70 maps to a70's port and address, but a70 answers.
    const m = await startNode(t, 'm75@127.0.41.75', { basePort: base });
    await assert.rejects(m.connect('z70@127.0.41.70'), (e: unknown) => e instanceof LinkError && e.code === 'name_mismatch');
    await stillServes();
  });

  await t.test('one byte per second is dropped at the handshake deadline', async () => {
    const port = distPort(a.self, base);
    const { connect } = await import('node:net');
    const s = connect({ host: '127.0.41.70', port, localAddress: '127.0.41.76' });
    s.on('error', () => undefined);
    const started = Date.now();
    const timer = setInterval(() => s.write(Buffer.from([0])), 1000);
    try {
      const closed = new Promise<void>((r) => s.on('close', () => r()));
      const refused = waitEvent(a, 'refused', (_n, r) => r === 'timeout', 4000);
      await refused;
      await closed;
      const took = Date.now() - started;
      assert.ok(took >= 1400 && took < 3000, `dropped after ${took} ms`);
    } finally {
      clearInterval(timer);
      s.destroy();
    }
    await stillServes();
  });

  await t.test('a connection that says nothing is dropped at the deadline', async () => {
    const { connect } = await import('node:net');
    const s = connect({ host: '127.0.41.70', port: distPort(a.self, base), localAddress: '127.0.41.79' });
    s.on('error', () => undefined);
    try {
      const closed = new Promise<void>((r) => s.on('close', () => r()));
      await waitEvent(a, 'refused', (_n, r) => r === 'timeout', 4000);
      await closed;
    } finally {
      s.destroy();
    }
    await stillServes();
  });

  await t.test('an oversized frame before authentication', async () => {
    const h = Buffer.alloc(8);
    h.writeUInt32BE(513, 0);
    const refused = waitEvent(a, 'refused', (_n, r) => r === 'protocol_mismatch');
    const answer = await sendRaw('127.0.41.70', distPort(a.self, base), h, '127.0.41.77');
    await refused;
    assert.match(answer.toString('latin1'), /protocol_mismatch/);
    await stillServes();
  });

  await t.test('a wrong protocol version is named', async (t) => {
    const hello = { proto: 'emqx-ts-dist', version: 99, from: 'v78@127.0.41.78', to: a.self, cluster: 'testcl', nonce: 'a'.repeat(64), instance: 'x' };
    const answer = await sendRaw('127.0.41.70', distPort(a.self, base), encodeFrame(Kind.Hello, Buffer.from(JSON.stringify(hello))), '127.0.41.78');
    assert.match(answer.toString('latin1'), /"reason":"protocol_mismatch".*version 99/);
    t.diagnostic(answer.subarray(5).toString());
    await stillServes();
  });
});

test('a peer that does not drain: send() returns false, call() rejects, then the link is dropped', async (t) => {
  const a = await startNode(t, 'a80@127.0.41.80', { basePort: base, netTicktimeMs: 800, maxQueueBytes: 256 * 1024 });
  const raw = await rawLink(a.self, base, 'r81@127.0.41.81');
  t.after(() => raw.destroy());
  // The raw peer keeps ticking (so it is alive) but never reads.
  raw.pause();
  const ticker = setInterval(() => raw.write(encodeFrame(Kind.Tick, Buffer.alloc(0))), 100);
  t.after(() => clearInterval(ticker));
  await until(() => a.isUp('r81@127.0.41.81'), 2000, 'raw link up');
  const down = waitEvent<[string, NodeDownReason]>(a, 'nodedown', (n) => n === 'r81@127.0.41.81', 8000);
  const chunk = Buffer.alloc(256 * 1024);
  let refusedAt = -1;
  for (let i = 0; i < 400 && refusedAt < 0; i++) {
    if (!a.send('r81@127.0.41.81', 'x', chunk)) refusedAt = i;
    await new Promise((r) => setImmediate(r));
  }
  assert.ok(refusedAt >= 0, 'send() reported the full queue');
  assert.ok((a.droppedSends?.()['r81@127.0.41.81'] ?? 0) >= 1, 'the refused send was counted');
  await assert.rejects(a.call('r81@127.0.41.81', 'x', 1), /overload/);
  assert.equal((await down)[1], 'overload');
});

test('dial failures: nobody listening is unreachable, a mute listener is a timeout', async (t) => {
  const a = await startNode(t, 'a90@127.0.41.90', { basePort: base });
  await assert.rejects(a.connect('n91@127.0.41.91'), (e: unknown) => e instanceof LinkError && e.code === 'unreachable');
  const mute = createServer(() => undefined);
  await new Promise<void>((r) => mute.listen(distPort('n92@127.0.41.92', base), '127.0.41.92', r));
  t.after(() => {
    mute.close();
  });
  const started = Date.now();
  await assert.rejects(a.connect('n92@127.0.41.92', { timeoutMs: 400 }), (e: unknown) => e instanceof LinkError && e.code === 'timeout');
  assert.ok(Date.now() - started < 2000);
});

test('an FQDN node name (localhost) listens on its resolved address and passes the name check', async (t) => {
  const a = await startNode(t, 'l93@localhost', { basePort: base });
  const b = await startNode(t, 'l94@localhost', { basePort: base });
  b.handle('e', (_f, p) => p);
  await a.connect(b.self);
  assert.equal(await a.call(b.self, 'e', 'fqdn'), 'fqdn');
  assert.equal(a.linkInfo(b.self)?.address, `127.0.0.1:${distPort(b.self, base)}`);
});

test('a dial still connecting does not win a simultaneous dial: the peer is not left waiting for it', async (t) => {
  const why = await partitionUnavailable();
  if (why) return skipOrFail(t, why);
  const a = await startNode(t, 'a60@127.0.41.60', { basePort: base });
  const b = await startNode(t, 'b61@127.0.41.61', { basePort: base });
  // a's connection attempts to b vanish (a partition that is healing), b's to a go through.
  const p = new Partition();
  t.after(() => p.remove());
  await p.install();
  await p.dropSyn('127.0.41.60', '127.0.41.61', distPort(b.self, base));
  const aDial = a.connect(b.self, { timeoutMs: 8000 });
  aDial.catch(() => undefined);
  await new Promise((r) => setTimeout(r, 200));
  // a's name is smaller, so a connected dial of a's would win; this one never connects.
  await b.connect(a.self, { timeoutMs: 3000 });
  await aDial;
  assert.equal(a.linkInfo(b.self)?.direction, 'in');
  assert.equal(b.linkInfo(a.self)?.direction, 'out');
});
