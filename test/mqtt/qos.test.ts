// QoS 0, 1 and 2 both ways (MQTT 3.1.1 §4.3, MQTT 5.0 §4.3) against a running node: the
// acknowledgement flows seen packet by packet on raw sockets, the delivered QoS as min(published,
// granted), exactly-once for a resent QoS 2 PUBLISH, and redelivery with DUP of what a persistent
// session had unacknowledged when its connection dropped or was taken over (PUBLISH again, or
// PUBREL for a QoS 2 message already at PUBREC); mqtt.retry_interval resends on a live connection,
// mqtt.max_awaiting_rel (a burst of acknowledgements waiting past it is slowed, not cut), and
// acknowledgements of unknown packet identifiers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mqttPacket from 'mqtt-packet';
import type { IDisconnectPacket, IPubackPacket, IPubcompPacket, IPublishPacket, IPubrecPacket, IPubrelPacket, ISubackPacket } from 'mqtt-packet';
import type { TestNode } from '../helpers/launcher.js';
import { closeAll, open, RawClient, startMqttNode, uniq, type Level } from '../helpers/mqtt-client.js';

/** mqtt.retry_interval: unacknowledged messages are resent (DUP) on the same connection after it. */
const RETRY_S = 2;
/** mqtt.max_awaiting_rel: incoming QoS 2 messages awaiting PUBREL; one more is refused. */
const MAX_AWAITING_REL = 3;

let node: TestNode;
let port: number;

before(async () => {
  node = await startMqttNode({ name: 'mqttqos@127.0.0.1', mqtt: true, env: { EMQX_MQTT__RETRY_INTERVAL: `${RETRY_S}s`, EMQX_MQTT__MAX_AWAITING_REL: String(MAX_AWAITING_REL) } });
  port = node.mqttPort!;
});

after(async () => {
  await closeAll();
  RawClient.destroyAll();
  await node?.cleanup();
});

const isPublish = (p: { cmd: string }): boolean => p.cmd === 'publish';

async function subscribeRaw(raw: RawClient, topic: string, qos: 0 | 1 | 2, messageId = 1): Promise<ISubackPacket> {
  const from = raw.received.length;
  raw.send({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos }] });
  return raw.next<ISubackPacket>((p) => p.cmd === 'suback' && p.messageId === messageId, 5000, 'SUBACK', from);
}

