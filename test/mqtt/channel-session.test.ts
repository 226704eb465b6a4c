// The pure channel and session, driven without sockets: a real Broker, channels on fake IO that
// keep what they write, decoded with mqtt-packet. Each case is one the integration tests found
// wrong on a running node, pinned here where it is cheap to run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqttPacket, { type IConnectPacket, type IPublishPacket, type Packet } from 'mqtt-packet';
import { silentLog } from '../../src/base/log.js';
import { LogLimiter } from '../../src/base/log-limit.js';
import { newCounters } from '../../src/base/metrics.js';
import { validateConfig } from '../../src/config/schema.js';
import type { MqttConfig, Paths, RetainerConfig } from '../../src/config/types.js';
import { Broker } from '../../src/broker/broker.js';
import { Channel, type ChannelIO } from '../../src/mqtt/channel.js';
import { mountpointFor } from '../../src/mqtt/handlers/connect.js';
import type { Message } from '../../src/mqtt/port.js';

const paths: Paths = { root: '/opt/emqx', etc_dir: '/opt/emqx/etc', conf_file: '/opt/emqx/etc/emqx.conf', log_dir: '/opt/emqx/log', ssl_dist_optfile: '/opt/emqx/etc/ssl_dist.conf' };

function configs(mqtt: Record<string, unknown> = {}): { mqtt: MqttConfig; retainer: RetainerConfig } {
  const r = validateConfig({ node: { cookie: 'x' }, mqtt, retainer: {} }, { paths, env: {} });
  assert.deepEqual(r.problems, []);
  return { mqtt: r.config!.mqtt, retainer: r.config!.retainer };
}

function newBroker(mqtt: Record<string, unknown> = {}): Broker {
  const c = configs(mqtt);
  return new Broker({ counters: newCounters(), log: silentLog, limited: new LogLimiter(silentLog), mqtt: c.mqtt, retainer: c.retainer });
}

/** A channel on fake IO: what it writes is decoded into `packets`. */
class Conn {
  readonly packets: Packet[] = [];
  closed = false;
  /** Whether the channel asked its socket to stop reading. */
  held = false;
  readonly ch: Channel;
  readonly #parser;

  constructor(
    readonly broker: Broker,
    readonly version: 4 | 5,
    mountpoint = '',
  ) {
    this.#parser = mqttPacket.parser({ protocolVersion: version });
    this.#parser.on('packet', (p: Packet) => this.packets.push(p));
    const io: ChannelIO = {
      write: (buf) => this.#parser.parse(buf),
      buffered: 0,
      close: () => {
        this.closed = true;
      },
      hold: (on) => {
        this.held = on;
      },
      peer: '127.0.0.1:40000',
    };
    this.ch = new Channel(io, { mqtt: broker.config(), listener: 'tcp:test', port: 1883, mountpoint }, { broker, counters: broker.counters, log: silentLog, limited: new LogLimiter(silentLog) });
  }

  /** CONNECT, resolved once the CONNACK is out. */
  async connect(clientId: string, extra: Partial<IConnectPacket> = {}): Promise<void> {
    this.ch.codec.setVersion(this.version);
    this.ch.packet({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: this.version, clientId, clean: true, keepalive: 60, ...extra } as IConnectPacket);
    for (let i = 0; i < 100 && this.ch.state !== 'connected' && !this.closed; i++) await Promise.resolve();
    assert.equal(this.ch.state, 'connected', `not connected: ${JSON.stringify(this.packets)}`);
  }

  publishes(): IPublishPacket[] {
    return this.packets.filter((p): p is IPublishPacket => p.cmd === 'publish');
  }
}

function message(topic: string, payload: string, qos: 0 | 1 | 2, extra: Partial<Message> = {}): Message {
  return { topic, payload: Buffer.from(payload), qos, retain: false, from: 'publisher', timestamp: Date.now(), expiresAt: Number.POSITIVE_INFINITY, ...extra };
}

test('an outgoing topic alias is recorded only when its PUBLISH is really sent (not for one over the client’s Maximum Packet Size)', async () => {
  const b = newBroker();
  const c = new Conn(b, 5);
  await c.connect('alias', { properties: { topicAliasMaximum: 4, maximumPacketSize: 100 } });
  c.ch.packet({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't/#', qos: 0 }] });
  b.publish(message('t/a', 'x'.repeat(300), 0));
  b.publish(message('t/a', 'small', 0));
  b.publish(message('t/a', 'again', 0));
  assert.deepEqual(c.publishes().map((p) => [p.topic, p.payload.toString(), p.properties?.topicAlias]), [
    ['t/a', 'small', 1],
    ['', 'again', 1],
  ]);
  b.stop();
});

test('a resumed session resends no more than the new Receive Maximum; each PUBACK releases one more', async () => {
  const b = newBroker();
  const first = new Conn(b, 5);
  await first.connect('resume', { properties: { sessionExpiryInterval: 60 } });
  first.ch.packet({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'r', qos: 1 }] });
  for (let i = 0; i < 5; i++) b.publish(message('r', `m${i}`, 1));
  assert.equal(first.publishes().length, 5);
  first.ch.socketClosed();

  const second = new Conn(b, 5);
  await second.connect('resume', { clean: false, properties: { sessionExpiryInterval: 60, receiveMaximum: 2 } });
  assert.deepEqual(second.publishes().map((p) => [p.payload.toString(), p.dup]), [
    ['m0', true],
    ['m1', true],
  ]);
  for (let acked = 0; acked < 5; acked++) {
    const sent = second.publishes();
    assert.ok(sent.length - acked <= 2, `${sent.length - acked} unacknowledged`);
    second.ch.packet({ cmd: 'puback', messageId: sent[acked]!.messageId! });
  }
  assert.deepEqual(second.publishes().map((p) => p.payload.toString()), ['m0', 'm1', 'm2', 'm3', 'm4']);
  b.stop();
});

