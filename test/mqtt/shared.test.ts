// Shared subscriptions against a running node (MQTT 5.0 §4.8.2, EMQX's `$queue/`): one member per
// group gets each message, every group and every plain subscriber gets it; each value of
// mqtt.shared_subscription_strategy (changed on the running node by reloading emqx.conf) behaves
// as src/broker/shared-strategy.ts documents; a member whose session ends hands its
// unacknowledged messages to another member.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestNode } from '../helpers/launcher.js';
import { applyConf, closeAll, Inbox, open, RawClient, startMqttNode, uniq, type Client } from '../helpers/mqtt-client.js';
import { fnv1a } from '../../src/broker/shared-strategy.js';

let node: TestNode;
let port: number;

before(async () => {
  node = await startMqttNode({ name: 'mqttshared@127.0.0.1', mqtt: true });
  port = node.mqttPort!;
});

after(async () => {
  await closeAll();
  RawClient.destroyAll();
  await node?.cleanup();
});

async function strategy(name: string): Promise<void> {
  const r = await applyConf(node, name === 'round_robin' ? '' : `mqtt.shared_subscription_strategy = ${name}`, 'mqtt.shared_subscription_strategy', name);
  assert.equal(r.code, 0, r.stdout + r.stderr);
}

/** `n` members subscribed one after the other (join order = index order) to `filter`. */
async function members(n: number, filter: string, prefix = 'm'): Promise<Client[]> {
  const out: Client[] = [];
  for (let i = 0; i < n; i++) {
    const c = await open(port, { protocolVersion: 5, clientId: `${prefix}${i}-${uniq()}` });
    await c.subscribe(filter, { qos: 1 });
    out.push(c);
  }
  return out;
}

/** Waits until the members together received `total` messages; returns each one's count. */
async function spread(ms: Client[], total: number): Promise<number[]> {
  const sum = (): number => ms.reduce((s, c) => s + c.inbox.messages.length, 0);
  await Inbox.untilAny(ms.map((c) => c.inbox), () => sum() >= total, 10_000, `${total} messages across the group`);
  return ms.map((c) => c.inbox.messages.length);
}

async function endAll(cs: Client[]): Promise<void> {
  await Promise.all(cs.map((c) => c.end()));
}

describe('group semantics', () => {
  test('each message goes to exactly one member of each group, and to every plain subscriber', async () => {
    const topic = `shared/sem/${uniq()}`;
    const g1 = await members(2, `$share/g1/${topic}`);
    const g2 = await members(3, `$share/g2/${topic}`);
    const plain = await open(port, { protocolVersion: 5 });
    await plain.subscribe(topic, { qos: 1 });
    const pub = await open(port, { protocolVersion: 5 });
    for (let i = 0; i < 12; i++) await pub.publish(topic, `m${i}`, { qos: 1 });
    await plain.inbox.count(12);
    const all = Array.from({ length: 12 }, (_, i) => `m${i}`);
    for (const g of [g1, g2]) {
      await spread(g, 12);
      const got = g.flatMap((c) => c.inbox.texts()).sort();
      assert.deepEqual(got, [...all].sort(), 'every message exactly once within the group');
    }
    await endAll([...g1, ...g2, plain, pub]);
  });

  test('`$queue/t` is one shared group: each message to one member', async () => {
    const topic = `shared/queue/${uniq()}`;
    const ms = await members(2, `$queue/${topic}`);
    const pub = await open(port, { protocolVersion: 5 });
    for (let i = 0; i < 10; i++) await pub.publish(topic, `q${i}`, { qos: 1 });
    const counts = await spread(ms, 10);
    assert.deepEqual(counts, [5, 5]);
    const subs = await node.ctl(['subscriptions', 'show', ms[0]!.mqtt.options.clientId!]);
    assert.match(subs.stdout, new RegExp(`topic:\\$queue/${topic} qos:1`));
    await endAll([...ms, pub]);
  });

  test('a shared `#` does not match `$` topics; a shared `$`-filter does', async () => {
    const id = uniq();
    const [all] = await members(1, '$share/all/#', 'all');
    const [dollar] = await members(1, `$share/d/$test/${id}/+`, 'dollar');
    const pub = await open(port, { protocolVersion: 5 });
    await pub.publish(`$test/${id}/x`, 'dollar-topic', { qos: 1 });
    await dollar!.inbox.get(`$test/${id}/x`, 'dollar-topic');
    await pub.publish(`plain/${id}`, 'plain', { qos: 1 });
    await all!.inbox.get(`plain/${id}`, 'plain');
    assert.deepEqual(all!.inbox.messages.filter((m) => m.topic.startsWith('$')).map((m) => m.topic), []);
    await endAll([all!, dollar!, pub]);
  });

  test('a member that unsubscribes gets no more; the others share everything, at their granted QoS', async () => {
    const topic = `shared/unsub/${uniq()}`;
    const ms = await members(3, `$share/u/${topic}`);
    await ms[0]!.mqtt.unsubscribeAsync(`$share/u/${topic}`);
    const pub = await open(port, { protocolVersion: 5 });
    for (let i = 0; i < 10; i++) await pub.publish(topic, `u${i}`, { qos: 2 });
    const counts = await spread(ms.slice(1), 10);
    assert.deepEqual(counts, [5, 5]);
    assert.equal(ms[0]!.inbox.messages.length, 0);
    assert.ok(ms.slice(1).every((c) => c.inbox.messages.every((m) => m.packet.qos === 1)), 'granted QoS 1 caps delivery');
    await endAll([...ms, pub]);
  });

  test('a shared subscription with a wildcard filter', async () => {
    const base = `shared/wild/${uniq()}`;
    const ms = await members(2, `$share/w/${base}/+`);
    const pub = await open(port, { protocolVersion: 5 });
    for (let i = 0; i < 6; i++) await pub.publish(`${base}/${i}`, `w${i}`, { qos: 1 });
    const counts = await spread(ms, 6);
    assert.deepEqual(counts, [3, 3]);
    await endAll([...ms, pub]);
  });
});

