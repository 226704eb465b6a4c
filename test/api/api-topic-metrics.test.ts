// Topic metrics on two real daemons with real clients: a topic added through one member's API is
// metered on both; messages published on one node and delivered on the other are counted where
// they happen and added up by either API (counts, QoS, drops, rates); reset, remove, the
// configured topic that cannot be removed, and EMQX's errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectAsync } from 'mqtt';
import { createTestNodes, type TestNode } from '../helpers/launcher.js';
import { http, login, waitFor } from './http.js';

interface Row {
  topic: string;
  create_time: string;
  reset_time?: string;
  metrics: Record<string, number>;
}

test('topic metrics across two members: counted where messages are published and delivered, added up by either API', { timeout: 120_000 }, async (t) => {
  const names = ['tm1@127.0.0.1', 'tm2@127.0.0.1'];
  const [n1, n2] = (await createTestNodes(t, names, { dashboard: true, mqtt: true, conf: 'topic_metrics = [{topic = "conf/t"}]\n' })) as [TestNode, TestNode];
  await n1.startOk();
  await n2.startOk();
  assert.equal((await n2.ctl(['cluster', 'join', names[0]!])).code, 0);
  const [p1, p2] = [n1.dashboardPort!, n2.dashboardPort!];
  const [k1, k2] = [await login(p1), await login(p2)];
  const rows = async (port: number, token: string): Promise<Row[]> => {
    const r = await http(port, 'GET', '/api/v5/mqtt/topic_metrics', { token });
    assert.equal(r.status, 200, r.text);
    return r.json as Row[];
  };

  const added = await http(p1, 'POST', '/api/v5/mqtt/topic_metrics', { token: k1, body: { topic: 'tm/a' } });
  assert.equal(added.status, 200, added.text);
  assert.equal((await http(p1, 'POST', '/api/v5/mqtt/topic_metrics', { token: k1, body: { topic: 'tm/none' } })).status, 200);
  const dup = await http(p2, 'POST', '/api/v5/mqtt/topic_metrics', { token: k2, body: { topic: 'tm/a' } });
  assert.deepEqual([dup.status, (dup.json as { code: string }).code], [409, 'ALREADY_EXISTED']);
  const wild = await http(p2, 'POST', '/api/v5/mqtt/topic_metrics', { token: k2, body: { topic: 'tm/+' } });
  assert.deepEqual([wild.status, (wild.json as { code: string }).code], [400, 'BAD_TOPIC']);
  assert.deepEqual((await rows(p2, k2)).map((r) => r.topic), ['conf/t', 'tm/a', 'tm/none'], 'every member meters the same topics');

  const sub = await connectAsync(`mqtt://127.0.0.1:${n2.mqttPort}`, { clientId: 'tm-sub', reconnectPeriod: 0 });
  t.after(() => sub.endAsync(true).catch(() => undefined));
  await sub.subscribeAsync('tm/a', { qos: 1 });
  const pub = await connectAsync(`mqtt://127.0.0.1:${n1.mqttPort}`, { clientId: 'tm-pub', reconnectPeriod: 0 });
  t.after(() => pub.endAsync(true).catch(() => undefined));
  let got = 0;
  sub.on('message', () => got++);
  for (let i = 0; i < 3; i++) await pub.publishAsync('tm/a', `m${i}`, { qos: 1 });
  await pub.publishAsync('tm/a', 'q0', { qos: 0 });
  await pub.publishAsync('tm/none', 'nobody', { qos: 1 });
  await pub.publishAsync('not/metered', 'x', { qos: 1 });
  await waitFor('4 deliveries on tm2', () => got === 4);

  const a = async (port: number, token: string): Promise<Row> => (await rows(port, token)).find((r) => r.topic === 'tm/a')!;
  await waitFor('the counts on both APIs', async () => (await a(p1, k1)).metrics['messages.out.count'] === 4 && (await a(p2, k2)).metrics['messages.out.count'] === 4);
  const m = (await a(p2, k2)).metrics;
  assert.equal(m['messages.in.count'], 4);
  assert.equal(m['messages.qos1.in.count'], 3);
  assert.equal(m['messages.qos0.in.count'], 1);
  assert.equal(m['messages.qos1.out.count'], 3);
  assert.equal(m['messages.dropped.count'], 0);
  const none = (await rows(p2, k2)).find((r) => r.topic === 'tm/none')!;
  assert.deepEqual([none.metrics['messages.in.count'], none.metrics['messages.dropped.count']], [1, 1], 'no subscriber: dropped');
  // The rates average the last seconds: above 0 while those messages are inside the window.
  await waitFor('a rate', async () => (await a(p1, k1)).metrics['messages.in.rate']! > 0, 5000);
  const one = await http(p1, 'GET', `/api/v5/mqtt/topic_metrics/${encodeURIComponent('tm/a')}`, { token: k1 });
  assert.equal((one.json as Row).metrics['messages.in.count'], 4);

  // Reset on every member.
  assert.equal((await http(p2, 'PUT', '/api/v5/mqtt/topic_metrics', { token: k2, body: { action: 'reset', topic: 'tm/a' } })).status, 204);
  const after = await a(p1, k1);
  assert.equal(after.metrics['messages.in.count'], 0);
  assert.equal(after.metrics['messages.out.count'], 0);
  assert.match(after.reset_time ?? '', /^\d{4}-/);
  assert.equal((await http(p2, 'PUT', '/api/v5/mqtt/topic_metrics', { token: k2, body: { action: 'reset', topic: 'tm/zzz' } })).status, 404);

  // Removed on every member; the configured one cannot be.
  assert.equal((await http(p2, 'DELETE', `/api/v5/mqtt/topic_metrics/${encodeURIComponent('tm/a')}`, { token: k2 })).status, 204);
  assert.deepEqual((await rows(p1, k1)).map((r) => r.topic), ['conf/t', 'tm/none']);
  assert.equal((await http(p1, 'GET', `/api/v5/mqtt/topic_metrics/${encodeURIComponent('tm/a')}`, { token: k1 })).status, 404);
  const conf = await http(p1, 'DELETE', `/api/v5/mqtt/topic_metrics/${encodeURIComponent('conf/t')}`, { token: k1 });
  assert.equal(conf.status, 400);
  assert.match(conf.text, /emqx\.conf/);
});
