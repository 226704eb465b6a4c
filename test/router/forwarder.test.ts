// The forwarder against a fake link layer: what a QoS 1/2 publisher waits on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLog } from '../../src/base/log.js';
import type { Dist } from '../../src/link/types.js';
import { decodeForward, encodeForward, FORWARD_VERSION } from '../../src/router/forward-codec.js';
import { Forwarder } from '../../src/router/forwarder.js';
import { ROUTER_CHANNELS, type WireMessage } from '../../src/router/protocol.js';

function fakeDist(): { dist: Dist; sent: Array<{ node: string; channel: string; payload: unknown }>; deliver: (from: string, channel: string, payload: unknown) => void } {
  const handlers = new Map<string, (from: string, payload: unknown) => void>();
  const sent: Array<{ node: string; channel: string; payload: unknown }> = [];
  const dist = {
    self: 'a@h',
    isUp: () => true,
    send: (node: string, channel: string, payload: unknown) => {
      sent.push({ node, channel, payload });
      return true;
    },
    handle: (channel: string, fn: (from: string, payload: unknown) => void) => handlers.set(channel, fn),
  } as unknown as Dist;
  return { dist, sent, deliver: (from, channel, payload) => handlers.get(channel)!(from, payload) };
}

const msg = (payload: string): WireMessage => ({ topic: 't', payload: Buffer.from(payload), qos: 1, retain: false, from: 'c', timestamp: 1 });
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const isSettled = async (p: Promise<void>): Promise<boolean> => Promise.race([p.then(() => true), turn().then(() => false)]);

test('QoS 1 messages of one batch share one promise, settled by the acknowledgement of that batch only', async () => {
  const { dist, sent, deliver } = fakeDist();
  const fwd = new Forwarder({ epoch: 'e1', dist, log: silentLog, graceMs: () => 60_000, deliver: () => undefined });
  const p1 = fwd.send('b@h', msg('1'), true)!;
  const p2 = fwd.send('b@h', msg('2'), true)!;
  assert.equal(p1, p2, 'one promise for the batch');
  await turn();
  assert.equal(sent.length, 1, 'one batch on the link');
  const p3 = fwd.send('b@h', msg('3'), true)!;
  assert.notEqual(p3, p1, 'the next batch gets its own');
  await turn();
  assert.equal(await isSettled(p1), false);
  const first = decodeForward(sent[0]!.payload as Buffer)!;
  deliver('b@h', ROUTER_CHANNELS.ack, { epoch: 'e1', seq: first.seq });
  assert.equal(await isSettled(p1), true);
  assert.equal(await isSettled(p3), false, 'the later batch still waits');
  fwd.stop();
});

test('a node that stays away past the grace releases its publishers; a message sent to it afterwards waits for its own acknowledgement', async () => {
  const { dist, sent, deliver } = fakeDist();
  let up = false;
  (dist as { isUp: (n: string) => boolean }).isUp = () => up;
  const fwd = new Forwarder({ epoch: 'e1', dist, log: silentLog, graceMs: () => 20, deliver: () => undefined });
  const lost = fwd.send('b@h', msg('1'), true)!;
  await turn();
  assert.equal(sent.length, 0, 'nothing sent while the node is down');
  assert.equal(await isSettled(lost), false, 'waits through the grace');
  // The grace timer is unref'd and nothing else marks it: a bounded wait on the release itself.
  let bound: NodeJS.Timeout | undefined;
  const released = await Promise.race([lost.then(() => true), new Promise<false>((r) => (bound = setTimeout(() => r(false), 2000)))]);
  clearTimeout(bound);
  assert.equal(released, true, 'released after the grace');
  up = true;
  const next = fwd.send('b@h', msg('2'), true)!;
  assert.notEqual(next, lost);
  await turn();
  assert.equal(await isSettled(next), false, 'waits for the acknowledgement of its own batch');
  const batch = decodeForward(sent[sent.length - 1]!.payload as Buffer)!;
  deliver('b@h', ROUTER_CHANNELS.ack, { epoch: 'e1', seq: batch.seq });
  assert.equal(await isSettled(next), true);
  fwd.stop();
});

test('a batch of another wire version is dropped with a line that says so, once per interval, not once per batch', () => {
  const { dist, deliver } = fakeDist();
  const lines: Array<[object, string]> = [];
  const log = { ...silentLog, warn: (obj: object, msg: string) => lines.push([obj, msg]) };
  const got: WireMessage[][] = [];
  const fwd = new Forwarder({ epoch: 'e1', dist, log, graceMs: () => 60_000, deliver: (_f, msgs) => got.push([...msgs]) });
  const batch = encodeForward({ epoch: 'e0', msgs: [msg('x')] });
  const old = Buffer.from(batch);
  old[0] = 1;
  for (let i = 0; i < 50; i++) deliver('b@h', ROUTER_CHANNELS.forward, old);
  for (let i = 0; i < 50; i++) deliver('b@h', ROUTER_CHANNELS.forward, Buffer.from([FORWARD_VERSION, 0, 0]));
  assert.deepEqual(got, []);
  assert.equal(lines.length, 2, lines.map(([, m]) => m).join(' | '));
  assert.match(lines[0]![1], /another wire version.*same release/);
  assert.deepEqual(lines[0]![0], { peer: 'b@h', version: 1, expected: FORWARD_VERSION });
  assert.match(lines[1]![1], /malformed forwarded messages/);
  deliver('b@h', ROUTER_CHANNELS.forward, batch);
  assert.equal(got.length, 1, 'a good batch still goes through');
  fwd.stop();
});
