// Retained messages against a running node (MQTT 5.0 §3.3.1.3, §3.8.3.1): sent on subscribe with
// the RETAIN flag, the last one per topic, an empty payload deletes, wildcards, QoS as min(message,
// subscription), v5 Retain Handling 0/1/2 and Retain As Published, none for shared subscriptions,
// `retainer info|topics|clean`, and the retainer.* limits applied by a reload.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestNode } from '../helpers/launcher.js';
import { applyConf, closeAll, open, startMqttNode, uniq, type Client } from '../helpers/mqtt-client.js';

let node: TestNode;
let port: number;

before(async () => {
  node = await startMqttNode({ name: 'mqttretained@127.0.0.1', mqtt: true });
  port = node.mqttPort!;
});

after(async () => {
  await closeAll();
  await node?.cleanup();
});

/**
 * Publishes a plain marker to `topic` and waits for `c` to receive it: anything the node sent
 * `c` before it (the retained messages of a SUBACK) has arrived by then.
 */
async function settle(c: Client, topic: string): Promise<void> {
  const marker = `marker-${uniq()}`;
  const p = await open(port, { protocolVersion: 5 });
  await p.publish(topic, marker, { qos: 1 });
  await c.inbox.get(topic, marker);
  await p.end();
}

const retainedOnly = (c: Client): string[] => c.inbox.messages.filter((m) => m.packet.retain).map((m) => `${m.topic}=${m.payload.toString()}`);

for (const level of [4, 5] as const) {
  const v = level === 5 ? 'v5' : 'v3.1.1';
  describe(`${v}: retained messages`, () => {
    test('delivered on subscribe with the RETAIN flag; the last one per topic; live messages without it', async () => {
      const topic = `retained/${v}/${uniq()}`;
      const pub = await open(port, { protocolVersion: level });
      await pub.publish(topic, 'old', { qos: 1, retain: true });
      await pub.publish(topic, 'new', { qos: 1, retain: true });
      const sub = await open(port, { protocolVersion: level });
      await sub.subscribe(topic, { qos: 1 });
      const m = await sub.inbox.get(topic, 'new');
      assert.equal(m.packet.retain, true);
      assert.equal(m.packet.qos, 1);
      await pub.publish(topic, 'live', { qos: 1, retain: true });
      const live = await sub.inbox.get(topic, 'live');
      assert.equal(live.packet.retain, false, 'a live message to an existing subscription has RETAIN 0 (no retain-as-published)');
      assert.deepEqual(sub.inbox.texts(), ['new', 'live']);
      await Promise.all([pub.end(), sub.end()]);
    });

    test('an empty retained payload deletes the retained message', async () => {
      const topic = `retained/${v}/del/${uniq()}`;
      const pub = await open(port, { protocolVersion: level });
      await pub.publish(topic, 'keep-me', { qos: 1, retain: true });
      await pub.publish(topic, '', { qos: 1, retain: true });
      const sub = await open(port, { protocolVersion: level });
      await sub.subscribe(topic, { qos: 1 });
      await settle(sub, topic);
      assert.deepEqual(retainedOnly(sub), []);
      const list = await node.ctl(['retainer', 'topics']);
      assert.ok(!list.stdout.includes(topic), list.stdout);
      await Promise.all([pub.end(), sub.end()]);
    });

    test('a wildcard subscription gets every matching retained message; QoS is min(message, subscription)', async () => {
      const base = `retained/${v}/wild/${uniq()}`;
      const pub = await open(port, { protocolVersion: level });
      await pub.publish(`${base}/a`, 'A', { qos: 2, retain: true });
      await pub.publish(`${base}/b/c`, 'BC', { qos: 0, retain: true });
      await pub.publish(`${base}x/a`, 'other', { qos: 1, retain: true });
      const sub = await open(port, { protocolVersion: level });
      await sub.subscribe(`${base}/#`, { qos: 1 });
      await settle(sub, `${base}/z`);
      const got = sub.inbox.messages.filter((m) => m.packet.retain).map((m) => [m.topic, m.payload.toString(), m.packet.qos]);
      got.sort((x, y) => String(x[0]).localeCompare(String(y[0])));
      assert.deepEqual(got, [
        [`${base}/a`, 'A', 1],
        [`${base}/b/c`, 'BC', 0],
      ]);
      const plus = await open(port, { protocolVersion: level });
      await plus.subscribe(`${base}/+`, { qos: 2 });
      await settle(plus, `${base}/z`);
      assert.deepEqual(retainedOnly(plus), [`${base}/a=A`]);
      assert.equal(plus.inbox.messages[0]!.packet.qos, 2);
      await Promise.all([pub.end(), sub.end(), plus.end()]);
    });
  });
}

