import { test } from 'node:test';
import assert from 'node:assert/strict';
import { distProbe, PROBE_CHANNEL, serveProbe } from '../../src/discovery/probe.js';
import { MemoryNet } from '../helpers/memory-dist.js';

test('a probe links to the node, asks, and drops a link made only for asking', async (t) => {
  const net = new MemoryNet();
  const a = net.create('a@127.0.0.1');
  const b = net.create('b@127.0.0.1');
  const c = net.create('c@127.0.0.1', 'other-cookie');
  await Promise.all([a.start(), b.start(), c.start()]);
  t.after(() => Promise.all([a.stop(), b.stop(), c.stop()]));
  let on = true;
  serveProbe(b, () => ({ startedAt: 42, discovery: on, clusterSize: 1 }));
  serveProbe(c, () => ({ startedAt: 1, discovery: true, clusterSize: 1 }));

  const probe = distProbe(a, () => false, 1000);
  const signal = AbortSignal.timeout(5000);
  assert.deepEqual(await probe('b@127.0.0.1', signal), { startedAt: 42, discovery: true, clusterSize: 1 });
  assert.equal(a.isUp('b@127.0.0.1'), false, 'link dropped: b is not a member');
  on = false;
  assert.deepEqual(await probe('b@127.0.0.1', signal), { startedAt: 42, discovery: false, clusterSize: 1 });
  assert.equal(await probe('c@127.0.0.1', signal), undefined, 'a refused link (wrong cookie) is unreachable');
  assert.equal(await probe('nobody@127.0.0.1', signal), undefined);

  const memberProbe = distProbe(a, () => true, 1000);
  await memberProbe('b@127.0.0.1', signal);
  assert.equal(a.isUp('b@127.0.0.1'), true, 'the link to a member is kept');
});

test('a node answering nonsense on the probe channel counts as unreachable', async (t) => {
  const net = new MemoryNet();
  const a = net.create('a@127.0.0.1');
  const b = net.create('b@127.0.0.1');
  await Promise.all([a.start(), b.start()]);
  t.after(() => Promise.all([a.stop(), b.stop()]));
  b.handle(PROBE_CHANNEL, () => ({ startedAt: 'yesterday' }));
  assert.equal(await distProbe(a, () => false)('b@127.0.0.1', AbortSignal.timeout(5000)), undefined);
});
