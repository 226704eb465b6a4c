// Will messages against a running node (MQTT 5.0 §3.1.2.5, §3.1.3.2, §3.14): sent when the
// connection drops without DISCONNECT, not after a normal DISCONNECT, sent after a v5 DISCONNECT
// 0x04; the v5 Will Delay Interval (sent after the delay, or when the session ends first; not
// sent when the client is back within the delay); a will when the client is kicked and on session
// takeover; a retained will.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestNode } from '../helpers/launcher.js';
import { closeAll, open, poll, RawClient, startMqttNode, uniq, type Client } from '../helpers/mqtt-client.js';

let node: TestNode;
let port: number;

before(async () => {
  node = await startMqttNode({ name: 'mqttwill@127.0.0.1', mqtt: true });
  port = node.mqttPort!;
});

after(async () => {
  await closeAll();
  RawClient.destroyAll();
  await node?.cleanup();
});

/** A client subscribed to `topic` (QoS 1). */
async function watcher(topic: string): Promise<Client> {
  const w = await open(port, { protocolVersion: 5 });
  await w.subscribe(topic, { qos: 1 });
  return w;
}

/** Publishes a marker on `topic` and waits for `w` to get it: a will sent before it has arrived. */
async function settle(w: Client, topic: string): Promise<void> {
  const marker = `marker-${uniq()}`;
  const p = await open(port, { protocolVersion: 5 });
  await p.publish(topic, marker, { qos: 1 });
  await w.inbox.get(topic, marker);
  await p.end();
}

/** Waits until the node has no session (or, with `connected`, no connection) for `id`. */
async function gone(id: string): Promise<void> {
  await poll(async () => ((await node.ctl(['clients', 'show', id])).stdout === 'Not Found.\n' ? true : undefined), 5000, `session ${id} to end`);
}

const wills = (w: Client): string[] => w.inbox.texts().filter((t) => !t.startsWith('marker-'));

for (const level of [4, 5] as const) {
  const v = level === 5 ? 'v5' : 'v3.1.1';
  describe(`${v}: will on abnormal and normal close`, () => {
    test('sent when the socket is destroyed without DISCONNECT, with its QoS', async () => {
      const topic = `will/${v}/abnormal/${uniq()}`;
      const w = await watcher(topic);
      const c = await open(port, { protocolVersion: level, will: { topic, payload: Buffer.from('gone'), qos: 1, retain: false } });
      await c.destroy();
      const m = await w.inbox.get(topic, 'gone');
      assert.equal(m.packet.qos, 1);
      await w.end();
    });

    test('not sent after a normal DISCONNECT', async () => {
      const topic = `will/${v}/normal/${uniq()}`;
      const w = await watcher(topic);
      const id = `normal-${uniq()}`;
      const c = await open(port, { protocolVersion: level, clientId: id, will: { topic, payload: Buffer.from('never'), qos: 1, retain: false } });
      await c.end();
      await gone(id);
      await settle(w, topic);
      assert.deepEqual(wills(w), []);
      await w.end();
    });

    test('sent when the node closes the client (keepalive timeout)', async () => {
      const topic = `will/${v}/keepalive/${uniq()}`;
      const w = await watcher(topic);
      const raw = await RawClient.connect(port, level);
      await raw.handshake(`kawill-${uniq()}`, { keepalive: 1, will: { topic, payload: Buffer.from('timed-out'), qos: 0, retain: false } });
      await w.inbox.get(topic, 'timed-out', 6000);
      await raw.waitClosed(3000);
      await w.end();
    });
  });
}