describe('v5 subscription options', () => {
  test('Retain Handling 0: retained sent on every SUBSCRIBE, also for an existing subscription', async () => {
    const topic = `retained/rh0/${uniq()}`;
    const pub = await open(port, { protocolVersion: 5 });
    await pub.publish(topic, 'r', { qos: 1, retain: true });
    const sub = await open(port, { protocolVersion: 5 });
    await sub.subscribe(topic, { qos: 1, rh: 0 });
    await sub.subscribe(topic, { qos: 1, rh: 0 });
    await settle(sub, topic);
    assert.deepEqual(retainedOnly(sub), [`${topic}=r`, `${topic}=r`]);
    await Promise.all([pub.end(), sub.end()]);
  });

  test('Retain Handling 1: retained sent only when the subscription is new', async () => {
    const topic = `retained/rh1/${uniq()}`;
    const pub = await open(port, { protocolVersion: 5 });
    await pub.publish(topic, 'r', { qos: 1, retain: true });
    const sub = await open(port, { protocolVersion: 5 });
    await sub.subscribe(topic, { qos: 1, rh: 1 });
    await sub.subscribe(topic, { qos: 1, rh: 1 });
    await settle(sub, topic);
    assert.deepEqual(retainedOnly(sub), [`${topic}=r`]);
    await Promise.all([pub.end(), sub.end()]);
  });

  test('Retain Handling 2: retained never sent on subscribe', async () => {
    const topic = `retained/rh2/${uniq()}`;
    const pub = await open(port, { protocolVersion: 5 });
    await pub.publish(topic, 'r', { qos: 1, retain: true });
    const sub = await open(port, { protocolVersion: 5 });
    await sub.subscribe(topic, { qos: 1, rh: 2 });
    await settle(sub, topic);
    assert.deepEqual(retainedOnly(sub), []);
    await Promise.all([pub.end(), sub.end()]);
  });

  test('Retain As Published: a live retained message keeps RETAIN 1 with rap, 0 without', async () => {
    const topic = `retained/rap/${uniq()}`;
    const withRap = await open(port, { protocolVersion: 5 });
    await withRap.subscribe(topic, { qos: 1, rap: true });
    const without = await open(port, { protocolVersion: 5 });
    await without.subscribe(topic, { qos: 1, rap: false });
    const pub = await open(port, { protocolVersion: 5 });
    await pub.publish(topic, 'flagged', { qos: 1, retain: true });
    await pub.publish(topic, 'plain', { qos: 1, retain: false });
    const [a, b] = await Promise.all([withRap.inbox.count(2), without.inbox.count(2)]);
    assert.deepEqual(a.map((m) => [m.payload.toString(), m.packet.retain]), [['flagged', true], ['plain', false]]);
    assert.deepEqual(b.map((m) => [m.payload.toString(), m.packet.retain]), [['flagged', false], ['plain', false]]);
    await pub.publish(topic, '', { qos: 1, retain: true });
    await Promise.all([withRap.end(), without.end(), pub.end()]);
  });

  test('no retained messages for a shared subscription', async () => {
    const topic = `retained/shared/${uniq()}`;
    const pub = await open(port, { protocolVersion: 5 });
    await pub.publish(topic, 'r', { qos: 1, retain: true });
    const sub = await open(port, { protocolVersion: 5 });
    await sub.subscribe(`$share/g/${topic}`, { qos: 1 });
    await settle(sub, topic);
    assert.deepEqual(retainedOnly(sub), []);
    await Promise.all([pub.end(), sub.end()]);
  });

  test('a retained message with a message expiry is not sent after it expired', async () => {
    const topic = `retained/expiry/${uniq()}`;
    const pub = await open(port, { protocolVersion: 5 });
    await pub.publish(topic, 'brief', { qos: 1, retain: true, properties: { messageExpiryInterval: 1 } });
    const early = await open(port, { protocolVersion: 5 });
    await early.subscribe(topic, { qos: 1 });
    const m = await early.inbox.get(topic, 'brief');
    assert.equal(m.packet.retain, true);
    // No event marks an expiry: wait it out.
    await new Promise((r) => setTimeout(r, 1600));
    const late = await open(port, { protocolVersion: 5 });
    await late.subscribe(topic, { qos: 1 });
    await settle(late, topic);
    assert.deepEqual(retainedOnly(late), []);
    await Promise.all([pub.end(), early.end(), late.end()]);
  });
});

