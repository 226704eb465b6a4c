// Sessions against a running node: clean start and session expiry (offline QoS 0/1/2 queued for a
// persistent session and delivered on reconnect, mqtt.mqueue_store_qos0, the session gone after
// its expiry), message expiry while queued, and takeover by a second connection with the same
// client id (DISCONNECT 0x8E to the old one, subscriptions carried over).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IDisconnectPacket } from 'mqtt-packet';
import type { TestNode } from '../helpers/launcher.js';
import { applyConf, closeAll, open, poll, RawClient, startMqttNode, uniq, within } from '../helpers/mqtt-client.js';

let node: TestNode;
let port: number;

before(async () => {
  node = await startMqttNode({ name: 'mqttsession@127.0.0.1', mqtt: true });
  port = node.mqttPort!;
});

after(async () => {
  await closeAll();
  RawClient.destroyAll();
  await node?.cleanup();
});

/** `clients show <id>` as a line, or undefined when the node has no such session. */
async function show(id: string): Promise<string | undefined> {
  const r = await node.ctl(['clients', 'show', id]);
  if (r.code !== 0) {
    assert.equal(r.stdout, 'Not Found.\n');
    return undefined;
  }
  return r.stdout;
}

describe('persistent sessions and the offline queue', () => {
  for (const level of [4, 5] as const) {
    const v = level === 5 ? 'v5' : 'v3.1.1';
    test(`${v}: QoS 0, 1 and 2 published while offline are delivered on reconnect, in order, with sessionPresent`, async () => {
      const id = `offline${level}-${uniq()}`;
      const topic = `session/offline/${id}`;
      const keep = level === 5 ? { clean: true, properties: { sessionExpiryInterval: 300 } } : { clean: false };
      const first = await open(port, { protocolVersion: level, clientId: id, ...keep });
      await first.subscribe(topic, { qos: 2 });
      await first.end();
      assert.match((await show(id)) ?? '', /connected=false/);

      const pub = await open(port, { protocolVersion: level });
      await pub.publish(topic, 'zero', { qos: 0 });
      await pub.publish(topic, 'one', { qos: 1 });
      await pub.publish(topic, 'two', { qos: 2 });
      // QoS 0 goes out without an acknowledgement: wait until the node has queued all three.
      await poll(async () => ((await show(id)) ?? '').includes('enqueued_msgs=3,') || undefined, 5000, 'three queued messages');

      const back = await open(port, { protocolVersion: level, clientId: id, clean: false, ...(level === 5 ? { properties: { sessionExpiryInterval: 300 } } : {}) });
      assert.equal(back.connack.sessionPresent, true);
      const got = await back.inbox.count(3);
      assert.deepEqual(got.map((m) => [m.payload.toString(), m.packet.qos]), [
        ['zero', 0],
        ['one', 1],
        ['two', 2],
      ]);
      // The subscription survived too: a new message arrives without subscribing again.
      await pub.publish(topic, 'live', { qos: 1 });
      await back.inbox.get(topic, 'live');
      await Promise.all([back.end(), pub.end()]);
      await node.ctl(['clients', 'kick', id]);
    });
  }

  test('mqtt.mqueue_store_qos0 = false: QoS 0 is not queued for an offline client, QoS 1 still is', async () => {
    const r = await applyConf(node, 'mqtt.mqueue_store_qos0 = false', 'mqtt.mqueue_store_qos0', 'false');
    try {
      const id = `noqos0-${uniq()}`;
      const topic = `session/noqos0/${id}`;
      const first = await open(port, { protocolVersion: 5, clientId: id, properties: { sessionExpiryInterval: 300 } });
      await first.subscribe(topic, { qos: 1 });
      await first.end();
      const pub = await open(port, { protocolVersion: 5 });
      await pub.publish(topic, 'zero', { qos: 0 });
      await pub.publish(topic, 'one', { qos: 1 });
      const back = await open(port, { protocolVersion: 5, clientId: id, clean: false, properties: { sessionExpiryInterval: 300 } });
      assert.equal(back.connack.sessionPresent, true);
      await back.inbox.get(topic, 'one');
      assert.deepEqual(back.inbox.texts(), ['one']);
      const metrics = await node.ctl(['broker', 'metrics']);
      assert.match(metrics.stdout, /delivery\.dropped\.qos0_msg\s*: [1-9]/);
      await Promise.all([back.end(), pub.end()]);
      await node.ctl(['clients', 'kick', id]);
    } finally {
      await applyConf(node, '', 'mqtt.mqueue_store_qos0', 'true');
    }
    assert.ok(r.code === 0, r.stdout + r.stderr);
  });

  test('v5 clean start: a new session (sessionPresent false) and the old subscriptions gone', async () => {
    const id = `cleanstart-${uniq()}`;
    const topic = `session/clean/${id}`;
    const first = await open(port, { protocolVersion: 5, clientId: id, properties: { sessionExpiryInterval: 300 } });
    await first.subscribe(topic, { qos: 1 });
    await first.end();
    const again = await open(port, { protocolVersion: 5, clientId: id, clean: true, properties: { sessionExpiryInterval: 300 } });
    assert.equal(again.connack.sessionPresent, false);
    const subs = await node.ctl(['subscriptions', 'show', id]);
    assert.equal(subs.stdout, 'Not Found.\n');
    await again.end();
    await node.ctl(['clients', 'kick', id]);
  });

  test('v5 session expiry interval 0 with clean start false: the session ends with the connection', async () => {
    const id = `expiry0-${uniq()}`;
    const first = await open(port, { protocolVersion: 5, clientId: id, clean: false });
    await first.subscribe(`session/e0/${id}`, { qos: 1 });
    await first.end();
    assert.equal(await show(id), undefined);
    const again = await open(port, { protocolVersion: 5, clientId: id, clean: false });
    assert.equal(again.connack.sessionPresent, false);
    await again.end();
  });

  test('v5 session expiry interval 2 s: kept while it runs, gone after it (sessionPresent false)', async () => {
    const id = `expiry2-${uniq()}`;
    const first = await open(port, { protocolVersion: 5, clientId: id, properties: { sessionExpiryInterval: 2 } });
    await first.subscribe(`session/e2/${id}`, { qos: 1 });
    const endedAt = Date.now();
    await first.end();
    assert.match((await show(id)) ?? '', /session_expiry_interval=2, subscriptions=1,.*connected=false/);
    await poll(async () => ((await show(id)) === undefined ? true : undefined), 6000, 'the session to expire');
    const lived = Date.now() - endedAt;
    assert.ok(lived >= 1900, `session gone after ${lived} ms`);
    const again = await open(port, { protocolVersion: 5, clientId: id, clean: false, properties: { sessionExpiryInterval: 2 } });
    assert.equal(again.connack.sessionPresent, false);
    await again.end({ properties: { sessionExpiryInterval: 0 } });
  });

  test('v5: a session expiry above mqtt.session_expiry_interval (2 h) is capped, and the CONNACK says so', async () => {
    const id = `cap-${uniq()}`;
    const c = await open(port, { protocolVersion: 5, clientId: id, properties: { sessionExpiryInterval: 0xffffffff } });
    assert.equal(c.connack.properties?.sessionExpiryInterval, 7200);
    const d = await open(port, { protocolVersion: 5, properties: { sessionExpiryInterval: 60 } });
    assert.equal(d.connack.properties?.sessionExpiryInterval, undefined);
    assert.match((await show(id)) ?? '', /session_expiry_interval=7200,/);
    await c.end({ properties: { sessionExpiryInterval: 0 } });
    await d.end({ properties: { sessionExpiryInterval: 0 } });
  });

  test('v5 DISCONNECT setting a session expiry on a session that had none: DISCONNECT 0x82', async () => {
    const { raw } = await RawClient.session(port, 5, `disc82-${uniq()}`);
    raw.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 60 } });
    const d = await raw.next<IDisconnectPacket>((p) => p.cmd === 'disconnect', 5000, 'DISCONNECT from the node');
    assert.equal(d.reasonCode, 0x82);
    await raw.waitClosed(5000);
  });

  test('v5 DISCONNECT may shorten the session expiry to 0: the session ends at once', async () => {
    const id = `discexp-${uniq()}`;
    const c = await open(port, { protocolVersion: 5, clientId: id, properties: { sessionExpiryInterval: 300 } });
    await c.end({ properties: { sessionExpiryInterval: 0 } });
    assert.equal(await show(id), undefined);
  });
});