describe('v5 will specifics', () => {
  test('DISCONNECT with reason 0x04 (disconnect with will message) sends the will', async () => {
    const topic = `will/v5/0x04/${uniq()}`;
    const w = await watcher(topic);
    const c = await open(port, { protocolVersion: 5, will: { topic, payload: Buffer.from('asked-for'), qos: 1, retain: false } });
    await c.end({ reasonCode: 0x04 });
    await w.inbox.get(topic, 'asked-for');
    await w.end();
  });

  test('a will keeps its v5 properties (content type, user properties, response topic)', async () => {
    const topic = `will/v5/props/${uniq()}`;
    const w = await watcher(topic);
    const c = await open(port, {
      protocolVersion: 5,
      will: { topic, payload: Buffer.from('p'), qos: 1, retain: false, properties: { contentType: 'text/plain', userProperties: { why: 'test' }, responseTopic: 'will/reply' } },
    });
    await c.destroy();
    const m = await w.inbox.get(topic, 'p');
    assert.equal(m.packet.properties?.contentType, 'text/plain');
    assert.deepEqual({ ...m.packet.properties?.userProperties }, { why: 'test' });
    assert.equal(m.packet.properties?.responseTopic, 'will/reply');
    await w.end();
  });

  test('Will Delay Interval 2 s: the will goes out after the delay, not before', async () => {
    const topic = `will/v5/delay/${uniq()}`;
    const w = await watcher(topic);
    const c = await open(port, {
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 30 },
      will: { topic, payload: Buffer.from('late'), qos: 1, retain: false, properties: { willDelayInterval: 2 } },
    });
    const droppedAt = Date.now();
    await c.destroy();
    await w.inbox.get(topic, 'late', 6000);
    const after = Date.now() - droppedAt;
    assert.ok(after >= 1900 && after < 4000, `will after ${after} ms`);
    await w.end();
  });

  test('Will Delay Interval: not sent when the client is back (same session) within the delay', async () => {
    const topic = `will/v5/back/${uniq()}`;
    const id = `back-${uniq()}`;
    const w = await watcher(topic);
    const opts = { protocolVersion: 5 as const, clientId: id, properties: { sessionExpiryInterval: 30 }, will: { topic, payload: Buffer.from('should-not'), qos: 1 as const, retain: false, properties: { willDelayInterval: 2 } } };
    const c = await open(port, opts);
    await c.destroy();
    await poll(async () => ((await node.ctl(['clients', 'show', id])).stdout.includes('connected=false') ? true : undefined), 5000, 'the node to see the drop');
    const back = await open(port, { ...opts, clean: false, will: { topic, payload: Buffer.from('second-will'), qos: 1, retain: false } });
    assert.equal(back.connack.sessionPresent, true);
    // Past the first connection's delay: nothing marks "a will was not sent" but time.
    await new Promise((r) => setTimeout(r, 2600));
    await settle(w, topic);
    assert.deepEqual(wills(w), []);
    await back.end({ properties: { sessionExpiryInterval: 0 } });
    await w.end();
  });

  test('Will Delay Interval longer than the session expiry: the will goes out when the session ends', async () => {
    const topic = `will/v5/expiry/${uniq()}`;
    const w = await watcher(topic);
    const c = await open(port, {
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 1 },
      will: { topic, payload: Buffer.from('at-expiry'), qos: 1, retain: false, properties: { willDelayInterval: 60 } },
    });
    const droppedAt = Date.now();
    await c.destroy();
    await w.inbox.get(topic, 'at-expiry', 5000);
    const after = Date.now() - droppedAt;
    assert.ok(after >= 900 && after < 3500, `will after ${after} ms`);
    await w.end();
  });

  test('a retained will is stored as a retained message', async () => {
    const topic = `will/v5/retained/${uniq()}`;
    const c = await open(port, { protocolVersion: 5, will: { topic, payload: Buffer.from('kept'), qos: 1, retain: true } });
    const w = await watcher(topic);
    await c.destroy();
    await w.inbox.get(topic, 'kept');
    const late = await open(port, { protocolVersion: 5 });
    await late.subscribe(topic, { qos: 1 });
    const m = await late.inbox.get(topic, 'kept');
    assert.equal(m.packet.retain, true);
    await Promise.all([w.end(), late.end()]);
  });
});

