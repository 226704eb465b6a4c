// The MQTT side of the API on two real daemons with real clients: POST /publish and
// /publish/bulk from one node reaching a subscriber on the other (EMQX's 200 / 202 / 400 answers,
// properties, base64), and a client on one node subscribed, listed and unsubscribed through the
// other node's API.
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, connectAsync, type MqttClient } from 'mqtt';
import { createTestNodes, type TestNode } from '../helpers/launcher.js';
import { http, login, waitFor } from './http.js';

const NAMES = ['am1@127.0.0.1', 'am2@127.0.0.1'];

async function recorder(t: { after(fn: () => Promise<void> | void): void }, node: TestNode, clientId: string): Promise<{ c: MqttClient; got: Array<{ topic: string; payload: string; props: Record<string, unknown> | undefined; retain: boolean }> }> {
  const c = connect(`mqtt://127.0.0.1:${node.mqttPort}`, { clientId, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000 });
  t.after(() => c.endAsync(true).catch(() => undefined));
  const got: Array<{ topic: string; payload: string; props: Record<string, unknown> | undefined; retain: boolean }> = [];
  c.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), props: packet.properties as Record<string, unknown> | undefined, retain: packet.retain }));
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return { c, got };
}

test('publish through the API of one node to a subscriber on another; a client of one node subscribed through the other', { timeout: 120_000 }, async (t) => {
  const [n1, n2] = (await createTestNodes(t, NAMES, { dashboard: true, mqtt: true, conf: 'mqtt.max_packet_size = 64KB\n' })) as [TestNode, TestNode];
  await n1.startOk();
  await n2.startOk();
  assert.equal((await n2.ctl(['cluster', 'join', NAMES[0]!])).code, 0);
  const p1 = n1.dashboardPort!;
  const token = await login(p1);

  const { c: sub, got } = await recorder(t, n2, 'sub-on-2');
  await sub.subscribeAsync('api/#', { qos: 1 });
  await waitFor('the route on am1', async () => (await n1.ctl(['topics', 'list'])).stdout.includes('api/# -> am2@127.0.0.1'));

  const one = await http(p1, 'POST', '/api/v5/publish', {
    token,
    body: { topic: 'api/t', payload: 'hello', qos: 1, properties: { user_properties: { k: 'v' }, content_type: 'text/plain', message_expiry_interval: 60 } },
  });
  assert.equal(one.status, 200, one.text);
  assert.match((one.json as { id: string }).id, /^[0-9A-F]{32}$/);
  await waitFor('api/t on am2', () => got.length > 0);
  assert.equal(got[0]!.topic, 'api/t');
  assert.equal(got[0]!.payload, 'hello');
  assert.deepEqual({ ...(got[0]!.props?.userProperties as object) }, { k: 'v' });
  assert.equal(got[0]!.props?.contentType, 'text/plain');

  const b64 = await http(p1, 'POST', '/api/v5/publish', { token, body: { topic: 'api/bin', payload: Buffer.from([0, 1, 2, 255]).toString('base64'), payload_encoding: 'base64' } });
  assert.equal(b64.status, 200);
  await waitFor('api/bin on am2', () => got.length > 1);
  assert.equal(got[1]!.topic, 'api/bin');

  const nobody = await http(p1, 'POST', '/api/v5/publish', { token, body: { topic: 'nobody/listens', payload: 'x' } });
  assert.deepEqual([nobody.status, nobody.json], [202, { reason_code: 16, message: 'no_matching_subscribers' }]);
  const badTopic = await http(p1, 'POST', '/api/v5/publish', { token, body: { topic: 'a/+/b', payload: 'x' } });
  assert.deepEqual([badTopic.status, badTopic.json], [400, { reason_code: 144, message: 'topic_name_invalid' }]);
  const badB64 = await http(p1, 'POST', '/api/v5/publish', { token, body: { topic: 'api/x', payload: '***', payload_encoding: 'base64' } });
  assert.equal(badB64.status, 400);
  assert.equal((badB64.json as { reason_code: number }).reason_code, 131);
  const tooBig = await http(p1, 'POST', '/api/v5/publish', { token, body: { topic: 'api/x', payload: 'x'.repeat(64 * 1024) } });
  assert.deepEqual([tooBig.status, tooBig.json], [400, { reason_code: 151, message: 'packet_too_large' }]);
  const missing = await http(p1, 'POST', '/api/v5/publish', { token, body: { payload: 'x' } });
  assert.equal(missing.status, 400);

  // Bulk, in order; one without subscribers makes it 202.
  const before = got.length;
  const bulk = await http(p1, 'POST', '/api/v5/publish/bulk', {
    token,
    body: [
      { topic: 'api/b', payload: '1', qos: 1 },
      { topic: 'api/b', payload: '2', qos: 1 },
      { topic: 'nowhere', payload: '3' },
    ],
  });
  assert.equal(bulk.status, 202, bulk.text);
  const rows = bulk.json as Array<Record<string, unknown>>;
  assert.equal(rows.length, 3);
  assert.match(rows[0]!.id as string, /^[0-9A-F]{32}$/);
  assert.deepEqual(rows[2], { reason_code: 16, message: 'no_matching_subscribers' });
  await waitFor('the bulk on am2', () => got.length >= before + 2);
  assert.deepEqual(got.slice(before).map((m) => m.payload), ['1', '2']);

  // A retained message from the API is served to a new subscriber on the other node.
  assert.equal((await http(p1, 'POST', '/api/v5/publish', { token, body: { topic: 'api/kept', payload: 'r', qos: 1, retain: true } })).status, 200);

  // A client on am2, subscribed through am1's API; its retained message follows.
  const { got: got2 } = await recorder(t, n2, 'remote-client');
  const subscribed = await http(p1, 'POST', '/api/v5/clients/remote-client/subscribe', { token, body: { topic: 'api/kept', qos: 1 } });
  assert.equal(subscribed.status, 200, subscribed.text);
  assert.deepEqual(subscribed.json, { topic: 'api/kept', qos: 1, nl: 0, rap: 0, rh: 0, node: 'am2@127.0.0.1', clientid: 'remote-client' });
  await waitFor('the retained message on remote-client', () => got2.length > 0);
  assert.deepEqual([got2[0]!.topic, got2[0]!.payload, got2[0]!.retain], ['api/kept', 'r', true]);
  const bulkSub = await http(p1, 'POST', '/api/v5/clients/remote-client/subscribe/bulk', { token, body: [{ topic: 'x/1' }, { topic: '$share/g/x/2', qos: 2 }] });
  assert.equal(bulkSub.status, 200, bulkSub.text);
  const list = await http(p1, 'GET', '/api/v5/clients/remote-client/subscriptions', { token });
  assert.deepEqual(
    (list.json as Array<{ topic: string; qos: number; node: string }>).map((s) => [s.topic, s.qos, s.node]).sort(),
    [
      ['$share/g/x/2', 2, 'am2@127.0.0.1'],
      ['api/kept', 1, 'am2@127.0.0.1'],
      ['x/1', 0, 'am2@127.0.0.1'],
    ],
  );
  const nl = await http(p1, 'POST', '/api/v5/clients/remote-client/subscribe', { token, body: { topic: '$share/g/y', nl: 1 } });
  assert.deepEqual([nl.status, (nl.json as { code: string }).code], [400, 'INVALID_PARAMETER']);
  assert.equal((await http(p1, 'POST', '/api/v5/clients/remote-client/unsubscribe', { token, body: { topic: 'x/1' } })).status, 204);
  assert.equal((await http(p1, 'POST', '/api/v5/clients/remote-client/unsubscribe/bulk', { token, body: [{ topic: 'api/kept' }, { topic: '$share/g/x/2' }] })).status, 204);
  assert.deepEqual((await http(p1, 'GET', '/api/v5/clients/remote-client/subscriptions', { token })).json, []);
  assert.equal((await http(p1, 'POST', '/api/v5/clients/nobody/subscribe', { token, body: { topic: 't' } })).status, 404);

  // Retained messages through the other node's API: the replicated table answers everywhere.
  const p2 = n2.dashboardPort!;
  const token2 = await login(p2);
  const all = (await http(p2, 'GET', '/api/v5/mqtt/retainer/messages', { token: token2 })).json as { data: Array<{ topic: string }>; meta: { count: number } };
  assert.ok(all.data.some((m) => m.topic === 'api/kept'));
  assert.equal(all.meta.count, all.data.length);
  const matching = (await http(p2, 'GET', '/api/v5/mqtt/retainer/messages?topic=api/%23', { token: token2 })).json as { data: Array<Record<string, unknown>> };
  assert.deepEqual(matching.data.map((m) => [m.topic, m.qos, m.from_clientid]), [['api/kept', 1, 'http_api']]);
  const kept = await http(p2, 'GET', `/api/v5/mqtt/retainer/message/${encodeURIComponent('api/kept')}`, { token: token2 });
  assert.equal((kept.json as { payload: string }).payload, Buffer.from('r').toString('base64'));
  assert.equal((await http(p2, 'DELETE', `/api/v5/mqtt/retainer/message/${encodeURIComponent('api/kept')}`, { token: token2 })).status, 204);
  await waitFor('the deletion on am1', async () => (await http(p1, 'GET', `/api/v5/mqtt/retainer/message/${encodeURIComponent('api/kept')}`, { token })).status === 404);

  // Settings as reloaded: the API reads the configuration in force, not the one it started with.
  assert.equal(((await http(p1, 'GET', '/api/v5/mqtt/retainer', { token })).json as { max_payload_size: unknown }).max_payload_size, 1024 * 1024);
  n1.writeConf(`${readFileSync(n1.confFile, 'utf8')}\nretainer.max_payload_size = 2KB\n`);
  assert.equal((await n1.ctl(['conf', 'reload'])).code, 0);
  assert.equal(((await http(p1, 'GET', '/api/v5/mqtt/retainer', { token })).json as { max_payload_size: unknown }).max_payload_size, 2048);

  // MQTT listeners of both members, stopped and started again on both through one API.
  const listeners = (await http(p1, 'GET', '/api/v5/listeners?type=tcp', { token })).json as Array<{ id: string; number: number; running: boolean; node_status: Array<{ node: string; current_connections: number }> }>;
  const tcp = listeners.find((l) => l.id === 'tcp:default')!;
  assert.deepEqual([tcp.number, tcp.running, tcp.node_status.map((n) => n.node).sort()], [2, true, NAMES]);
  assert.ok(tcp.node_status.find((n) => n.node === NAMES[1])!.current_connections >= 2);
  const tcpDefault = (await http(p1, 'GET', '/api/v5/listeners/tcp:default', { token })).json as { bind: string; type: string; running: boolean };
  assert.deepEqual([tcpDefault.type, tcpDefault.running, tcpDefault.bind], ['tcp', true, `127.0.0.1:${n1.mqttPort}`]);
  assert.equal((await http(p1, 'GET', '/api/v5/listeners/tcp:nope', { token })).status, 404);
  assert.equal((await http(p1, 'POST', '/api/v5/listeners/tcp:nope/stop', { token })).status, 404);
  assert.equal((await http(p1, 'POST', '/api/v5/listeners/tcp:default/stop', { token })).status, 200);
  const ofNode2 = (await http(p1, 'GET', `/api/v5/nodes/${NAMES[1]}/listeners`, { token })).json as Array<{ id: string; running: boolean }>;
  assert.equal(ofNode2.find((l) => l.id === 'tcp:default')!.running, false);
  await assert.rejects(connectAsync(`mqtt://127.0.0.1:${n2.mqttPort}`, { reconnectPeriod: 0, connectTimeout: 2000 }));
  assert.equal((await http(p1, 'POST', '/api/v5/listeners/tcp:default/start', { token })).status, 200);
  const back = await connectAsync(`mqtt://127.0.0.1:${n2.mqttPort}`, { reconnectPeriod: 0, connectTimeout: 5000 });
  await back.endAsync();
  assert.equal((await http(p1, 'GET', '/api/v5/clients/nobody/subscriptions', { token })).status, 404);
});