describe('strategies', () => {
  test('round_robin (the default): members served in turn, evenly, from one publisher and from several', async () => {
    await strategy('round_robin');
    const topic = `shared/rr/${uniq()}`;
    const ms = await members(3, `$share/rr/${topic}`);
    const pub = await open(port, { protocolVersion: 5 });
    for (let i = 0; i < 30; i++) await pub.publish(topic, `a${i}`, { qos: 1 });
    assert.deepEqual(await spread(ms, 30), [10, 10, 10]);
    // In turn: the member of message i is the member of message i + 3.
    const owner = new Map<string, number>();
    ms.forEach((c, i) => c.inbox.texts().forEach((t) => owner.set(t, i)));
    for (let i = 0; i + 3 < 30; i++) assert.equal(owner.get(`a${i}`), owner.get(`a${i + 3}`), `a${i} and a${i + 3}`);
    // Several publishers, one message each in turn (EMQX's own round_robin skews here, emqx#8454).
    const pubs = await Promise.all(Array.from({ length: 5 }, () => open(port, { protocolVersion: 5 })));
    for (let i = 0; i < 30; i++) await pubs[i % 5]!.publish(topic, `b${i}`, { qos: 1 });
    assert.deepEqual(await spread(ms, 60), [20, 20, 20]);
    await endAll([...ms, pub, ...pubs]);
  });

  test('round_robin_per_group: the same turn-taking', async () => {
    await strategy('round_robin_per_group');
    const topic = `shared/rrpg/${uniq()}`;
    const ms = await members(3, `$share/rrpg/${topic}`);
    const pubs = await Promise.all(Array.from({ length: 3 }, () => open(port, { protocolVersion: 5 })));
    for (let i = 0; i < 30; i++) await pubs[i % 3]!.publish(topic, `p${i}`, { qos: 1 });
    assert.deepEqual(await spread(ms, 30), [10, 10, 10]);
    await endAll([...ms, ...pubs]);
  });

  test('random: every member gets a share, none gets all', async () => {
    await strategy('random');
    const topic = `shared/random/${uniq()}`;
    const ms = await members(3, `$share/rnd/${topic}`);
    const pub = await open(port, { protocolVersion: 5 });
    for (let i = 0; i < 300; i++) await pub.publish(topic, `r${i}`, { qos: 1 });
    const counts = await spread(ms, 300);
    // Binomial(300, 1/3): mean 100, sd ~8.2; 40..160 is beyond 7 sd.
    for (const n of counts) assert.ok(n >= 40 && n <= 160, `counts ${counts.join(', ')}`);
    await endAll([...ms, pub]);
  });

  test('local: on one node every member is local, so a random member each time', async () => {
    await strategy('local');
    const topic = `shared/local/${uniq()}`;
    const ms = await members(2, `$share/loc/${topic}`);
    const pub = await open(port, { protocolVersion: 5 });
    for (let i = 0; i < 200; i++) await pub.publish(topic, `l${i}`, { qos: 1 });
    const counts = await spread(ms, 200);
    for (const n of counts) assert.ok(n >= 40 && n <= 160, `counts ${counts.join(', ')}`);
    await endAll([...ms, pub]);
  });

  test('sticky: one member gets everything until it leaves; then another one sticks', async () => {
    await strategy('sticky');
    const topic = `shared/sticky/${uniq()}`;
    const ms = await members(3, `$share/st/${topic}`);
    const pubs = await Promise.all(Array.from({ length: 3 }, () => open(port, { protocolVersion: 5 })));
    for (let i = 0; i < 30; i++) await pubs[i % 3]!.publish(topic, `s${i}`, { qos: 1 });
    const counts = await spread(ms, 30);
    const chosen = counts.indexOf(30);
    assert.ok(chosen >= 0, `counts ${counts.join(', ')}`);
    await ms[chosen]!.end();
    const rest = ms.filter((_, i) => i !== chosen);
    for (let i = 0; i < 20; i++) await pubs[0]!.publish(topic, `t${i}`, { qos: 1 });
    const after2 = await spread(rest, 20);
    assert.ok(after2.includes(20), `after the sticky member left: ${after2.join(', ')}`);
    await endAll([...rest, ...pubs]);
  });

  test('hash_clientid: a publisher’s messages always go to member fnv1a(publisher id) mod n', async () => {
    await strategy('hash_clientid');
    const topic = `shared/hashcid/${uniq()}`;
    const ms = await members(3, `$share/hc/${topic}`);
    const pubs = await Promise.all(Array.from({ length: 6 }, (_, i) => open(port, { protocolVersion: 5, clientId: `hash-pub-${i}-${uniq()}` })));
    for (let round = 0; round < 4; round++) for (const [i, p] of pubs.entries()) await p.publish(topic, `${i}:${round}`, { qos: 1 });
    await spread(ms, 24);
    pubs.forEach((p, i) => {
      const want = fnv1a(p.mqtt.options.clientId!) % 3;
      const got = ms.map((c) => c.inbox.texts().filter((t) => t.startsWith(`${i}:`)).length);
      assert.deepEqual(got, [0, 1, 2].map((k) => (k === want ? 4 : 0)), `publisher ${p.mqtt.options.clientId}`);
    });
    await endAll([...ms, ...pubs]);
  });

  test('hash_topic: a topic’s messages always go to member fnv1a(topic) mod n', async () => {
    await strategy('hash_topic');
    const base = `shared/hashtopic/${uniq()}`;
    const ms = await members(3, `$share/ht/${base}/+`);
    const pub = await open(port, { protocolVersion: 5 });
    const topics = Array.from({ length: 8 }, (_, i) => `${base}/t${i}`);
    for (let round = 0; round < 3; round++) for (const t of topics) await pub.publish(t, `${t}|${round}`, { qos: 1 });
    await spread(ms, 24);
    for (const t of topics) {
      const want = fnv1a(t) % 3;
      const got = ms.map((c) => c.inbox.messages.filter((m) => m.topic === t).length);
      assert.deepEqual(got, [0, 1, 2].map((k) => (k === want ? 3 : 0)), t);
    }
    await endAll([...ms, pub]);
  });
});

describe('re-dispatch', () => {
  test('a member whose session ends hands its unacknowledged QoS 1 messages to another member', async () => {
    await strategy('round_robin');
    const topic = `shared/redispatch/${uniq()}`;
    const filter = `$share/rd/${topic}`;
    const { raw: silent } = await RawClient.session(port, 5, `silent-${uniq()}`);
    silent.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 1 }] });
    await silent.next((p) => p.cmd === 'suback', 5000, 'SUBACK');
    const [steady] = await members(1, filter, 'steady');
    const pub = await open(port, { protocolVersion: 5 });
    const all = Array.from({ length: 6 }, (_, i) => `x${i}`);
    for (const m of all) await pub.publish(topic, m, { qos: 1 });
    await silent.until(() => silent.publishes().length === 3, 5000, 'three PUBLISH to the silent member');
    await steady!.inbox.count(3);
    // The silent member never acknowledges; its clean session ends with its connection.
    silent.destroy();
    await steady!.inbox.count(6);
    assert.deepEqual(steady!.inbox.texts().sort(), all);
    await endAll([steady!, pub]);
  });
});
