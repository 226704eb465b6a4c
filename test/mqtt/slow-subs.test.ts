// Slow subscriptions against a running node: a QoS 1 subscriber that acknowledges late is listed
// with how long its deliveries took, a prompt one is not; stats_type decides what is measured;
// the list is cleared through the API; off, nothing is recorded. And the list's rules alone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IPublishPacket } from 'mqtt-packet';
import type { TestNode } from '../helpers/launcher.js';
import { applyConf, closeAll, open, RawClient, startMqttNode, uniq } from '../helpers/mqtt-client.js';
import { http, login, waitFor } from '../api/http.js';
import { SlowSubs, mergeSlowSubs } from '../../src/broker/slow-subs.js';

let node: TestNode;

before(async () => {
  node = await startMqttNode({ name: 'mqttslow@127.0.0.1', mqtt: true, dashboard: true, conf: 'slow_subs { enable = true, threshold = 100ms }' });
});

after(async () => {
  await closeAll();
  RawClient.destroyAll();
  await node?.cleanup();
});

interface Row {
  clientid: string;
  node: string;
  topic: string;
  timespan: number;
  last_update_time: number;
}

test('a subscriber that acknowledges late is listed with its delay; a prompt one is not; DELETE clears', async () => {
  const token = await login(node.dashboardPort!);
  const list = async (): Promise<Row[]> => ((await http(node.dashboardPort!, 'GET', '/api/v5/slow_subscriptions', { token })).json as { data: Row[] }).data;
  const topic = `slow/${uniq()}`;
  // The late one: a raw client that sends its PUBACK 300 ms after each PUBLISH.
  const late = `late-${uniq()}`;
  const { raw } = await RawClient.session(node.mqttPort!, 4, late);
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
  await raw.next((p) => p.cmd === 'suback', 5000, 'SUBACK');
  const prompt = await open(node.mqttPort!, { protocolVersion: 4, clientId: `prompt-${uniq()}` });
  await prompt.subscribe(topic, { qos: 1 });
  const pub = await open(node.mqttPort!, { protocolVersion: 4 });
  await pub.publish(topic, 'x', { qos: 1 });
  const p = await raw.next<IPublishPacket>((q) => q.cmd === 'publish', 5000, 'the PUBLISH');
  await new Promise((r) => setTimeout(r, 300));
  raw.send({ cmd: 'puback', messageId: p.messageId! });
  await waitFor('the late subscriber listed', async () => (await list()).some((r) => r.clientid === late));
  const rows = await list();
  const row = rows.find((r) => r.clientid === late)!;
  assert.equal(row.topic, topic);
  assert.equal(row.node, 'mqttslow@127.0.0.1');
  assert.ok(row.timespan >= 300 && row.timespan < 5000, `timespan ${row.timespan}`);
  assert.ok(!rows.some((r) => r.clientid.startsWith('prompt-')), 'the prompt subscriber is under the threshold');

  const settings = await http(node.dashboardPort!, 'GET', '/api/v5/slow_subscriptions/settings', { token });
  assert.deepEqual(settings.json, { enable: true, threshold: '100ms', expire_interval: '5m', top_k_num: 10, stats_type: 'whole' });
  assert.equal((await http(node.dashboardPort!, 'DELETE', '/api/v5/slow_subscriptions', { token })).status, 204);
  assert.deepEqual(await list(), []);

  // internal: only the time in the broker counts, so the late acknowledgement does not.
  const r = await applyConf(node, 'slow_subs { enable = true, threshold = 100ms, stats_type = internal }', 'slow_subs.stats_type', 'internal');
  assert.equal(r.code, 0, r.stdout + r.stderr);
  await pub.publish(topic, 'y', { qos: 1 });
  const p2 = await raw.next<IPublishPacket>((q) => q.cmd === 'publish' && q.payload.toString() === 'y', 5000, 'the second PUBLISH');
  await new Promise((res) => setTimeout(res, 300));
  raw.send({ cmd: 'puback', messageId: p2.messageId! });
  await prompt.inbox.get(topic, 'y');
  assert.deepEqual(await list(), [], 'the acknowledgement is the client\'s time, not the broker\'s');
});

test('the list keeps the top_k_num slowest over the threshold, the latest per client and topic, and forgets expired ones', () => {
  const ss = new SlowSubs({ enable: true, threshold: 100, expire_interval: 1000, top_k_num: 2, stats_type: 'whole' });
  ss.record('a', 't', 50, 0);
  assert.deepEqual(ss.list(0), [], 'under the threshold');
  ss.record('a', 't', 200, 0);
  ss.record('b', 't', 300, 0);
  ss.record('c', 't', 150, 0);
  assert.deepEqual(ss.list(0).map((e) => e.clientid), ['b', 'a'], 'full: a faster one does not get in');
  ss.record('c', 't', 400, 10);
  assert.deepEqual(ss.list(10).map((e) => [e.clientid, e.timespan]), [['c', 400], ['b', 300]], 'a slower one takes the fastest place');
  ss.record('b', 't', 120, 20);
  assert.deepEqual(ss.list(20).map((e) => [e.clientid, e.timespan]), [['c', 400], ['b', 120]], 'the latest delay of an entry stands');
  assert.deepEqual(ss.list(1015).map((e) => e.clientid), ['b'], 'c expired');
  ss.reconfigure({ enable: false, threshold: 100, expire_interval: 1000, top_k_num: 2, stats_type: 'whole' });
  assert.deepEqual(ss.list(1015), [], 'off: emptied');
  assert.deepEqual(
    mergeSlowSubs([
      { node: 'n1', rows: [{ clientid: 'x', topic: 't', timespan: 5, last_update_time: 0 }] },
      { node: 'n2', rows: [{ clientid: 'y', topic: 't', timespan: 9, last_update_time: 0 }] },
    ]).map((r) => `${r.node}/${r.clientid}`),
    ['n2/y', 'n1/x'],
  );
});