describe('retainer commands', () => {
  test('retainer info, topics and clean', async () => {
    const base = `retained/ctl/${uniq()}`;
    const pub = await open(port, { protocolVersion: 5 });
    for (const t of ['a', 'b', 'c/d']) await pub.publish(`${base}/${t}`, t, { qos: 1, retain: true });
    const info = await node.ctl(['retainer', 'info']);
    assert.equal(info.code, 0);
    const count = Number(/^Number of retained messages: (\d+)\n$/.exec(info.stdout)?.[1]);
    assert.ok(count >= 3, info.stdout);
    const topics = await node.ctl(['retainer', 'topics']);
    assert.ok(topics.stdout.startsWith(`Number of retained messages: ${count}\n`), topics.stdout);
    for (const t of ['a', 'b', 'c/d']) assert.ok(topics.stdout.split('\n').includes(`${base}/${t}`), topics.stdout);
    const cleaned = await node.ctl(['retainer', 'clean', `${base}/+`]);
    assert.equal(cleaned.code, 0, cleaned.stdout + cleaned.stderr);
    const after1 = await node.ctl(['retainer', 'topics']);
    assert.ok(!after1.stdout.includes(`${base}/a\n`) && !after1.stdout.includes(`${base}/b\n`), after1.stdout);
    assert.ok(after1.stdout.includes(`${base}/c/d\n`), after1.stdout);
    const all = await node.ctl(['retainer', 'clean']);
    assert.equal(all.code, 0);
    // Only $SYS facts the node may have published since (retained by design) can be left.
    const left = (await node.ctl(['retainer', 'topics'])).stdout.split('\n').slice(1).filter((l) => l !== '');
    assert.deepEqual(left.filter((t) => !t.startsWith('$SYS/')), []);
    const sub = await open(port, { protocolVersion: 5 });
    await sub.subscribe(`${base}/#`, { qos: 1 });
    await settle(sub, `${base}/z`);
    assert.deepEqual(retainedOnly(sub), []);
    await Promise.all([pub.end(), sub.end()]);
  });
});