for (const level of [4, 5] as const satisfies readonly Level[]) {
  const v = level === 5 ? 'v5' : 'v3.1.1';
  describe(`${v}: QoS flows both ways`, () => {
    for (const qos of [0, 1, 2] as const) {
      test(`QoS ${qos} publish → QoS ${qos} subscriber, each acknowledgement in order`, async () => {
        const topic = `qos/${v}/${qos}/${uniq()}`;
        const subId = `sub-${uniq()}`;
        const { raw: sub } = await RawClient.session(port, level, subId);
        const suback = await subscribeRaw(sub, topic, qos);
        assert.deepEqual(suback.granted, [qos]);
        const { raw: pub } = await RawClient.session(port, level, `pub-${uniq()}`);
        pub.send({ cmd: 'publish', topic, payload: Buffer.from(`m${qos}`), qos, retain: false, dup: false, ...(qos > 0 ? { messageId: 7 } : {}) });
        if (qos === 1) {
          const ack = await pub.next<IPubackPacket>((p) => p.cmd === 'puback', 5000, 'PUBACK');
          assert.equal(ack.messageId, 7);
        } else if (qos === 2) {
          const rec = await pub.next<IPubrecPacket>((p) => p.cmd === 'pubrec', 5000, 'PUBREC');
          assert.equal(rec.messageId, 7);
          pub.send({ cmd: 'pubrel', messageId: 7 });
          const comp = await pub.next<IPubcompPacket>((p) => p.cmd === 'pubcomp', 5000, 'PUBCOMP');
          assert.equal(comp.messageId, 7);
        }
        const m = await sub.next<IPublishPacket>(isPublish, 5000, 'the PUBLISH');
        assert.equal(m.topic, topic);
        assert.equal(m.payload.toString(), `m${qos}`);
        assert.equal(m.qos, qos);
        assert.equal(m.dup, false);
        if (qos === 0) assert.equal(m.messageId ?? undefined, undefined);
        else assert.ok(m.messageId! >= 1 && m.messageId! <= 65535);
        if (qos === 1) {
          sub.send({ cmd: 'puback', messageId: m.messageId! });
        } else if (qos === 2) {
          sub.send({ cmd: 'pubrec', messageId: m.messageId! });
          const rel = await sub.next<IPubrelPacket>((p) => p.cmd === 'pubrel', 5000, 'PUBREL');
          assert.equal(rel.messageId, m.messageId);
          sub.send({ cmd: 'pubcomp', messageId: m.messageId! });
        }
        // Settled: once a ping round trip shows the acknowledgements were read, nothing is in flight.
        const from = sub.received.length;
        sub.send({ cmd: 'pingreq' });
        await sub.next((p) => p.cmd === 'pingresp', 5000, 'PINGRESP', from);
        const show = await node.ctl(['clients', 'show', subId]);
        assert.match(show.stdout, /inflight=0, awaiting_rel=0, delivered_msgs=1,/, show.stdout);
        sub.destroy();
        pub.destroy();
      });
    }

    test('delivered QoS is min(published, granted): 2→1, 1→0, 0→2 gives 0', async () => {
      const base = `qos/${v}/min/${uniq()}`;
      const sub = await open(port, { protocolVersion: level });
      await sub.subscribe(`${base}/g1`, { qos: 1 });
      await sub.subscribe(`${base}/g0`, { qos: 0 });
      await sub.subscribe(`${base}/g2`, { qos: 2 });
      const pub = await open(port, { protocolVersion: level });
      await pub.publish(`${base}/g1`, 'a', { qos: 2 });
      await pub.publish(`${base}/g0`, 'b', { qos: 1 });
      await pub.publish(`${base}/g2`, 'c', { qos: 0 });
      const [a, b, c] = await Promise.all([sub.inbox.get(`${base}/g1`), sub.inbox.get(`${base}/g0`), sub.inbox.get(`${base}/g2`)]);
      assert.equal(a.packet.qos, 1);
      assert.equal(b.packet.qos, 0);
      assert.equal(c.packet.qos, 0);
      await Promise.all([sub.end(), pub.end()]);
    });

    test('a QoS 2 PUBLISH resent with DUP before PUBREL is acknowledged again and delivered once', async () => {
      const topic = `qos/${v}/once/${uniq()}`;
      const sub = await open(port, { protocolVersion: level });
      await sub.subscribe(topic, { qos: 2 });
      const { raw: pub } = await RawClient.session(port, level, `once-${uniq()}`);
      const packet = { cmd: 'publish' as const, topic, payload: Buffer.from('once'), qos: 2 as const, retain: false, messageId: 42 };
      pub.send({ ...packet, dup: false });
      await pub.next((p) => p.cmd === 'pubrec', 5000, 'first PUBREC');
      pub.send({ ...packet, dup: true });
      await pub.until(() => pub.received.filter((p) => p.cmd === 'pubrec').length === 2, 5000, 'second PUBREC');
      pub.send({ cmd: 'pubrel', messageId: 42 });
      await pub.next((p) => p.cmd === 'pubcomp', 5000, 'PUBCOMP');
      // A marker published after both copies: once it arrives, any second copy would have too.
      await open(port, { protocolVersion: level }).then(async (p2) => {
        await p2.publish(topic, 'marker', { qos: 2 });
        await sub.inbox.get(topic, 'marker');
        await p2.end();
      });
      assert.deepEqual(sub.inbox.texts(), ['once', 'marker']);
      pub.destroy();
      await sub.end();
    });

    test('a persistent session redelivers unacknowledged QoS 1 and 2 with DUP and the same packet ids; a QoS 2 at PUBREC gets PUBREL', async () => {
      const topic = `qos/${v}/redeliver/${uniq()}`;
      const id = `redeliver-${uniq()}`;
      const persistent = level === 5 ? { clean: true, properties: { sessionExpiryInterval: 300 } } : { clean: false };
      const { raw: first } = await RawClient.session(port, level, id, persistent);
      await subscribeRaw(first, topic, 2);
      const pub = await open(port, { protocolVersion: level });
      await pub.publish(topic, 'q1', { qos: 1 });
      await pub.publish(topic, 'q2', { qos: 2 });
      await pub.publish(topic, 'q2-rec', { qos: 2 });
      await first.until(() => first.publishes().length === 3, 5000, 'three PUBLISH');
      const [p1, p2, p3] = first.publishes();
      assert.deepEqual([p1!.qos, p2!.qos, p3!.qos], [1, 2, 2]);
      // Acknowledge nothing but the first step of the third message, then drop the connection.
      first.send({ cmd: 'pubrec', messageId: p3!.messageId! });
      await first.next((p) => p.cmd === 'pubrel' && p.messageId === p3!.messageId, 5000, 'PUBREL for the third');
      first.destroy();
      await first.waitClosed(5000);

      const resume = level === 5 ? { clean: false, properties: { sessionExpiryInterval: 300 } } : { clean: false };
      const { raw: second, connack } = await RawClient.session(port, level, id, resume);
      assert.equal(connack.sessionPresent, true);
      await second.until(() => second.publishes().length >= 2 && second.received.some((p) => p.cmd === 'pubrel'), 5000, 'two PUBLISH and one PUBREL again');
      const again = second.publishes();
      assert.equal(again.length, 2, `resent: ${again.map((p) => p.payload.toString()).join(', ')}`);
      assert.deepEqual(again.map((p) => [p.payload.toString(), p.qos, p.dup, p.messageId]), [
        ['q1', 1, true, p1!.messageId],
        ['q2', 2, true, p2!.messageId],
      ]);
      const rel = second.received.find((p): p is IPubrelPacket => p.cmd === 'pubrel')!;
      assert.equal(rel.messageId, p3!.messageId);
      // Complete everything: nothing more is resent, the session holds nothing in flight.
      second.send({ cmd: 'puback', messageId: p1!.messageId! });
      second.send({ cmd: 'pubrec', messageId: p2!.messageId! });
      await second.next((p) => p.cmd === 'pubrel' && p.messageId === p2!.messageId, 5000, 'PUBREL for q2');
      second.send({ cmd: 'pubcomp', messageId: p2!.messageId! });
      second.send({ cmd: 'pubcomp', messageId: p3!.messageId! });
      const from = second.received.length;
      second.send({ cmd: 'pingreq' });
      await second.next((p) => p.cmd === 'pingresp', 5000, 'PINGRESP', from);
      const show = await node.ctl(['clients', 'show', id]);
      assert.match(show.stdout, /inflight=0,/, show.stdout);
      second.destroy();
      await pub.end();
    });

    test('a clean session does not redeliver: reconnecting clean drops the unacknowledged message', async () => {
      const topic = `qos/${v}/clean/${uniq()}`;
      const id = `clean-${uniq()}`;
      const { raw: first } = await RawClient.session(port, level, id, { clean: true });
      await subscribeRaw(first, topic, 1);
      const pub = await open(port, { protocolVersion: level });
      await pub.publish(topic, 'lost', { qos: 1 });
      await first.next(isPublish, 5000, 'PUBLISH');
      first.destroy();
      await first.waitClosed(5000);
      const { raw: second, connack } = await RawClient.session(port, level, id, { clean: true });
      assert.equal(connack.sessionPresent, false);
      await subscribeRaw(second, topic, 1);
      await pub.publish(topic, 'marker', { qos: 1 });
      const m = await second.next<IPublishPacket>(isPublish, 5000, 'marker');
      assert.equal(m.payload.toString(), 'marker');
      second.destroy();
      await pub.end();
    });
  });
}

