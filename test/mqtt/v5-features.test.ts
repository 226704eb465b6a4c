// MQTT 5 features against a running node, plus the topic rules every version shares: topic
// aliases both ways, Receive Maximum (the inflight window), Maximum Packet Size both ways,
// subscription identifiers, No Local, user properties and request/response, `$` topics and
// wildcards, topic name and filter validation, overlapping subscriptions, and the availability
// switches (wildcard, shared, retain, max_subscriptions) applied by a reload.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IConnackPacket, IDisconnectPacket, IPublishPacket, ISubackPacket, IUnsubackPacket } from 'mqtt-packet';
import type { TestNode } from '../helpers/launcher.js';
import { applyConf, closeAll, open, parseTable, RawClient, startMqttNode, uniq, type Client } from '../helpers/mqtt-client.js';

const MAX_TOPIC_ALIAS = 10;
const MAX_PACKET_SIZE = 4096;
const MAX_TOPIC_LEVELS = 8;
const RESPONSE_INFORMATION = 'responses/';

let node: TestNode;
let port: number;

before(async () => {
  node = await startMqttNode({
    name: 'mqttv5@127.0.0.1',
    mqtt: true,
    env: {
      EMQX_MQTT__MAX_TOPIC_ALIAS: String(MAX_TOPIC_ALIAS),
      EMQX_MQTT__MAX_PACKET_SIZE: String(MAX_PACKET_SIZE),
      EMQX_MQTT__MAX_TOPIC_LEVELS: String(MAX_TOPIC_LEVELS),
      EMQX_MQTT__RESPONSE_INFORMATION: `"${RESPONSE_INFORMATION}"`,
    },
  });
  port = node.mqttPort!;
});

after(async () => {
  await closeAll();
  RawClient.destroyAll();
  await node?.cleanup();
});

const isPublish = (p: { cmd: string }): boolean => p.cmd === 'publish';

async function subscribeRaw(raw: RawClient, subscriptions: Array<{ topic: string; qos: 0 | 1 | 2; nl?: boolean }>, properties?: ISubackPacket['properties'] & { subscriptionIdentifier?: number }): Promise<ISubackPacket> {
  const messageId = 1 + Math.floor(Math.random() * 60000);
  const from = raw.received.length;
  raw.send({ cmd: 'subscribe', messageId, subscriptions, ...(properties ? { properties } : {}) });
  return raw.next<ISubackPacket>((p) => p.cmd === 'suback' && p.messageId === messageId, 5000, 'SUBACK', from);
}

async function ping(raw: RawClient): Promise<void> {
  const from = raw.received.length;
  raw.send({ cmd: 'pingreq' });
  await raw.next((p) => p.cmd === 'pingresp', 5000, 'PINGRESP', from);
}

/** Publishes a marker and waits for `c` to receive it. */
async function settle(c: Client, topic: string): Promise<void> {
  const marker = `marker-${uniq()}`;
  const p = await open(port, { protocolVersion: 5 });
  await p.publish(topic, marker, { qos: 1 });
  await c.inbox.get(topic, marker);
  await p.end();
}

async function metric(name: string): Promise<number> {
  const r = await node.ctl(['broker', 'metrics']);
  const v = parseTable(r.stdout).get(name);
  assert.ok(v !== undefined, `metric ${name} in:\n${r.stdout}`);
  return v;
}

describe('CONNACK properties', () => {
  test('the node announces its limits', async () => {
    const { raw, connack } = await RawClient.session(port, 5, `props-${uniq()}`, { properties: { requestResponseInformation: true } });
    assert.equal(connack.properties?.topicAliasMaximum, MAX_TOPIC_ALIAS);
    assert.equal(connack.properties?.maximumPacketSize, MAX_PACKET_SIZE);
    assert.equal(connack.properties?.responseInformation, RESPONSE_INFORMATION);
    raw.destroy();
  });
});

