// CONNECT / CONNACK and keepalive against a running node, with mqtt.js (v3.1, v3.1.1, v5) and raw
// sockets: protocol levels, assigned client identifiers, the client id length limit, an unknown
// protocol level, enhanced authentication, a will above mqtt.max_qos_allowed, the 1.5×
// keepalive timeout and mqtt.server_keepalive.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mqttPacket, { type IConnackPacket, type IDisconnectPacket, type ISubackPacket } from 'mqtt-packet';
import type { TestNode } from '../helpers/launcher.js';
import { closeAll, connectBytes, open, RawClient, startMqttNode, uniq, within } from '../helpers/mqtt-client.js';

const MAX_CLIENTID_LEN = 30;
const SERVER_KEEPALIVE = 3;

let node: TestNode;
let port: number;

before(async () => {
  node = await startMqttNode({
    name: 'mqttconnect@127.0.0.1',
    mqtt: true,
    env: {
      EMQX_MQTT__MAX_CLIENTID_LEN: String(MAX_CLIENTID_LEN),
      EMQX_MQTT__MAX_QOS_ALLOWED: '1',
      EMQX_MQTT__SERVER_KEEPALIVE: String(SERVER_KEEPALIVE),
    },
  });
  port = node.mqttPort!;
});

after(async () => {
  await closeAll();
  RawClient.destroyAll();
  await node?.cleanup();
});

describe('protocol levels', () => {
  for (const v of [3, 4, 5] as const) {
    test(`protocolVersion ${v}: accepted, and a message goes round trip`, async () => {
      const id = `lvl${v}-${uniq()}`;
      const c = await open(port, { protocolVersion: v, clientId: id });
      assert.equal(v === 5 ? c.connack.reasonCode : c.connack.returnCode, 0);
      assert.equal(c.connack.sessionPresent, false);
      const topic = `connect/${id}`;
      await c.subscribe(topic, { qos: 1 });
      await c.publish(topic, 'hello', { qos: 1 });
      const m = await c.inbox.get(topic, 'hello');
      assert.equal(m.packet.qos, 1);
      const show = await node.ctl(['clients', 'show', id]);
      assert.equal(show.code, 0, show.stdout + show.stderr);
      assert.match(show.stdout, new RegExp(`^Client\\(${id}, username=undefined, peername=127\\.0\\.0\\.1:\\d+, clean_start=true, keepalive=${v === 5 ? SERVER_KEEPALIVE : 60},`));
      await c.end();
    });
  }
});

describe('client identifiers', () => {
  test('v5 with an empty client id: CONNACK assigns one, and the node knows the client by it', async () => {
    const c = await open(port, { protocolVersion: 5, clientId: '' });
    const assigned = c.connack.properties?.assignedClientIdentifier;
    assert.ok(typeof assigned === 'string' && assigned.length > 0, `assignedClientIdentifier: ${JSON.stringify(c.connack.properties)}`);
    const show = await node.ctl(['clients', 'show', assigned]);
    assert.equal(show.code, 0, show.stdout + show.stderr);
    assert.ok(show.stdout.startsWith(`Client(${assigned}, `), show.stdout);
    await c.end();
  });

  test('3.1.1 with an empty client id and a clean session: accepted', async () => {
    const { raw, connack } = await RawClient.session(port, 4, '', { clean: true });
    assert.equal(connack.returnCode, 0);
    raw.destroy();
  });

  test('3.1.1 with an empty client id and clean = false: CONNACK 2 (identifier rejected), then closed', async () => {
    const raw = await RawClient.connect(port, 4);
    raw.socket.write(connectBytes(4, '', { clean: false }));
    const p = await raw.next<IConnackPacket>((q) => q.cmd === 'connack', 5000, 'CONNACK');
    assert.equal(p.returnCode, 2);
    await raw.waitClosed(5000);
  });

  test('3.1 with an empty client id: CONNACK 2', async () => {
    const raw = await RawClient.connect(port, 3);
    raw.socket.write(connectBytes(3, ''));
    const p = await raw.next<IConnackPacket>((q) => q.cmd === 'connack', 5000, 'CONNACK');
    assert.equal(p.returnCode, 2);
    await raw.waitClosed(5000);
  });

  test(`a client id longer than mqtt.max_clientid_len (${MAX_CLIENTID_LEN}): v5 0x85, 3.1.1 rc 2; exactly the limit is accepted`, async () => {
    const long = 'x'.repeat(MAX_CLIENTID_LEN + 1);
    const raw5 = await RawClient.connect(port, 5);
    raw5.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: long, clean: true, keepalive: 60 });
    const p5 = await raw5.next<IConnackPacket>((q) => q.cmd === 'connack', 5000, 'CONNACK');
    assert.equal(p5.reasonCode, 0x85);
    await raw5.waitClosed(5000);

    const raw4 = await RawClient.connect(port, 4);
    raw4.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: long, clean: true, keepalive: 60 });
    const p4 = await raw4.next<IConnackPacket>((q) => q.cmd === 'connack', 5000, 'CONNACK');
    assert.equal(p4.returnCode, 2);
    await raw4.waitClosed(5000);

    const ok = await open(port, { protocolVersion: 5, clientId: 'y'.repeat(MAX_CLIENTID_LEN) });
    assert.equal(ok.connack.reasonCode, 0);
    await ok.end();
  });
});