describe('retainer limits (applied by reloading emqx.conf)', () => {
  const count = async (): Promise<number> => Number(/^Number of retained messages: (\d+)\n/.exec((await node.ctl(['retainer', 'info'])).stdout)?.[1]);

  test('retainer.backend.max_retained_messages: a new topic over the limit is not stored (and logged); a stored topic can still be replaced', async () => {
    const base = `retained/limit/${uniq()}`;
    const n = await count();
    await applyConf(node, `retainer.backend.max_retained_messages = ${n + 2}`, 'retainer.backend.max_retained_messages', String(n + 2));
    try {
      const pub = await open(port, { protocolVersion: 5 });
      await pub.publish(`${base}/1`, 'one', { qos: 1, retain: true });
      await pub.publish(`${base}/2`, 'two', { qos: 1, retain: true });
      await pub.publish(`${base}/3`, 'three', { qos: 1, retain: true });
      await pub.publish(`${base}/1`, 'one-again', { qos: 1, retain: true });
      const sub = await open(port, { protocolVersion: 5 });
      await sub.subscribe(`${base}/+`, { qos: 1 });
      await settle(sub, `${base}/z`);
      assert.deepEqual(retainedOnly(sub).sort(), [`${base}/1=one-again`, `${base}/2=two`]);
      assert.ok(node.logText().includes('retainer.backend.max_retained_messages reached'), 'the refusal is logged');
      await pub.publish(`${base}/1`, '', { qos: 1, retain: true });
      await pub.publish(`${base}/2`, '', { qos: 1, retain: true });
      await Promise.all([pub.end(), sub.end()]);
    } finally {
      await applyConf(node, '', 'retainer.backend.max_retained_messages', '0');
    }
  });

  test('retainer.max_payload_size: a larger retained message is delivered but not stored', async () => {
    const topic = `retained/size/${uniq()}`;
    await applyConf(node, 'retainer.max_payload_size = 16', 'retainer.max_payload_size', '16');
    try {
      const live = await open(port, { protocolVersion: 5 });
      await live.subscribe(topic, { qos: 1 });
      const pub = await open(port, { protocolVersion: 5 });
      await pub.publish(topic, 'x'.repeat(64), { qos: 1, retain: true });
      await live.inbox.get(topic, 'x'.repeat(64));
      const late = await open(port, { protocolVersion: 5 });
      await late.subscribe(topic, { qos: 1 });
      await settle(late, topic);
      assert.deepEqual(retainedOnly(late), []);
      await Promise.all([live.end(), pub.end(), late.end()]);
    } finally {
      await applyConf(node, '', 'retainer.max_payload_size', '1048576');
    }
  });

  test('retainer.msg_expiry_interval: a retained message without its own expiry is dropped after it, one with its own interval is not (as EMQX)', async () => {
    const topic = `retained/ttl/${uniq()}`;
    const own = `retained/ttl-own/${uniq()}`;
    await applyConf(node, 'retainer.msg_expiry_interval = 1s', 'retainer.msg_expiry_interval', '1s');
    try {
      const pub = await open(port, { protocolVersion: 5 });
      await pub.publish(topic, 'short-lived', { qos: 1, retain: true });
      await pub.publish(own, 'own-interval', { qos: 1, retain: true, properties: { messageExpiryInterval: 60 } });
      const early = await open(port, { protocolVersion: 5 });
      await early.subscribe(topic, { qos: 1 });
      const first = await early.inbox.get(topic, 'short-lived');
      assert.equal(first.packet.properties?.messageExpiryInterval, undefined, 'the retainer\'s expiry is not shown');
      // No event marks an expiry: wait it out.
      await new Promise((r) => setTimeout(r, 1500));
      const late = await open(port, { protocolVersion: 5 });
      await late.subscribe(topic, { qos: 1 });
      await settle(late, topic);
      assert.deepEqual(retainedOnly(late), []);
      await late.subscribe(own, { qos: 1 });
      const kept = await late.inbox.get(own, 'own-interval');
      const left = kept.packet.properties?.messageExpiryInterval;
      assert.ok(left !== undefined && left <= 59 && left >= 50, `remaining interval ${left}`);
      await Promise.all([pub.end(), early.end(), late.end()]);
    } finally {
      await applyConf(node, '', 'retainer.msg_expiry_interval', '0s');
    }
  });

  test('retainer.stop_publish_clear_msg: an empty retained message deletes without reaching subscribers', async () => {
    const topic = `retained/clear/${uniq()}`;
    await applyConf(node, 'retainer.stop_publish_clear_msg = true', 'retainer.stop_publish_clear_msg', 'true');
    try {
      const sub = await open(port, { protocolVersion: 5 });
      await sub.subscribe(topic, { qos: 1 });
      const pub = await open(port, { protocolVersion: 5 });
      await pub.publish(topic, 'v', { qos: 1, retain: true });
      await pub.publish(topic, '', { qos: 1, retain: true });
      await settle(sub, topic);
      assert.deepEqual(sub.inbox.texts().filter((t) => !t.startsWith('marker-')), ['v']);
      assert.ok(!(await node.ctl(['retainer', 'topics'])).stdout.includes(`${topic}\n`));
      await Promise.all([sub.end(), pub.end()]);
    } finally {
      await applyConf(node, '', 'retainer.stop_publish_clear_msg', 'false');
    }
  });

  test('retainer.enable = false: nothing stored, `retainer info` says so', async () => {
    const topic = `retained/off/${uniq()}`;
    await applyConf(node, 'retainer.enable = false', 'retainer.enable', 'false');
    try {
      const pub = await open(port, { protocolVersion: 5 });
      await pub.publish(topic, 'not-kept', { qos: 1, retain: true });
      const sub = await open(port, { protocolVersion: 5 });
      await sub.subscribe(topic, { qos: 1 });
      await settle(sub, topic);
      assert.deepEqual(retainedOnly(sub), []);
      const info = await node.ctl(['retainer', 'info']);
      assert.equal(info.stdout, 'Retainer is not enabled\n');
      await Promise.all([pub.end(), sub.end()]);
    } finally {
      await applyConf(node, '', 'retainer.enable', 'true');
    }
  });
});