describe('topic aliases', () => {
  test('client → node: an alias set with a topic is used by later PUBLISH packets with an empty topic', async () => {
    const topic = `v5/alias/in/${uniq()}`;
    const sub = await open(port, { protocolVersion: 5 });
    await sub.subscribe(topic, { qos: 1 });
    const { raw } = await RawClient.session(port, 5, `alias-in-${uniq()}`);
    raw.send({ cmd: 'publish', topic, payload: Buffer.from('first'), qos: 1, messageId: 1, retain: false, dup: false, properties: { topicAlias: 3 } });
    raw.send({ cmd: 'publish', topic: '', payload: Buffer.from('second'), qos: 1, messageId: 2, retain: false, dup: false, properties: { topicAlias: 3 } });
    await raw.until(() => raw.received.filter((p) => p.cmd === 'puback').length === 2, 5000, 'two PUBACKs');
    await sub.inbox.count(2);
    assert.deepEqual(sub.inbox.messages.map((m) => [m.topic, m.payload.toString()]), [
      [topic, 'first'],
      [topic, 'second'],
    ]);
    raw.destroy();
    await sub.end();
  });

  for (const [what, alias, topic, rc] of [
    ['alias 0', 0, 'v5/alias/zero', 0x94],
    [`alias above mqtt.max_topic_alias (${MAX_TOPIC_ALIAS})`, MAX_TOPIC_ALIAS + 1, 'v5/alias/big', 0x94],
    ['an alias never set, with an empty topic', 5, '', 0x82],
  ] as const) {
    test(`client → node: ${what} → DISCONNECT 0x${rc.toString(16)}`, async () => {
      const { raw } = await RawClient.session(port, 5, `alias-bad-${uniq()}`);
      raw.send({ cmd: 'publish', topic, payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { topicAlias: alias } });
      const d = await raw.next<IDisconnectPacket>((p) => p.cmd === 'disconnect', 5000, 'DISCONNECT');
      assert.equal(d.reasonCode, rc);
      await raw.waitClosed(5000);
    });
  }

  test('node → client: aliases up to the client’s Topic Alias Maximum, then full topics', async () => {
    const base = `v5/alias/out/${uniq()}`;
    const { raw } = await RawClient.session(port, 5, `alias-out-${uniq()}`, { properties: { topicAliasMaximum: 2 } });
    await subscribeRaw(raw, [{ topic: `${base}/#`, qos: 0 }]);
    const pub = await open(port, { protocolVersion: 5 });
    for (const t of ['a', 'b', 'a', 'c', 'b', 'c']) await pub.publish(`${base}/${t}`, t, { qos: 1 });
    await raw.until(() => raw.publishes().length === 6, 5000, 'six PUBLISH');
    const seen = raw.publishes().map((p) => [p.topic, p.payload.toString(), p.properties?.topicAlias]);
    assert.deepEqual(seen, [
      [`${base}/a`, 'a', 1],
      [`${base}/b`, 'b', 2],
      ['', 'a', 1],
      [`${base}/c`, 'c', undefined],
      ['', 'b', 2],
      [`${base}/c`, 'c', undefined],
    ]);
    raw.destroy();
    await pub.end();
  });

  test('node → client: a message too large for the client assigns no alias (the next one on its topic carries the topic)', async () => {
    const topic = `v5/alias/big/${uniq()}`;
    const { raw } = await RawClient.session(port, 5, `alias-big-${uniq()}`, { properties: { topicAliasMaximum: 4, maximumPacketSize: 200 } });
    await subscribeRaw(raw, [{ topic, qos: 0 }]);
    const pub = await open(port, { protocolVersion: 5 });
    await pub.publish(topic, 'x'.repeat(500), { qos: 1 });
    await pub.publish(topic, 'small', { qos: 1 });
    await pub.publish(topic, 'again', { qos: 1 });
    await raw.until(() => raw.publishes().length === 2, 5000, 'two PUBLISH');
    const [first, second] = raw.publishes();
    // The client never saw the dropped message: the first one it gets must name the topic.
    assert.deepEqual([first!.topic, first!.payload.toString(), first!.properties?.topicAlias], [topic, 'small', 1]);
    assert.deepEqual([second!.topic, second!.payload.toString(), second!.properties?.topicAlias], ['', 'again', 1]);
    raw.destroy();
    await pub.end();
  });

  test('node → client: no alias for a client that did not ask for any', async () => {
    const topic = `v5/alias/none/${uniq()}`;
    const { raw } = await RawClient.session(port, 5, `alias-none-${uniq()}`);
    await subscribeRaw(raw, [{ topic, qos: 0 }]);
    const pub = await open(port, { protocolVersion: 5 });
    await pub.publish(topic, '1', { qos: 1 });
    await pub.publish(topic, '2', { qos: 1 });
    await raw.until(() => raw.publishes().length === 2, 5000, 'two PUBLISH');
    assert.ok(raw.publishes().every((p) => p.topic === topic && p.properties?.topicAlias === undefined));
    raw.destroy();
    await pub.end();
  });

  test('node → client with mqtt.js: aliased messages reach the application under their topics', async () => {
    const base = `v5/alias/js/${uniq()}`;
    const sub = await open(port, { protocolVersion: 5, properties: { topicAliasMaximum: 5 } });
    await sub.subscribe(`${base}/+`, { qos: 1 });
    const pub = await open(port, { protocolVersion: 5 });
    for (let i = 0; i < 6; i++) await pub.publish(`${base}/${i % 2}`, String(i), { qos: 1 });
    await sub.inbox.count(6);
    assert.deepEqual(sub.inbox.messages.map((m) => `${m.topic}:${m.payload.toString()}`), [0, 1, 2, 3, 4, 5].map((i) => `${base}/${i % 2}:${i}`));
    await Promise.all([sub.end(), pub.end()]);
  });
});