describe('will when kicked', () => {
  test('`clients kick` on a connected client publishes its will (the server closed the connection)', async () => {
    for (const level of [4, 5] as const) {
      const topic = `will/kick/${level}/${uniq()}`;
      const id = `kicked-${uniq()}`;
      const w = await watcher(topic);
      const c = await open(port, { protocolVersion: level, clientId: id, will: { topic, payload: Buffer.from('kicked'), qos: 1, retain: false } });
      const r = await node.ctl(['clients', 'kick', id]);
      assert.equal(r.stdout, 'ok\n');
      await w.inbox.get(topic, 'kicked');
      await c.closed;
      await w.end();
    }
  });

  test('`clients kick` on a disconnected session whose will waits for its delay: the session ends, the will goes out now', async () => {
    const topic = `will/kick/delayed/${uniq()}`;
    const id = `kicked-delayed-${uniq()}`;
    const w = await watcher(topic);
    const c = await open(port, { protocolVersion: 5, clientId: id, properties: { sessionExpiryInterval: 300 }, will: { topic, payload: Buffer.from('now'), qos: 1, retain: false, properties: { willDelayInterval: 120 } } });
    await c.destroy();
    await poll(async () => ((await node.ctl(['clients', 'show', id])).stdout.includes('connected=false') ? true : undefined), 5000, 'the node to see the drop');
    await node.ctl(['clients', 'kick', id]);
    await w.inbox.get(topic, 'now');
    await w.end();
  });
});

describe('will on takeover', () => {
  test('v5 without a will delay: the old connection’s will is sent when it is taken over', async () => {
    const topic = `will/takeover/nodelay/${uniq()}`;
    const id = `tk-${uniq()}`;
    const w = await watcher(topic);
    const first = await open(port, { protocolVersion: 5, clientId: id, properties: { sessionExpiryInterval: 30 }, will: { topic, payload: Buffer.from('taken'), qos: 1, retain: false } });
    const second = await open(port, { protocolVersion: 5, clientId: id, clean: false, properties: { sessionExpiryInterval: 30 } });
    await w.inbox.get(topic, 'taken');
    await first.closed;
    await second.end({ properties: { sessionExpiryInterval: 0 } });
    await w.end();
  });

  test('v5 with a will delay, resumed by the new connection: not sent', async () => {
    const topic = `will/takeover/resumed/${uniq()}`;
    const id = `tkr-${uniq()}`;
    const w = await watcher(topic);
    const first = await open(port, { protocolVersion: 5, clientId: id, properties: { sessionExpiryInterval: 30 }, will: { topic, payload: Buffer.from('should-not'), qos: 1, retain: false, properties: { willDelayInterval: 1 } } });
    const second = await open(port, { protocolVersion: 5, clientId: id, clean: false, properties: { sessionExpiryInterval: 30 } });
    assert.equal(second.connack.sessionPresent, true);
    await first.closed;
    // Past the delay.
    await new Promise((r) => setTimeout(r, 1600));
    await settle(w, topic);
    assert.deepEqual(wills(w), []);
    await second.end({ properties: { sessionExpiryInterval: 0 } });
    await w.end();
  });

  test('v5 with a will delay, taken over with clean start (the session ends): sent', async () => {
    const topic = `will/takeover/clean/${uniq()}`;
    const id = `tkc-${uniq()}`;
    const w = await watcher(topic);
    const first = await open(port, { protocolVersion: 5, clientId: id, properties: { sessionExpiryInterval: 30 }, will: { topic, payload: Buffer.from('session-ended'), qos: 1, retain: false, properties: { willDelayInterval: 30 } } });
    const second = await open(port, { protocolVersion: 5, clientId: id, clean: true });
    assert.equal(second.connack.sessionPresent, false);
    await w.inbox.get(topic, 'session-ended');
    await first.closed;
    await Promise.all([second.end(), w.end()]);
  });

  test('3.1.1: the taken-over connection’s will is sent', async () => {
    const topic = `will/takeover/v311/${uniq()}`;
    const id = `tk4-${uniq()}`;
    const w = await watcher(topic);
    const first = await open(port, { protocolVersion: 4, clientId: id, clean: false, will: { topic, payload: Buffer.from('taken-311'), qos: 1, retain: false } });
    const second = await open(port, { protocolVersion: 4, clientId: id, clean: false });
    await w.inbox.get(topic, 'taken-311');
    await first.closed;
    await second.end();
    await node.ctl(['clients', 'kick', id]);
    await w.end();
  });
});
