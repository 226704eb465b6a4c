// A client's queued and in-flight messages, its keepalive, bulk kicks, the session count, one
// route and the topology, through EMQX's REST paths on one node for a client of the other: a raw MQTT 5 client that never
// acknowledges fills its in-flight window (mqtt.max_inflight = 3) and its queue
// (mqtt.max_mqueue_len = 5), and the pages must show exactly what waits, in order, page after page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IPublishPacket } from 'mqtt-packet';
import { startCluster, type TestNode } from '../helpers/launcher.js';
import { RawClient } from '../helpers/mqtt-client.js';
import { http, login, waitFor } from './http.js';

const NAMES = ['cmsg1@127.0.0.1', 'cmsg2@127.0.0.1'];

interface Row {
  msgid: string;
  topic: string;
  qos: number;
  payload?: string;
  from_clientid: string;
  publish_at: number;
  inserted_at: string;
  mqueue_priority?: number;
}
interface Page {
  data: Row[];
  meta: { start: string; position: string };
}

test('mqueue_messages, inflight_messages, keepalive, kickout/bulk, sessions_count, topics/:topic and cluster/topology across two nodes', { timeout: 120_000 }, async (t) => {
  const [n1, n2] = (await startCluster(t, NAMES, { dashboard: true, mqtt: true, conf: 'mqtt.max_inflight = 3\nmqtt.max_mqueue_len = 5\n' })) as [TestNode, TestNode];
  t.after(() => RawClient.destroyAll());
  const port = n1.dashboardPort!;
  const token = await login(port);
  const get = async (path: string): Promise<{ status: number; json: unknown }> => {
    const r = await http(port, 'GET', `/api/v5${path}`, { token });
    return { status: r.status, json: r.json };
  };

  // A client of node 2 that reads but never acknowledges.
  const { raw: slow } = await RawClient.session(n2.mqttPort!, 5, 'slow');
  slow.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'cm/#', qos: 1 }] });
  await slow.next((p) => p.cmd === 'suback', 5000, 'SUBACK');
  await waitFor('the route on node 1', async () => (await n1.ctl(['topics', 'list'])).stdout.includes('cm/# -> cmsg2@127.0.0.1'));
  assert.deepEqual(await get(`/topics/${encodeURIComponent('cm/#')}`), { status: 200, json: [{ topic: 'cm/#', node: NAMES[1] }] });
  assert.deepEqual(await get('/topics/cm%2Fnone'), { status: 404, json: { code: 'TOPIC_NOT_FOUND', message: 'Topic not found' } });
  assert.deepEqual(await get('/cluster/topology'), { status: 200, json: NAMES.map((core_node) => ({ core_node, replicant_nodes: [] })) });

  const t0 = Date.now();
  for (let i = 0; i < 10; i++) {
    const r = await http(port, 'POST', '/api/v5/publish', { token, body: { topic: `cm/${i}`, payload: `m${i}`, qos: 1 } });
    assert.equal(r.status, 200, r.text);
  }
  await slow.until(() => slow.publishes().length === 3, 10_000, 'three PUBLISHes (the window)');

  // In flight: m0..m2, oldest first, two to a page.
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const p1 = (await get('/clients/slow/inflight_messages?limit=2')) as { status: number; json: Page };
  assert.equal(p1.status, 200);
  assert.deepEqual(p1.json.data.map((r) => [r.topic, r.payload, r.qos, r.from_clientid]), [
    ['cm/0', b64('m0'), 1, 'http_api'],
    ['cm/1', b64('m1'), 1, 'http_api'],
  ]);
  assert.equal(p1.json.meta.start, '0');
  assert.equal(p1.json.meta.position, '1');
  for (const r of p1.json.data) {
    assert.match(r.msgid, /^[0-9A-F]{32}$/);
    assert.ok(r.publish_at >= t0 - 1000 && r.publish_at <= Date.now(), `publish_at ${r.publish_at}`);
    assert.match(r.inserted_at, /^\d{19}$/);
    assert.equal(r.mqueue_priority, undefined);
  }
  const p2 = (await get(`/clients/slow/inflight_messages?limit=2&position=${p1.json.meta.position}`)) as { json: Page };
  assert.deepEqual(p2.json.data.map((r) => r.payload), [b64('m2')]);
  assert.equal(p2.json.meta.position, '2');
  const p3 = (await get(`/clients/slow/inflight_messages?position=${p2.json.meta.position}`)) as { json: Page };
  assert.deepEqual(p3.json.data, []);
  assert.equal(p3.json.meta.position, '2');

  // Queued: the newest five (m5..m9); m3 and m4 were dropped to make room.
  const q1 = (await get('/clients/slow/mqueue_messages?limit=3&payload=plain')) as { status: number; json: Page };
  assert.equal(q1.status, 200);
  assert.deepEqual(q1.json.data.map((r) => [r.topic, r.payload, r.mqueue_priority]), [
    ['cm/5', 'm5', 0],
    ['cm/6', 'm6', 0],
    ['cm/7', 'm7', 0],
  ]);
  assert.equal(q1.json.meta.start, '2_0');
  const q2 = (await get(`/clients/slow/mqueue_messages?payload=plain&position=${q1.json.meta.position}`)) as { json: Page };
  assert.deepEqual(q2.json.data.map((r) => r.payload), ['m8', 'm9']);
  const client = (await get('/clients/slow')) as { json: { mqueue_len: number; mqueue_dropped: number; inflight_cnt: number } };
  assert.deepEqual([client.json.inflight_cnt, client.json.mqueue_len, client.json.mqueue_dropped], [3, 5, 2]);

  // The same message keeps its id; no payloads, or as many as fit the budget (the first always).
  const again = (await get('/clients/slow/mqueue_messages?payload=none')) as { json: Page };
  assert.equal(again.json.data.length, 5);
  assert.equal(again.json.data[0]!.msgid, q1.json.data[0]!.msgid);
  assert.ok(again.json.data.every((r) => !('payload' in r)));
  const budget = (await get('/clients/slow/mqueue_messages?max_payload_bytes=10')) as { json: Page };
  assert.deepEqual(budget.json.data.map((r) => r.payload), [b64('m5'), b64('m6')]);
  const tiny = (await get('/clients/slow/mqueue_messages?max_payload_bytes=1')) as { json: Page };
  assert.deepEqual(tiny.json.data.map((r) => r.payload), [b64('m5')]);

  // An acknowledgement moves the window on: m0 leaves, m5 leaves the queue for the window.
  const first = slow.publishes()[0]! as IPublishPacket;
  slow.send({ cmd: 'puback', messageId: first.messageId! });
  await slow.until(() => slow.publishes().length === 4, 10_000, 'the fourth PUBLISH');
  const moved = (await get('/clients/slow/inflight_messages?payload=plain')) as { json: Page };
  assert.deepEqual(moved.json.data.map((r) => r.payload), ['m1', 'm2', 'm5']);
  assert.equal(moved.json.meta.start, '1');
  const queued = (await get('/clients/slow/mqueue_messages?payload=plain')) as { json: Page };
  assert.deepEqual(queued.json.data.map((r) => r.payload), ['m6', 'm7', 'm8', 'm9']);
  assert.equal(queued.json.meta.start, '3_0');

  // A payload JSON cannot carry as text, asked for as text.
  const bin = await http(port, 'POST', '/api/v5/publish', { token, body: { topic: 'cm/bin', payload: Buffer.from([0xff, 0xfe]).toString('base64'), payload_encoding: 'base64', qos: 1 } });
  assert.equal(bin.status, 200, bin.text);
  await waitFor('the binary message queued', async () => ((await get('/clients/slow/mqueue_messages?payload=none')) as { json: Page }).json.data.some((r) => r.topic === 'cm/bin'));
  assert.deepEqual((await get('/clients/slow/mqueue_messages?payload=plain')).json, { code: 'INVALID_PARAMETER', message: 'Some message payloads are not JSON serializable' });

  // Bad input.
  assert.deepEqual(await get('/clients/slow/mqueue_messages?position=abc'), { status: 400, json: { code: 'INVALID_PARAMETER', message: 'position_limit_invalid' } });
  assert.deepEqual((await get('/clients/slow/inflight_messages?position=1_0')).status, 400);
  assert.equal((await get('/clients/slow/inflight_messages?limit=0')).status, 400);
  assert.deepEqual(await get('/clients/nobody/mqueue_messages'), { status: 404, json: { code: 'CLIENTID_NOT_FOUND', message: 'Client ID not found' } });

  // Sessions in the cluster: slow on node 2, two more on node 1.
  const { raw: a } = await RawClient.session(n1.mqttPort!, 4, 'kick-a');
  const { raw: b } = await RawClient.session(n1.mqttPort!, 5, 'kick-b');
  assert.deepEqual(await get('/sessions_count'), { status: 200, json: 3 });
  // Only the fields asked for (EMQX's `fields`).
  const few = (await get('/clients?fields=clientid,node,connected')) as { json: { data: Array<Record<string, unknown>> } };
  assert.deepEqual([...few.json.data].sort((a, b) => String(a.clientid).localeCompare(String(b.clientid))), [
    { clientid: 'kick-a', node: NAMES[0], connected: true },
    { clientid: 'kick-b', node: NAMES[0], connected: true },
    { clientid: 'slow', node: NAMES[1], connected: true },
  ]);
  assert.equal(Object.keys(((await get('/clients?fields=all')) as { json: { data: object[] } }).json.data[0]!).length > 20, true);

  // Kick two of them (and one nobody has) in one call.
  const kicked = await http(port, 'POST', '/api/v5/clients/kickout/bulk', { token, body: ['kick-a', 'kick-b', 'nobody'] });
  assert.equal(kicked.status, 204, kicked.text);
  await a.waitClosed(5000);
  await b.waitClosed(5000);
  const disconnect = await b.next((p) => p.cmd === 'disconnect', 1000, 'DISCONNECT');
  assert.equal((disconnect as { reasonCode?: number }).reasonCode, 0x98);
  assert.equal((await get('/clients/kick-a')).status, 404);
  assert.deepEqual(await get('/sessions_count'), { status: 200, json: 1 });

  // Keepalive: refused without an interval or out of range; 1 s then closes the silent client.
  assert.deepEqual((await http(port, 'PUT', '/api/v5/clients/slow/keepalive', { token, body: {} })).json, { code: 'BAD_REQUEST', message: 'Interval Not Found' });
  assert.equal((await http(port, 'PUT', '/api/v5/clients/slow/keepalive', { token, body: { interval: 65536 } })).status, 400);
  assert.equal((await http(port, 'PUT', '/api/v5/clients/nobody/keepalive', { token, body: { interval: 5 } })).status, 404);
  const set = await http(port, 'PUT', '/api/v5/clients/slow/keepalive', { token, body: { interval: 1 } });
  assert.equal(set.status, 200, set.text);
  assert.equal((set.json as { keepalive: number }).keepalive, 1);
  assert.equal(((await get('/clients/slow')).json as { keepalive: number }).keepalive, 1);
  const since = Date.now();
  await slow.waitClosed(10_000, 'the keepalive timeout');
  assert.ok(Date.now() - since < 5000, `closed after ${Date.now() - since} ms`);
  const gone = await slow.next((p) => p.cmd === 'disconnect', 1000, 'DISCONNECT');
  assert.equal((gone as { reasonCode?: number }).reasonCode, 0x8d);
});