describe('receive maximum and maximum packet size', () => {
  test('Receive Maximum 2: never more than 2 unacknowledged QoS 1 messages in flight', async () => {
    const topic = `v5/recvmax/${uniq()}`;
    const { raw } = await RawClient.session(port, 5, `recvmax-${uniq()}`, { properties: { receiveMaximum: 2 } });
    await subscribeRaw(raw, [{ topic, qos: 1 }]);
    const pub = await open(port, { protocolVersion: 5 });
    for (let i = 0; i < 10; i++) await pub.publish(topic, `m${i}`, { qos: 1 });
    await raw.until(() => raw.publishes().length >= 2, 5000, 'two PUBLISH');
    await ping(raw);
    assert.equal(raw.publishes().length, 2, 'only the window is sent before any PUBACK');
    // Acknowledge one at a time: each PUBACK lets exactly one more through.
    let acked = 0;
    while (acked < 10) {
      const sent = raw.publishes();
      assert.ok(sent.length - acked <= 2, `${sent.length - acked} unacknowledged`);
      raw.send({ cmd: 'puback', messageId: sent[acked]!.messageId! });
      acked++;
      if (acked < 9) await raw.until(() => raw.publishes().length === acked + 2, 5000, `PUBLISH #${acked + 2}`);
      else await ping(raw);
    }
    assert.deepEqual(raw.publishes().map((p) => p.payload.toString()), Array.from({ length: 10 }, (_, i) => `m${i}`));
    raw.destroy();
    await pub.end();
  });

  test('the client’s Maximum Packet Size: a larger message is not sent to it (and counted); smaller ones are', async () => {
    const topic = `v5/maxpkt/client/${uniq()}`;
    const { raw } = await RawClient.session(port, 5, `maxpkt-${uniq()}`, { properties: { maximumPacketSize: 200 } });
    await subscribeRaw(raw, [{ topic, qos: 1 }]);
    const before = await metric('delivery.dropped.too_large');
    const pub = await open(port, { protocolVersion: 5 });
    await pub.publish(topic, 'small', { qos: 1 });
    await pub.publish(topic, 'x'.repeat(500), { qos: 1 });
    await pub.publish(topic, 'small-again', { qos: 1 });
    await raw.until(() => raw.publishes().length >= 2, 5000, 'two PUBLISH');
    for (const p of raw.publishes()) raw.send({ cmd: 'puback', messageId: p.messageId! });
    await ping(raw);
    assert.deepEqual(raw.publishes().map((p) => p.payload.toString()), ['small', 'small-again']);
    assert.equal(raw.closed, false);
    assert.equal(await metric('delivery.dropped.too_large'), before + 1);
    raw.destroy();
    await pub.end();
  });

  test(`mqtt.max_packet_size (${MAX_PACKET_SIZE} bytes): a larger PUBLISH gets DISCONNECT 0x95 and the close`, async () => {
    const { raw } = await RawClient.session(port, 5, `toolarge-${uniq()}`);
    raw.send({ cmd: 'publish', topic: 'v5/maxpkt/server', payload: Buffer.alloc(MAX_PACKET_SIZE), qos: 0, retain: false, dup: false });
    const d = await raw.next<IDisconnectPacket>((p) => p.cmd === 'disconnect', 5000, 'DISCONNECT');
    assert.equal(d.reasonCode, 0x95);
    await raw.waitClosed(5000);
    // 3.1.1: closed without a packet.
    const { raw: r4 } = await RawClient.session(port, 4, `toolarge4-${uniq()}`);
    r4.send({ cmd: 'publish', topic: 'v5/maxpkt/server', payload: Buffer.alloc(MAX_PACKET_SIZE), qos: 0, retain: false, dup: false });
    await r4.waitClosed(5000);
    assert.deepEqual(r4.received.map((p) => p.cmd), ['connack']);
  });
});