test('acknowledgements leave in PUBLISH order whatever order their batches settle in; grouped ones count one each against the limit, past which the client is not read', async () => {
  const b = newBroker({ max_awaiting_rel: 4 });
  const c = new Conn(b, 5);
  await c.connect('acks');
  const sent: string[] = [];
  const later = (): { promise: Promise<void>; settle: () => void } => {
    let settle!: () => void;
    const promise = new Promise<void>((r) => (settle = r));
    return { promise, settle };
  };
  const batch1 = later();
  const batch2 = later();
  // A and B crossed to one node in one batch (one promise), C to another; C's batch settles first.
  c.ch.ackInOrder(() => sent.push('A'), batch1.promise);
  c.ch.ackInOrder(() => sent.push('B'), batch1.promise);
  c.ch.ackInOrder(() => sent.push('C'), batch2.promise);
  c.ch.ackInOrder(() => sent.push('D'));
  batch2.settle();
  await batch2.promise;
  await Promise.resolve();
  assert.equal(sent.length, 0, 'nothing overtakes A');
  batch1.settle();
  for (let i = 0; i < 10 && sent.length < 4; i++) await Promise.resolve();
  assert.deepEqual(sent, ['A', 'B', 'C', 'D']);
  // The limit counts acknowledgements, not entries: four waiting on one batch, a fifth stops reading
  // (the client is slowed, not cut), and reading resumes once they have gone out.
  const batch3 = later();
  for (let i = 0; i < 4; i++) c.ch.ackInOrder(() => sent.push(`E${i}`), batch3.promise);
  assert.equal(c.held, false);
  c.ch.ackInOrder(() => sent.push('F'), batch3.promise);
  assert.deepEqual([c.held, c.closed], [true, false], 'more than mqtt.max_awaiting_rel waiting: reading stops');
  batch3.settle();
  for (let i = 0; i < 10 && sent.length < 9; i++) await Promise.resolve();
  assert.deepEqual(sent.slice(4), ['E0', 'E1', 'E2', 'E3', 'F']);
  assert.equal(c.held, false, 'reading resumes');
  b.stop();
});

test('`clients kick` publishes the will: at once for a connected client, and a pending delayed one', async () => {
  const b = newBroker();
  const watcher = new Conn(b, 5);
  await watcher.connect('watcher');
  watcher.ch.packet({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/#', qos: 0 }] });
  const c = new Conn(b, 5);
  await c.connect('kicked', { will: { topic: 'will/now', payload: Buffer.from('bye'), qos: 0, retain: false } });
  assert.equal(b.kick('kicked'), true);
  const d = new Conn(b, 5);
  await d.connect('delayed', { properties: { sessionExpiryInterval: 300 }, will: { topic: 'will/delayed', payload: Buffer.from('later'), qos: 0, retain: false, properties: { willDelayInterval: 120 } } });
  d.ch.socketClosed();
  assert.deepEqual(watcher.publishes().map((p) => p.topic), ['will/now']);
  b.kick('delayed');
  assert.deepEqual(watcher.publishes().map((p) => p.topic), ['will/now', 'will/delayed']);
  b.stop();
});

test('mqtt.upgrade_qos: retained messages sent on subscribe are upgraded like live ones', async () => {
  const b = newBroker({ upgrade_qos: true });
  b.publish(message('kept', 'r', 0, { retain: true }));
  const c = new Conn(b, 4);
  await c.connect('upgrade');
  c.ch.packet({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'kept', qos: 2 }] });
  b.publish(message('kept', 'live', 0));
  assert.deepEqual(c.publishes().map((p) => [p.payload.toString(), p.qos]), [
    ['r', 2],
    ['live', 2],
  ]);
  b.stop();
});

test('mountpoint placeholders: ${clientid}, ${username}, ${peerhost}; unknown or missing ones stay as written', () => {
  assert.equal(mountpointFor('plain/', 'c1', 'u1', '10.0.0.1:5000'), 'plain/');
  assert.equal(mountpointFor('d/${clientid}/${username}/', 'c1', 'u1', '10.0.0.1:5000'), 'd/c1/u1/');
  assert.equal(mountpointFor('d/${username}/', 'c1', undefined, '10.0.0.1:5000'), 'd/${username}/');
  assert.equal(mountpointFor('h/${peerhost}/', 'c1', 'u1', '[::1]:5000'), 'h/::1/');
  assert.equal(mountpointFor('x/${zone}/${clientid}', 'c1', 'u1', '10.0.0.1:5000'), 'x/${zone}/c1');
});

test('a channel with a ${clientid} mountpoint publishes and subscribes inside its own prefix', async () => {
  const b = newBroker();
  const outside = new Conn(b, 5);
  await outside.connect('outside');
  outside.ch.packet({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'dev/#', qos: 0 }] });
  const a = new Conn(b, 5, 'dev/${clientid}/');
  await a.connect('a');
  a.ch.packet({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'cmd', qos: 0 }] });
  a.ch.packet({ cmd: 'publish', topic: 'up', payload: Buffer.from('1'), qos: 0, retain: false, dup: false });
  b.publish(message('dev/a/cmd', 'go', 0));
  b.publish(message('dev/b/cmd', 'not-for-a', 0));
  assert.deepEqual(outside.publishes().map((p) => p.topic), ['dev/a/up', 'dev/a/cmd', 'dev/b/cmd']);
  assert.deepEqual(a.publishes().map((p) => [p.topic, p.payload.toString()]), [['cmd', 'go']]);
  b.stop();
});