describe('refusals', () => {
  test('an unsupported protocol level (6): CONNACK rc 1, then closed', async () => {
    const raw = await RawClient.connect(port, 4);
    raw.socket.write(connectBytes(6, 'v6'));
    const p = await raw.next<IConnackPacket>((q) => q.cmd === 'connack', 5000, 'CONNACK');
    assert.equal(p.returnCode, 1);
    await raw.waitClosed(5000);
  });

  test('v5 with an authentication method: CONNACK 0x8C (bad authentication method)', async () => {
    const raw = await RawClient.connect(port, 5);
    raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: `auth-${uniq()}`, clean: true, keepalive: 60, properties: { authenticationMethod: 'SCRAM-SHA-1' } });
    const p = await raw.next<IConnackPacket>((q) => q.cmd === 'connack', 5000, 'CONNACK');
    assert.equal(p.reasonCode, 0x8c);
    await raw.waitClosed(5000);
  });

  test('a will QoS above mqtt.max_qos_allowed (1): v5 CONNACK 0x9B; a will at QoS 1 is accepted', async () => {
    const raw = await RawClient.connect(port, 5);
    raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: `will2-${uniq()}`, clean: true, keepalive: 60, will: { topic: 'w/t', payload: Buffer.from('x'), qos: 2, retain: false } });
    const p = await raw.next<IConnackPacket>((q) => q.cmd === 'connack', 5000, 'CONNACK');
    assert.equal(p.reasonCode, 0x9b);
    await raw.waitClosed(5000);
    const c = await open(port, { protocolVersion: 5, will: { topic: 'w/t', payload: Buffer.from('x'), qos: 1, retain: false } });
    assert.equal(c.connack.reasonCode, 0);
    assert.equal(c.connack.properties?.maximumQoS, 1, 'CONNACK announces Maximum QoS 1');
    await c.end();
  });
});

describe('mqtt.max_qos_allowed (1) after CONNECT', () => {
  test('SUBSCRIBE at QoS 2 is granted QoS 1; a QoS 2 PUBLISH gets DISCONNECT 0x9B (v5)', async () => {
    const { raw } = await RawClient.session(port, 5, `maxqos-${uniq()}`);
    raw.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'connect/maxqos', qos: 2 }] });
    const suback = await raw.next<ISubackPacket>((p) => p.cmd === 'suback', 5000, 'SUBACK');
    assert.deepEqual(suback.granted, [1]);
    raw.send({ cmd: 'publish', topic: 'connect/maxqos', payload: Buffer.from('x'), qos: 2, messageId: 5, retain: false, dup: false });
    const d = await raw.next<IDisconnectPacket>((p) => p.cmd === 'disconnect', 5000, 'DISCONNECT');
    assert.equal(d.reasonCode, 0x9b);
    await raw.waitClosed(5000);
  });
});

describe('pipelining', () => {
  test('CONNECT, SUBSCRIBE and PUBLISH in one write: handled in order after the CONNACK', async () => {
    for (const level of [4, 5] as const) {
      const raw = await RawClient.connect(port, level);
      const topic = `connect/pipeline/${uniq()}`;
      const gen = (p: Parameters<RawClient['send']>[0]): Buffer => mqttPacket.generate(p, { protocolVersion: level });
      raw.socket.write(
        Buffer.concat([
          gen({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: level, clientId: `pipe-${uniq()}`, clean: true, keepalive: 60 }),
          gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] }),
          gen({ cmd: 'publish', topic, payload: Buffer.from('piped'), qos: 1, messageId: 2, retain: false, dup: false }),
          gen({ cmd: 'pingreq' }),
        ]),
      );
      await raw.until(() => raw.received.some((p) => p.cmd === 'pingresp') && raw.received.some((p) => p.cmd === 'publish'), 5000, 'the answers');
      const order = raw.received.map((p) => p.cmd);
      assert.equal(order[0], 'connack');
      assert.ok(order.indexOf('suback') < order.indexOf('puback'), order.join(', '));
      assert.ok(order.indexOf('puback') < order.indexOf('pingresp'), order.join(', '));
      assert.equal(raw.publishes()[0]!.payload.toString(), 'piped');
      raw.destroy();
    }
  });
});