describe('subscription identifiers, no local, properties', () => {
  test('subscription identifiers: each matching subscription’s identifier, one message per client', async () => {
    const base = `v5/subid/${uniq()}`;
    const { raw } = await RawClient.session(port, 5, `subid-${uniq()}`);
    await subscribeRaw(raw, [{ topic: `${base}/+`, qos: 1 }], { subscriptionIdentifier: 7 });
    await subscribeRaw(raw, [{ topic: `${base}/b`, qos: 0 }], { subscriptionIdentifier: 300 });
    await subscribeRaw(raw, [{ topic: `${base}/#`, qos: 0 }]);
    const pub = await open(port, { protocolVersion: 5 });
    await pub.publish(`${base}/a`, 'a', { qos: 1 });
    await pub.publish(`${base}/b`, 'b', { qos: 1 });
    await pub.publish(`${base}/c/d`, 'cd', { qos: 1 });
    await raw.until(() => raw.publishes().length >= 3, 5000, 'three PUBLISH');
    for (const p of raw.publishes()) if (p.qos > 0) raw.send({ cmd: 'puback', messageId: p.messageId! });
    await ping(raw);
    const got = raw.publishes().map((p) => {
      const ids = p.properties?.subscriptionIdentifier;
      return [p.payload.toString(), p.qos, ids === undefined ? [] : ([] as number[]).concat(ids).sort((x, y) => x - y)];
    });
    assert.deepEqual(got, [
      ['a', 1, [7]],
      ['b', 1, [7, 300]],
      ['cd', 0, []],
    ]);
    raw.destroy();
    await pub.end();
  });

  test('subscription identifier 0 is a protocol error (DISCONNECT 0x82)', async () => {
    const { raw } = await RawClient.session(port, 5, `subid0-${uniq()}`);
    // mqtt-packet will not write identifier 0: SUBSCRIBE id 1, properties [0x0B 0x00], filter "a", options 0.
    raw.socket.write(Buffer.from([0x82, 0x09, 0x00, 0x01, 0x02, 0x0b, 0x00, 0x00, 0x01, 0x61, 0x00]));
    const d = await raw.next<IDisconnectPacket>((p) => p.cmd === 'disconnect', 5000, 'DISCONNECT');
    assert.equal(d.reasonCode, 0x82);
  });

  test('No Local: a client does not get its own messages on a no-local subscription; others do', async () => {
    const topic = `v5/nolocal/${uniq()}`;
    const me = await open(port, { protocolVersion: 5 });
    await me.subscribe(topic, { qos: 1, nl: true });
    const other = await open(port, { protocolVersion: 5 });
    await other.subscribe(topic, { qos: 1 });
    await me.publish(topic, 'mine', { qos: 1 });
    await other.inbox.get(topic, 'mine');
    await settle(me, topic);
    assert.deepEqual(me.inbox.texts().filter((t) => !t.startsWith('marker-')), []);
    // Without No Local the publisher gets its own message.
    const echo = await open(port, { protocolVersion: 5 });
    await echo.subscribe(topic, { qos: 1, nl: false });
    await echo.publish(topic, 'echo', { qos: 1 });
    await echo.inbox.get(topic, 'echo');
    await Promise.all([me.end(), other.end(), echo.end()]);
  });

  test('user properties, content type, payload format and correlation data reach the subscriber', async () => {
    const topic = `v5/props/${uniq()}`;
    const sub = await open(port, { protocolVersion: 5 });
    await sub.subscribe(topic, { qos: 1 });
    const pub = await open(port, { protocolVersion: 5 });
    await pub.publish(topic, 'héllo', {
      qos: 1,
      properties: { userProperties: { a: '1', list: ['x', 'y'] }, contentType: 'text/plain', payloadFormatIndicator: true, responseTopic: `${topic}/reply`, correlationData: Buffer.from([1, 2, 3]) },
    });
    const m = await sub.inbox.get(topic);
    const p = m.packet.properties!;
    assert.deepEqual({ ...p.userProperties }, { a: '1', list: ['x', 'y'] });
    assert.equal(p.contentType, 'text/plain');
    assert.equal(p.payloadFormatIndicator, true);
    assert.equal(p.responseTopic, `${topic}/reply`);
    assert.deepEqual([...p.correlationData!], [1, 2, 3]);
    await Promise.all([sub.end(), pub.end()]);
  });

  test('request/response: the responder answers on the response topic with the correlation data', async () => {
    const reqTopic = `v5/rr/req/${uniq()}`;
    const responder = await open(port, { protocolVersion: 5 });
    await responder.subscribe(reqTopic, { qos: 1 });
    responder.mqtt.on('message', (_t, payload, packet: IPublishPacket) => {
      const rt = packet.properties?.responseTopic;
      if (rt) responder.mqtt.publish(rt, `re:${payload.toString()}`, { qos: 1, properties: { correlationData: packet.properties!.correlationData! } });
    });
    const requester = await open(port, { protocolVersion: 5, properties: { requestResponseInformation: true } });
    const info = (requester.connack as IConnackPacket).properties?.responseInformation;
    assert.equal(info, RESPONSE_INFORMATION);
    const replyTopic = `${info}${uniq()}`;
    await requester.subscribe(replyTopic, { qos: 1 });
    for (const n of [1, 2]) await requester.publish(reqTopic, `q${n}`, { qos: 1, properties: { responseTopic: replyTopic, correlationData: Buffer.from(`id-${n}`) } });
    await requester.inbox.count(2);
    const replies = requester.inbox.messages.map((m) => [m.payload.toString(), m.packet.properties?.correlationData?.toString()]);
    replies.sort();
    assert.deepEqual(replies, [
      ['re:q1', 'id-1'],
      ['re:q2', 'id-2'],
    ]);
    await Promise.all([responder.end(), requester.end()]);
  });
});