test('mqtt.js QoS 2 both ways over v5 and v3.1.1 clients on one topic', async () => {
  const topic = `qos/mixed/${uniq()}`;
  const s5 = await open(port, { protocolVersion: 5 });
  const s4 = await open(port, { protocolVersion: 4 });
  await s5.subscribe(topic, { qos: 2 });
  await s4.subscribe(topic, { qos: 2 });
  const p = await open(port, { protocolVersion: 4 });
  for (let i = 0; i < 20; i++) await p.publish(topic, `n${i}`, { qos: 2 });
  const want = Array.from({ length: 20 }, (_, i) => `n${i}`);
  await Promise.all([s5.inbox.count(20), s4.inbox.count(20)]);
  assert.deepEqual(s5.inbox.texts(), want);
  assert.deepEqual(s4.inbox.texts(), want);
  assert.ok(s5.inbox.messages.every((m) => m.packet.qos === 2));
  await Promise.all([s5.end(), s4.end(), p.end()]);
});

describe('retries and limits', () => {
  test(`mqtt.retry_interval (${RETRY_S} s): an unacknowledged QoS 1 and a QoS 2 at PUBREC are resent on the same connection, DUP set`, async () => {
    const topic = `qos/retry/${uniq()}`;
    const { raw } = await RawClient.session(port, 5, `retry-${uniq()}`);
    await subscribeRaw(raw, topic, 2);
    const pub = await open(port, { protocolVersion: 5 });
    await pub.publish(topic, 'r1', { qos: 1 });
    await pub.publish(topic, 'r2', { qos: 2 });
    await raw.until(() => raw.publishes().length === 2, 5000, 'two PUBLISH');
    const [a, b] = raw.publishes();
    const sentAt = performance.now();
    raw.send({ cmd: 'pubrec', messageId: b!.messageId! });
    await raw.next((p) => p.cmd === 'pubrel', 5000, 'PUBREL');
    await raw.until(() => raw.publishes().length >= 3 && raw.received.filter((p) => p.cmd === 'pubrel').length >= 2, RETRY_S * 1000 + 3000, 'the resends');
    const waited = performance.now() - sentAt;
    assert.ok(waited >= RETRY_S * 1000 - 200, `resent after ${Math.round(waited)} ms`);
    const again = raw.publishes()[2]!;
    assert.deepEqual([again.payload.toString(), again.dup, again.messageId], ['r1', true, a!.messageId]);
    assert.equal(raw.publishes().filter((p) => p.payload.toString() === 'r2').length, 1, 'a message at PUBREC is not published again, its PUBREL is');
    raw.send({ cmd: 'puback', messageId: a!.messageId! });
    raw.send({ cmd: 'pubcomp', messageId: b!.messageId! });
    raw.destroy();
    await pub.end();
  });

  test('a takeover resends what the old connection left unacknowledged, with DUP', async () => {
    const topic = `qos/takeover/${uniq()}`;
    const id = `tk-inflight-${uniq()}`;
    const { raw: first } = await RawClient.session(port, 5, id, { properties: { sessionExpiryInterval: 60 } });
    await subscribeRaw(first, topic, 1);
    const pub = await open(port, { protocolVersion: 5 });
    await pub.publish(topic, 'pending', { qos: 1 });
    const p1 = await first.next<IPublishPacket>(isPublish, 5000, 'PUBLISH');
    const { raw: second, connack } = await RawClient.session(port, 5, id, { clean: false, properties: { sessionExpiryInterval: 60 } });
    assert.equal(connack.sessionPresent, true);
    const p2 = await second.next<IPublishPacket>(isPublish, 5000, 'the resent PUBLISH');
    assert.deepEqual([p2.payload.toString(), p2.dup, p2.messageId], ['pending', true, p1.messageId]);
    await first.waitClosed(5000);
    second.send({ cmd: 'puback', messageId: p2.messageId! });
    second.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
    await pub.end();
  });

  test('an incoming QoS 2 message awaiting PUBREL survives the reconnect: PUBREL then gets PUBCOMP 0, a resent PUBLISH is not delivered twice', async () => {
    const topic = `qos/inrel/${uniq()}`;
    const id = `inrel-${uniq()}`;
    const sub = await open(port, { protocolVersion: 5 });
    await sub.subscribe(topic, { qos: 2 });
    const { raw: first } = await RawClient.session(port, 5, id, { properties: { sessionExpiryInterval: 60 } });
    first.send({ cmd: 'publish', topic, payload: Buffer.from('exactly-once'), qos: 2, messageId: 9, retain: false, dup: false });
    await first.next((p) => p.cmd === 'pubrec', 5000, 'PUBREC');
    first.destroy();
    await first.waitClosed(5000);
    const { raw: second, connack } = await RawClient.session(port, 5, id, { clean: false, properties: { sessionExpiryInterval: 60 } });
    assert.equal(connack.sessionPresent, true);
    second.send({ cmd: 'publish', topic, payload: Buffer.from('exactly-once'), qos: 2, messageId: 9, retain: false, dup: true });
    await second.next((p) => p.cmd === 'pubrec', 5000, 'PUBREC for the resent PUBLISH');
    second.send({ cmd: 'pubrel', messageId: 9 });
    const comp = await second.next<IPubcompPacket>((p) => p.cmd === 'pubcomp', 5000, 'PUBCOMP');
    assert.equal(comp.reasonCode ?? 0, 0);
    second.send({ cmd: 'publish', topic, payload: Buffer.from('marker'), qos: 1, messageId: 10, retain: false, dup: false });
    await sub.inbox.get(topic, 'marker');
    assert.deepEqual(sub.inbox.texts(), ['exactly-once', 'marker']);
    second.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
    await sub.end();
  });

  test('a resumed session resends no more than the new connection’s Receive Maximum', async () => {
    const topic = `qos/resume-window/${uniq()}`;
    const id = `resume-window-${uniq()}`;
    const { raw: first } = await RawClient.session(port, 5, id, { properties: { sessionExpiryInterval: 60, receiveMaximum: 10 } });
    await subscribeRaw(first, topic, 1);
    const pub = await open(port, { protocolVersion: 5 });
    for (let i = 0; i < 5; i++) await pub.publish(topic, `w${i}`, { qos: 1 });
    await first.until(() => first.publishes().length === 5, 5000, 'five PUBLISH');
    first.destroy();
    await first.waitClosed(5000);
    const { raw: second } = await RawClient.session(port, 5, id, { clean: false, properties: { sessionExpiryInterval: 60, receiveMaximum: 2 } });
    await second.until(() => second.publishes().length >= 2, 5000, 'the first resends');
    await ping(second);
    assert.equal(second.publishes().length, 2, `resent at once: ${second.publishes().map((p) => p.payload.toString()).join(', ')}`);
    // Each PUBACK lets one more through, in order, until all five are in.
    for (let acked = 0; acked < 5; acked++) {
      const sent = second.publishes();
      assert.ok(sent.length - acked <= 2, `${sent.length - acked} unacknowledged`);
      second.send({ cmd: 'puback', messageId: sent[acked]!.messageId! });
      if (acked + 2 < 5) await second.until(() => second.publishes().length === acked + 3, 5000, `PUBLISH #${acked + 3}`);
    }
    assert.deepEqual(second.publishes().map((p) => p.payload.toString()), ['w0', 'w1', 'w2', 'w3', 'w4']);
    second.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
    await pub.end();
  });

  test(`mqtt.max_awaiting_rel (${MAX_AWAITING_REL}): one more QoS 2 PUBLISH awaiting PUBREL gets DISCONNECT 0x93 (v5)`, async () => {
    const { raw, connack } = await RawClient.session(port, 5, `awaitrel-${uniq()}`);
    assert.equal(connack.properties?.receiveMaximum, MAX_AWAITING_REL);
    for (let id = 1; id <= MAX_AWAITING_REL; id++) raw.send({ cmd: 'publish', topic: 'qos/awaitrel', payload: Buffer.from('x'), qos: 2, messageId: id, retain: false, dup: false });
    await raw.until(() => raw.received.filter((p) => p.cmd === 'pubrec').length === MAX_AWAITING_REL, 5000, 'PUBRECs');
    raw.send({ cmd: 'publish', topic: 'qos/awaitrel', payload: Buffer.from('x'), qos: 2, messageId: MAX_AWAITING_REL + 1, retain: false, dup: false });
    const d = await raw.next<IDisconnectPacket>((p) => p.cmd === 'disconnect', 5000, 'DISCONNECT');
    assert.equal(d.reasonCode, 0x93);
    await raw.waitClosed(5000);
  });

  test(`QoS 1 acknowledgements waiting (retained: on their fsync) past mqtt.max_awaiting_rel (${MAX_AWAITING_REL}): the client is slowed, not cut (3.1.1, and v5 past its Receive Maximum)`, async () => {
    // A burst in one write: every PUBLISH is read before the first write is durable.
    const N = 40;
    const burst = (level: 4 | 5): Buffer =>
      Buffer.concat(Array.from({ length: N }, (_, i) => mqttPacket.generate({ cmd: 'publish', topic: `qos/burst/${level}/${i}`, payload: Buffer.from(`b${i}`), qos: 1, messageId: i + 1, retain: true, dup: false }, { protocolVersion: level })));
    for (const level of [4, 5] as const) {
      const { raw } = await RawClient.session(port, level, `burst${level}-${uniq()}`);
      raw.socket.write(burst(level));
      await raw.until(() => raw.received.filter((p) => p.cmd === 'puback').length === N || raw.closed, 10_000, `${N} PUBACKs`);
      assert.equal(raw.closed, false, `the ${level === 5 ? 'v5' : '3.1.1'} client was disconnected`);
      assert.deepEqual(raw.received.filter((p): p is IPubackPacket => p.cmd === 'puback').map((p) => p.messageId), Array.from({ length: N }, (_, i) => i + 1));
      await ping(raw);
      raw.destroy();
    }
    await node.ctl(['retainer', 'clean', 'qos/burst/#']);
  });

  test('PUBREL for an unknown packet id: PUBCOMP 0x92 (v5), PUBCOMP (3.1.1); the connection stays', async () => {
    const { raw } = await RawClient.session(port, 5, `pubrel-${uniq()}`);
    raw.send({ cmd: 'pubrel', messageId: 999 });
    const c = await raw.next<IPubcompPacket>((p) => p.cmd === 'pubcomp', 5000, 'PUBCOMP');
    assert.deepEqual([c.messageId, c.reasonCode], [999, 0x92]);
    const { raw: r4 } = await RawClient.session(port, 4, `pubrel4-${uniq()}`);
    r4.send({ cmd: 'pubrel', messageId: 998 });
    const c4 = await r4.next<IPubcompPacket>((p) => p.cmd === 'pubcomp', 5000, 'PUBCOMP');
    assert.equal(c4.messageId, 998);
    await ping(raw);
    await ping(r4);
    raw.destroy();
    r4.destroy();
  });

  test('v5: no matching subscriber → PUBACK / PUBREC 0x10, and the QoS 2 flow still completes; 3.1.1 gets plain acknowledgements', async () => {
    const topic = `qos/nobody/${uniq()}`;
    const { raw } = await RawClient.session(port, 5, `nobody-${uniq()}`);
    raw.send({ cmd: 'publish', topic, payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false });
    const ack = await raw.next<IPubackPacket>((p) => p.cmd === 'puback', 5000, 'PUBACK');
    assert.equal(ack.reasonCode, 0x10);
    raw.send({ cmd: 'publish', topic, payload: Buffer.from('x'), qos: 2, messageId: 2, retain: false, dup: false });
    const rec = await raw.next<IPubrecPacket>((p) => p.cmd === 'pubrec', 5000, 'PUBREC');
    assert.equal(rec.reasonCode, 0x10);
    raw.send({ cmd: 'pubrel', messageId: 2 });
    const comp = await raw.next<IPubcompPacket>((p) => p.cmd === 'pubcomp', 5000, 'PUBCOMP');
    assert.equal(comp.reasonCode ?? 0, 0);
    // With a subscriber (a shared one counts): success.
    const sub = await open(port, { protocolVersion: 5 });
    await sub.subscribe(`$share/g/${topic}`, { qos: 1 });
    const from = raw.received.length;
    raw.send({ cmd: 'publish', topic, payload: Buffer.from('y'), qos: 1, messageId: 3, retain: false, dup: false });
    const ok = await raw.next<IPubackPacket>((p) => p.cmd === 'puback', 5000, 'PUBACK', from);
    assert.equal(ok.reasonCode ?? 0, 0);
    raw.destroy();
    await sub.end();
  });

  test('PUBACK for an unknown packet id is ignored (counted), the connection stays', async () => {
    const { raw } = await RawClient.session(port, 5, `puback-${uniq()}`);
    raw.send({ cmd: 'puback', messageId: 4242 });
    await ping(raw);
    assert.equal(raw.closed, false);
    raw.destroy();
  });
});

async function ping(raw: RawClient): Promise<void> {
  const from = raw.received.length;
  raw.send({ cmd: 'pingreq' });
  await raw.next((p) => p.cmd === 'pingresp', 5000, 'PINGRESP', from);
}