describe('keepalive', () => {
  test('a v5 client silent past 1.5 × its keepalive (2 s) gets DISCONNECT 0x8D and is closed', async () => {
    const raw = await RawClient.connect(port, 5);
    const started = performance.now();
    await raw.handshake(`ka5-${uniq()}`, { keepalive: 2 });
    const d = await raw.next<IDisconnectPacket>((p) => p.cmd === 'disconnect', 8000, 'DISCONNECT');
    const elapsed = performance.now() - started;
    assert.equal(d.reasonCode, 0x8d);
    await raw.waitClosed(5000);
    // 3 s after the last packet, checked once a second: between 3 and 4 s (plus scheduling).
    assert.ok(elapsed >= 2900 && elapsed < 5500, `closed after ${Math.round(elapsed)} ms`);
  });

  test('a 3.1.1 client silent past 1.5 × its keepalive (1 s) is closed, no packet sent', async () => {
    const raw = await RawClient.connect(port, 4);
    const started = performance.now();
    await raw.handshake(`ka4-${uniq()}`, { keepalive: 1 });
    await raw.waitClosed(6000);
    const elapsed = performance.now() - started;
    assert.deepEqual(raw.received.map((p) => p.cmd), ['connack']);
    assert.ok(elapsed >= 1400 && elapsed < 4000, `closed after ${Math.round(elapsed)} ms`);
  });

  test('a client that pings is kept beyond 1.5 × keepalive', async () => {
    const raw = await RawClient.connect(port, 5);
    await raw.handshake(`kaping-${uniq()}`, { keepalive: 1 });
    for (let i = 0; i < 4; i++) {
      const from = raw.received.length;
      raw.send({ cmd: 'pingreq' });
      await raw.next((p) => p.cmd === 'pingresp', 3000, `PINGRESP #${i + 1}`, from);
      await new Promise((r) => setTimeout(r, 700)); // the client's own ping period
    }
    assert.equal(raw.closed, false, 'connection still open after 4 × 0.7 s with pings');
    raw.destroy();
  });

  test(`mqtt.server_keepalive (${SERVER_KEEPALIVE}) caps a v5 client's keepalive in CONNACK; a shorter one is kept; 3.1.1 keeps its own`, async () => {
    const long = await open(port, { protocolVersion: 5, keepalive: 60 });
    assert.equal(long.connack.properties?.serverKeepAlive, SERVER_KEEPALIVE);
    const none = await open(port, { protocolVersion: 5, keepalive: 0 });
    assert.equal(none.connack.properties?.serverKeepAlive, SERVER_KEEPALIVE);
    const short = await open(port, { protocolVersion: 5, keepalive: 2 });
    assert.equal(short.connack.properties?.serverKeepAlive, undefined);
    const id4 = `ka311-${uniq()}`;
    const v4 = await open(port, { protocolVersion: 4, keepalive: 60, clientId: id4 });
    const show = await node.ctl(['clients', 'show', long.mqtt.options.clientId!]);
    assert.match(show.stdout, new RegExp(`keepalive=${SERVER_KEEPALIVE},`));
    const show4 = await node.ctl(['clients', 'show', id4]);
    assert.match(show4.stdout, /keepalive=60,/);
    await Promise.all([long.end(), none.end(), short.end(), v4.end()]);
  });

  test('the capped keepalive is enforced: a v5 client asking for 60 s and then silent is closed after 1.5 × server_keepalive', async () => {
    const raw = await RawClient.connect(port, 5);
    const started = performance.now();
    const connack = await raw.handshake(`kacap-${uniq()}`, { keepalive: 60 });
    assert.equal(connack.properties?.serverKeepAlive, SERVER_KEEPALIVE);
    const d = await within(raw.next<IDisconnectPacket>((p) => p.cmd === 'disconnect', 10_000, 'DISCONNECT'), 11_000, 'DISCONNECT');
    assert.equal(d.reasonCode, 0x8d);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= SERVER_KEEPALIVE * 1500 - 100 && elapsed < SERVER_KEEPALIVE * 1500 + 2500, `closed after ${Math.round(elapsed)} ms`);
  });
});
