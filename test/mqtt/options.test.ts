// mqtt.* options of EMQX that change what clients see, each applied to the running node by
// reloading emqx.conf: upgrade_qos, ignore_loop_deliver, use_username_as_clientid,
// keepalive_multiplier, idle_timeout.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestNode } from '../helpers/launcher.js';
import { applyConf, closeAll, open, RawClient, startMqttNode, uniq, type Client } from '../helpers/mqtt-client.js';

let node: TestNode;
let port: number;

before(async () => {
  node = await startMqttNode({ name: 'mqttoptions@127.0.0.1', mqtt: true });
  port = node.mqttPort!;
});

after(async () => {
  await closeAll();
  RawClient.destroyAll();
  await node?.cleanup();
});

/** Publishes a marker to `topic` and waits for `c` to get it. */
async function settle(c: Client, topic: string): Promise<void> {
  const marker = `marker-${uniq()}`;
  const p = await open(port, { protocolVersion: 5 });
  await p.publish(topic, marker, { qos: 1 });
  await c.inbox.get(topic, marker);
  await p.end();
}

test('mqtt.upgrade_qos = true: delivered at the subscription’s QoS, live and retained', async () => {
  await applyConf(node, 'mqtt.upgrade_qos = true', 'mqtt.upgrade_qos', 'true');
  try {
    const topic = `options/upgrade/${uniq()}`;
    const pub = await open(port, { protocolVersion: 5 });
    await pub.publish(topic, 'retained-q0', { qos: 0, retain: true });
    const sub = await open(port, { protocolVersion: 5 });
    await sub.subscribe(topic, { qos: 2 });
    const r = await sub.inbox.get(topic, 'retained-q0');
    assert.equal(r.packet.qos, 2, 'the retained message');
    await pub.publish(topic, 'live-q0', { qos: 0 });
    const l = await sub.inbox.get(topic, 'live-q0');
    assert.equal(l.packet.qos, 2, 'the live message');
    await pub.publish(topic, '', { qos: 0, retain: true });
    await Promise.all([pub.end(), sub.end()]);
  } finally {
    await applyConf(node, '', 'mqtt.upgrade_qos', 'false');
  }
  // Back to the default: min(published, granted).
  const topic = `options/upgrade-off/${uniq()}`;
  const sub = await open(port, { protocolVersion: 5 });
  await sub.subscribe(topic, { qos: 2 });
  const pub = await open(port, { protocolVersion: 5 });
  await pub.publish(topic, 'q0', { qos: 0 });
  assert.equal((await sub.inbox.get(topic, 'q0')).packet.qos, 0);
  await Promise.all([pub.end(), sub.end()]);
});

test('mqtt.ignore_loop_deliver = true: a 3.x client does not get its own messages; a v5 client still does (it has No Local)', async () => {
  await applyConf(node, 'mqtt.ignore_loop_deliver = true', 'mqtt.ignore_loop_deliver', 'true');
  try {
    const topic = `options/loop/${uniq()}`;
    const v4 = await open(port, { protocolVersion: 4 });
    await v4.subscribe(topic, { qos: 1 });
    const v5 = await open(port, { protocolVersion: 5 });
    await v5.subscribe(topic, { qos: 1 });
    await v4.publish(topic, 'from-v4', { qos: 1 });
    await v5.inbox.get(topic, 'from-v4');
    await v5.publish(topic, 'from-v5', { qos: 1 });
    await v5.inbox.get(topic, 'from-v5');
    await v4.inbox.get(topic, 'from-v5');
    assert.deepEqual(v4.inbox.texts(), ['from-v5']);
    await Promise.all([v4.end(), v5.end()]);
  } finally {
    await applyConf(node, '', 'mqtt.ignore_loop_deliver', 'false');
  }
});

test('mqtt.use_username_as_clientid = true: the session is known by the username', async () => {
  await applyConf(node, 'mqtt.use_username_as_clientid = true', 'mqtt.use_username_as_clientid', 'true');
  try {
    const user = `user-${uniq()}`;
    const c = await open(port, { protocolVersion: 5, clientId: `ignored-${uniq()}`, username: user, password: Buffer.from('x') });
    const show = await node.ctl(['clients', 'show', user]);
    assert.equal(show.code, 0, show.stdout);
    assert.ok(show.stdout.startsWith(`Client(${user}, username=${user}, `), show.stdout);
    // Without a username the client id stays.
    const id = `plain-${uniq()}`;
    const d = await open(port, { protocolVersion: 4, clientId: id });
    assert.equal((await node.ctl(['clients', 'show', id])).code, 0);
    await Promise.all([c.end(), d.end()]);
  } finally {
    await applyConf(node, '', 'mqtt.use_username_as_clientid', 'false');
  }
});

test('mqtt.keepalive_multiplier = 3: a client silent for 1.5 × keepalive stays; past 3 × it is closed', async () => {
  await applyConf(node, 'mqtt.keepalive_multiplier = 3', 'mqtt.keepalive_multiplier', '3');
  try {
    const raw = await RawClient.connect(port, 5);
    const started = performance.now();
    await raw.handshake(`kam-${uniq()}`, { keepalive: 1 });
    await raw.next((p) => p.cmd === 'disconnect', 6000, 'DISCONNECT');
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 2900 && elapsed < 5000, `closed after ${Math.round(elapsed)} ms`);
  } finally {
    await applyConf(node, '', 'mqtt.keepalive_multiplier', '1.5');
  }
});

test('mqtt.idle_timeout = 1s: a connection that sends no CONNECT is closed after it', async () => {
  await applyConf(node, 'mqtt.idle_timeout = 1s', 'mqtt.idle_timeout', '1s');
  try {
    const raw = await RawClient.connect(port, 4);
    const started = performance.now();
    await raw.waitClosed(5000);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 900 && elapsed < 3500, `closed after ${Math.round(elapsed)} ms`);
    assert.deepEqual(raw.received, []);
  } finally {
    await applyConf(node, '', 'mqtt.idle_timeout', '15s');
  }
  // A client that connects in time is unaffected.
  const c = await open(port, { protocolVersion: 5 });
  const topic = `options/idle/${uniq()}`;
  await c.subscribe(topic, { qos: 1 });
  await settle(c, topic);
  await c.end();
});
