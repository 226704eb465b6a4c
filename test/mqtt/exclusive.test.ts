// Exclusive subscriptions against a running node (EMQX's `$exclusive/<filter>`): refused as an
// invalid filter while mqtt.exclusive_subscription is off; on, one client holds a filter and
// another is refused with 0x97 until the holder unsubscribes or its session ends; the holder gets
// the messages of the plain filter, plain subscribers are not affected, and the holder may
// subscribe again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestNode } from '../helpers/launcher.js';
import { applyConf, closeAll, open, startMqttNode, subackCode, uniq } from '../helpers/mqtt-client.js';
import { http, login } from '../api/http.js';

let node: TestNode;
let port: number;

before(async () => {
  node = await startMqttNode({ name: 'mqttexcl@127.0.0.1', mqtt: true, dashboard: true });
  port = node.mqttPort!;
});

after(async () => {
  await closeAll();
  await node?.cleanup();
});

const granted = (c: Awaited<ReturnType<typeof open>>, filter: string): Promise<number> => subackCode(c.mqtt, filter);

test('exclusive subscriptions: off by default (0x8F), then one holder at a time', async () => {
  const topic = `ex/${uniq()}`;
  const off = await open(port, { protocolVersion: 5, clientId: `off-${uniq()}` });
  assert.equal(await granted(off, `$exclusive/${topic}`), 0x8f, 'off: an invalid filter, as EMQX');

  // mqtt.* settings apply to the connections made after a reload.
  const r = await applyConf(node, 'mqtt.exclusive_subscription = true', 'mqtt.exclusive_subscription', 'true');
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const a = await open(port, { protocolVersion: 5, clientId: `a-${uniq()}` });
  assert.equal(await granted(a, `$exclusive/${topic}`), 1);
  assert.equal(await granted(a, `$exclusive/${topic}`), 1, 'the holder may subscribe again');
  const b = await open(port, { protocolVersion: 5, clientId: `b-${uniq()}` });
  assert.equal(await granted(b, `$exclusive/${topic}`), 0x97, 'held by another client: quota exceeded');
  const v3 = await open(port, { protocolVersion: 4, clientId: `v3-${uniq()}` });
  assert.equal(await granted(v3, `$exclusive/${topic}`), 0x80, 'MQTT 3.1.1: failure');
  // Plain subscribers are not affected; the holder gets the plain topic's messages.
  assert.equal(await granted(b, topic), 1);
  const pub = await open(port, { protocolVersion: 5 });
  await pub.publish(topic, 'one', { qos: 1 });
  await a.inbox.get(topic, 'one');
  await b.inbox.get(topic, 'one');
  assert.equal(await granted(b, '$exclusive/$share/g/x'), 0x8f, 'a shared filter cannot be exclusive');

  // The holder unsubscribes ($exclusive/ or the plain filter): the other client may take it.
  await a.mqtt.unsubscribeAsync(`$exclusive/${topic}`);
  assert.equal(await granted(b, `$exclusive/${topic}`), 1);
  assert.equal(await granted(a, `$exclusive/${topic}`), 0x97);
  await b.mqtt.unsubscribeAsync(topic);
  assert.equal(await granted(a, `$exclusive/${topic}`), 1, 'released by unsubscribing the plain filter');

  // The holder's session ends (clean start, disconnected): released.
  await a.end();
  const c = await open(port, { protocolVersion: 5, clientId: `c-${uniq()}` });
  assert.equal(await granted(c, `$exclusive/${topic}`), 1);

  // Through the API: a client subscribed for it is refused while another holds the filter, and
  // holds it once free.
  const token = await login(node.dashboardPort!);
  const d = await open(port, { protocolVersion: 5, clientId: `d-${uniq()}` });
  const viaApi = (clientId: string, path: string, body: unknown): ReturnType<typeof http> => http(node.dashboardPort!, 'POST', `/api/v5/clients/${clientId}/${path}`, { token, body });
  const refused = await viaApi(d.mqtt.options.clientId!, 'subscribe', { topic: `$exclusive/${topic}`, qos: 1 });
  assert.equal(refused.status, 400, refused.text);
  assert.match(refused.text, /held by another client/);
  assert.equal((await viaApi(c.mqtt.options.clientId!, 'unsubscribe', { topic: `$exclusive/${topic}` })).status, 204);
  assert.equal((await viaApi(d.mqtt.options.clientId!, 'subscribe', { topic: `$exclusive/${topic}`, qos: 1 })).status, 200);
  assert.equal(await granted(c, `$exclusive/${topic}`), 0x97);
});