describe('topics', () => {
  test('`$` topics are not matched by `#` or `+` at the first level; a `$` filter matches them', async () => {
    const id = uniq();
    const all = await open(port, { protocolVersion: 5 });
    await all.subscribe('#', { qos: 1 });
    const plus = await open(port, { protocolVersion: 5 });
    await plus.subscribe(`+/${id}`, { qos: 1 });
    const dollar = await open(port, { protocolVersion: 5 });
    await dollar.subscribe(`$test/${id}`, { qos: 1 });
    const pub = await open(port, { protocolVersion: 5 });
    await pub.publish(`$test/${id}`, 'dollar', { qos: 1 });
    await dollar.inbox.get(`$test/${id}`, 'dollar');
    await pub.publish(`plain/${id}`, 'plain', { qos: 1 });
    await all.inbox.get(`plain/${id}`, 'plain');
    await plus.inbox.get(`plain/${id}`, 'plain');
    assert.equal(all.inbox.messages.filter((m) => m.topic.startsWith('$')).length, 0, all.inbox.messages.map((m) => m.topic).join(', '));
    assert.deepEqual(plus.inbox.texts(), ['plain']);
    await Promise.all([all.end(), plus.end(), dollar.end(), pub.end()]);
  });

  for (const level of [4, 5] as const) {
    const refused = level === 5 ? 0x8f : 0x80;
    test(`${level === 5 ? 'v5' : 'v3.1.1'}: invalid filters get SUBACK 0x${refused.toString(16)} each, valid ones in the same SUBSCRIBE are granted`, async () => {
      const { raw } = await RawClient.session(port, level, `filters-${uniq()}`);
      const deep = Array.from({ length: MAX_TOPIC_LEVELS + 1 }, () => 'l').join('/');
      const filters = ['ok/+/x', 'a/#/b', 'a+', 'a/b#', '$share/g', '$share/g+/x', deep, 'ok/#'];
      const suback = await subscribeRaw(raw, filters.map((topic) => ({ topic, qos: 1 as const })));
      assert.deepEqual(suback.granted, [1, refused, refused, refused, refused, refused, refused, 1]);
      assert.equal(raw.closed, false);
      raw.destroy();
    });
  }

  test('a PUBLISH topic with a wildcard: v5 DISCONNECT 0x90; too many levels as well', async () => {
    for (const topic of ['a/+/b', 'a/#', Array.from({ length: MAX_TOPIC_LEVELS + 1 }, () => 'l').join('/')]) {
      const { raw } = await RawClient.session(port, 5, `badtopic-${uniq()}`);
      // mqtt-packet writes any topic; the node must refuse it.
      raw.send({ cmd: 'publish', topic, payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
      const d = await raw.next<IDisconnectPacket>((p) => p.cmd === 'disconnect', 5000, `DISCONNECT for ${topic}`);
      assert.equal(d.reasonCode, 0x90, topic);
      await raw.waitClosed(5000);
    }
  });

  test('unsubscribe: v5 UNSUBACK 0x00 for a subscription, 0x11 for none; no more messages after it', async () => {
    const topic = `v5/unsub/${uniq()}`;
    const { raw } = await RawClient.session(port, 5, `unsub-${uniq()}`);
    await subscribeRaw(raw, [{ topic, qos: 0 }]);
    raw.send({ cmd: 'unsubscribe', messageId: 9, unsubscriptions: [topic, `${topic}/none`] });
    const ack = await raw.next<IUnsubackPacket>((p) => p.cmd === 'unsuback', 5000, 'UNSUBACK');
    assert.deepEqual(ack.granted, [0x00, 0x11]);
    const pub = await open(port, { protocolVersion: 5 });
    await pub.publish(topic, 'after', { qos: 1 });
    await ping(raw);
    assert.equal(raw.received.filter(isPublish).length, 0);
    raw.destroy();
    await pub.end();
  });
});

describe('availability switches (applied by reloading emqx.conf)', () => {
  test('wildcard_subscription, shared_subscription, retain_available = false and max_subscriptions = 2', async () => {
    const conf = ['mqtt.wildcard_subscription = false', 'mqtt.shared_subscription = false', 'mqtt.retain_available = false', 'mqtt.max_subscriptions = 2'].join('\n');
    await applyConf(node, conf, 'mqtt.max_subscriptions', '2');
    try {
      const { raw, connack } = await RawClient.session(port, 5, `switches-${uniq()}`);
      assert.equal(connack.properties?.wildcardSubscriptionAvailable, false);
      assert.equal(connack.properties?.sharedSubscriptionAvailable, false);
      assert.equal(connack.properties?.retainAvailable, false);
      const base = `v5/switch/${uniq()}`;
      const a = await subscribeRaw(raw, [
        { topic: `${base}/+`, qos: 1 },
        { topic: `${base}/#`, qos: 1 },
        { topic: `$share/g/${base}/x`, qos: 1 },
        { topic: `${base}/one`, qos: 1 },
        { topic: `${base}/two`, qos: 1 },
        { topic: `${base}/three`, qos: 1 },
      ]);
      assert.deepEqual(a.granted, [0xa2, 0xa2, 0x9e, 1, 1, 0x97]);
      // Re-subscribing to an existing filter is not a new subscription.
      const again = await subscribeRaw(raw, [{ topic: `${base}/one`, qos: 0 }]);
      assert.deepEqual(again.granted, [0]);
      raw.send({ cmd: 'publish', topic: `${base}/one`, payload: Buffer.from('r'), qos: 0, retain: true, dup: false });
      const d = await raw.next<IDisconnectPacket>((p) => p.cmd === 'disconnect', 5000, 'DISCONNECT');
      assert.equal(d.reasonCode, 0x9a);
      // A 3.1.1 client gets 0x80 for each refusal.
      const { raw: r4 } = await RawClient.session(port, 4, `switches4-${uniq()}`);
      const b = await subscribeRaw(r4, [
        { topic: `${base}/+`, qos: 1 },
        { topic: `$share/g/${base}/x`, qos: 1 },
      ]);
      assert.deepEqual(b.granted, [0x80, 0x80]);
      r4.destroy();
    } finally {
      await applyConf(node, '', 'mqtt.max_subscriptions', 'infinity');
    }
  });
});

describe('more subscription options', () => {
  test('a retained message sent on subscribe carries the subscription identifier', async () => {
    const topic = `v5/subid-retained/${uniq()}`;
    const pub = await open(port, { protocolVersion: 5 });
    await pub.publish(topic, 'kept', { qos: 1, retain: true });
    const { raw } = await RawClient.session(port, 5, `subidret-${uniq()}`);
    await subscribeRaw(raw, [{ topic, qos: 1 }], { subscriptionIdentifier: 77 });
    const p = await raw.next<IPublishPacket>(isPublish, 5000, 'the retained PUBLISH');
    assert.equal(p.retain, true);
    assert.equal(p.properties?.subscriptionIdentifier, 77);
    raw.destroy();
    await pub.publish(topic, '', { qos: 1, retain: true });
    await pub.end();
  });

  test('No Local on a shared subscription is a protocol error (DISCONNECT 0x82)', async () => {
    const { raw } = await RawClient.session(port, 5, `sharednl-${uniq()}`);
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/v5/nl', qos: 1, nl: true }] });
    const d = await raw.next<IDisconnectPacket>((p) => p.cmd === 'disconnect', 5000, 'DISCONNECT');
    assert.equal(d.reasonCode, 0x82);
    await raw.waitClosed(5000);
  });

  test('overlapping subscriptions: one message at the highest granted QoS', async () => {
    const base = `v5/overlap/${uniq()}`;
    const c = await open(port, { protocolVersion: 5 });
    await c.subscribe(`${base}/#`, { qos: 0 });
    await c.subscribe(`${base}/+`, { qos: 2 });
    await c.subscribe(`${base}/x`, { qos: 1 });
    const pub = await open(port, { protocolVersion: 5 });
    await pub.publish(`${base}/x`, 'once', { qos: 2 });
    await pub.publish(`${base}/y/z`, 'marker', { qos: 2 });
    await c.inbox.get(`${base}/y/z`, 'marker');
    await c.inbox.get(`${base}/x`, 'once');
    // Sorted: a client hands a QoS 2 message over at PUBREL, so the QoS 0 marker can come first.
    assert.deepEqual(c.inbox.messages.map((m) => [m.payload.toString(), m.packet.qos]).sort(), [
      ['marker', 0],
      ['once', 2],
    ]);
    await Promise.all([c.end(), pub.end()]);
  });
});