describe('message expiry', () => {
  test('a queued message past its expiry interval is not delivered; a live one carries the remaining interval', async () => {
    const id = `msgexp-${uniq()}`;
    const topic = `session/msgexp/${id}`;
    const first = await open(port, { protocolVersion: 5, clientId: id, properties: { sessionExpiryInterval: 300 } });
    await first.subscribe(topic, { qos: 1 });
    await first.end();
    const pub = await open(port, { protocolVersion: 5 });
    await pub.publish(topic, 'short', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.publish(topic, 'long', { qos: 1, properties: { messageExpiryInterval: 60 } });
    await pub.publish(topic, 'forever', { qos: 1 });
    // No event marks an expiry: the first message must simply be older than its 1 s.
    await new Promise((r) => setTimeout(r, 2100));
    const back = await open(port, { protocolVersion: 5, clientId: id, clean: false, properties: { sessionExpiryInterval: 300 } });
    await back.inbox.get(topic, 'forever');
    assert.deepEqual(back.inbox.texts(), ['long', 'forever']);
    const long = back.inbox.messages[0]!.packet.properties?.messageExpiryInterval;
    assert.ok(long !== undefined && long <= 58 && long >= 50, `remaining expiry interval: ${long}`);
    assert.equal(back.inbox.messages[1]!.packet.properties?.messageExpiryInterval, undefined);
    const metrics = await node.ctl(['broker', 'metrics']);
    assert.match(metrics.stdout, /delivery\.dropped\.expired\s*: [1-9]/);
    await back.end({ properties: { sessionExpiryInterval: 0 } });
    await pub.end();
  });

  test('a message delivered at once carries its expiry interval (not larger than published)', async () => {
    const topic = `session/msgexp-live/${uniq()}`;
    const sub = await open(port, { protocolVersion: 5 });
    await sub.subscribe(topic, { qos: 1 });
    const pub = await open(port, { protocolVersion: 5 });
    await pub.publish(topic, 'x', { qos: 1, properties: { messageExpiryInterval: 30 } });
    const m = await sub.inbox.get(topic, 'x');
    const left = m.packet.properties?.messageExpiryInterval;
    assert.ok(left === 30 || left === 29, `messageExpiryInterval ${left}`);
    await Promise.all([sub.end(), pub.end()]);
  });

  test('mqtt.message_expiry_interval, as EMQX: expires messages without an interval (shown none), a publisher\'s own interval wins', async () => {
    await applyConf(node, 'mqtt.message_expiry_interval = 1s', 'mqtt.message_expiry_interval', '1s');
    try {
      const id = `msgexp-default-${uniq()}`;
      const topic = `session/msgexp-default/${id}`;
      const sub = await open(port, { protocolVersion: 5, clientId: id, properties: { sessionExpiryInterval: 300 } });
      await sub.subscribe(topic, { qos: 1 });
      const pub = await open(port, { protocolVersion: 5 });
      await pub.publish(topic, 'live', { qos: 1 });
      const live = await sub.inbox.get(topic, 'live');
      assert.equal(live.packet.properties?.messageExpiryInterval, undefined, 'an expiry the publisher did not give is not shown');
      await sub.end();
      await pub.publish(topic, 'by-default', { qos: 1 });
      await pub.publish(topic, 'own-interval', { qos: 1, properties: { messageExpiryInterval: 60 } });
      await pub.publish(topic, 'last', { qos: 1, properties: { messageExpiryInterval: 60 } });
      // No event marks an expiry: the queued messages must simply be older than the 1 s default.
      await new Promise((r) => setTimeout(r, 2100));
      const back = await open(port, { protocolVersion: 5, clientId: id, clean: false, properties: { sessionExpiryInterval: 300 } });
      await back.inbox.get(topic, 'last');
      assert.deepEqual(back.inbox.texts(), ['own-interval', 'last']);
      const left = back.inbox.messages[0]!.packet.properties?.messageExpiryInterval;
      assert.ok(left !== undefined && left <= 58 && left >= 50, `the publisher's interval, not capped at the default: ${left}`);
      await back.end({ properties: { sessionExpiryInterval: 0 } });
      await pub.end();
    } finally {
      await applyConf(node, '', 'mqtt.message_expiry_interval', 'infinity');
    }
  });
});

describe('takeover', () => {
  test('v5: a second connection with the same id takes the session; the first gets DISCONNECT 0x8E; subscriptions carry over', async () => {
    const id = `takeover5-${uniq()}`;
    const topic = `session/takeover/${id}`;
    const first = await open(port, { protocolVersion: 5, clientId: id, properties: { sessionExpiryInterval: 300 } });
    await first.subscribe(topic, { qos: 1 });
    const second = await open(port, { protocolVersion: 5, clientId: id, clean: false, properties: { sessionExpiryInterval: 300 } });
    assert.equal(second.connack.sessionPresent, true);
    await within(first.closed, 5000, 'the first connection to close');
    assert.equal((first.disconnect as IDisconnectPacket | undefined)?.reasonCode, 0x8e);
    const pub = await open(port, { protocolVersion: 5 });
    await pub.publish(topic, 'to-second', { qos: 1 });
    await second.inbox.get(topic, 'to-second');
    assert.equal(first.inbox.messages.length, 0);
    const list = await node.ctl(['clients', 'list']);
    assert.equal(list.stdout.split('\n').filter((l) => l.startsWith(`Client(${id},`)).length, 1, list.stdout);
    const metrics = await node.ctl(['broker', 'metrics']);
    assert.match(metrics.stdout, /session\.takenover\s*: [1-9]/);
    await second.end({ properties: { sessionExpiryInterval: 0 } });
    await pub.end();
  });

  test('v5: a takeover with clean start discards the old session (sessionPresent false, no subscriptions)', async () => {
    const id = `takeoverclean-${uniq()}`;
    const first = await open(port, { protocolVersion: 5, clientId: id, properties: { sessionExpiryInterval: 300 } });
    await first.subscribe(`session/tc/${id}`, { qos: 1 });
    const second = await open(port, { protocolVersion: 5, clientId: id, clean: true });
    assert.equal(second.connack.sessionPresent, false);
    await within(first.closed, 5000, 'the first connection to close');
    assert.equal((first.disconnect as IDisconnectPacket | undefined)?.reasonCode, 0x8e);
    assert.equal((await node.ctl(['subscriptions', 'show', id])).stdout, 'Not Found.\n');
    await second.end();
  });

  test('3.1.1: the first connection is closed (no packet), the second resumes with its subscriptions', async () => {
    const id = `takeover4-${uniq()}`;
    const topic = `session/takeover4/${id}`;
    const { raw: first } = await RawClient.session(port, 4, id, { clean: false });
    first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
    await first.next((p) => p.cmd === 'suback', 5000, 'SUBACK');
    const second = await open(port, { protocolVersion: 4, clientId: id, clean: false });
    assert.equal(second.connack.sessionPresent, true);
    await first.waitClosed(5000);
    assert.deepEqual(first.received.map((p) => p.cmd), ['connack', 'suback']);
    const pub = await open(port, { protocolVersion: 4 });
    await pub.publish(topic, 'resumed', { qos: 1 });
    await second.inbox.get(topic, 'resumed');
    await Promise.all([second.end(), pub.end()]);
    await node.ctl(['clients', 'kick', id]);
  });
});
