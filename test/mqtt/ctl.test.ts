// The broker's command line against a running node, compared with what EMQX's emqx_mgmt_cli
// prints: clients list|show|kick, subscriptions list|show|add|del, topics list|show, broker,
// broker stats|metrics, listeners and listeners stop|start|restart, and their usage text.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IDisconnectPacket } from 'mqtt-packet';
import type { TestNode } from '../helpers/launcher.js';
import { closeAll, open, parseTable, poll, RawClient, startMqttNode, uniq, within, type Client } from '../helpers/mqtt-client.js';

const NODE = 'mqttctl@127.0.0.1';

let node: TestNode;
let port: number;

before(async () => {
  node = await startMqttNode({ name: NODE, mqtt: true });
  port = node.mqttPort!;
});

after(async () => {
  await closeAll();
  RawClient.destroyAll();
  await node?.cleanup();
});

async function ctl(...args: string[]): Promise<{ code: number | null; out: string }> {
  const r = await node.ctl(args);
  return { code: r.code, out: r.stdout };
}

const localPort = (c: Client): number => (c.mqtt.stream as unknown as { localPort: number }).localPort;

/** Publishes a marker to `topic` and waits for `c` to get it. */
async function settle(c: Client, topic: string): Promise<void> {
  const marker = `marker-${uniq()}`;
  const p = await open(port, { protocolVersion: 5 });
  await p.publish(topic, marker, { qos: 1 });
  await c.inbox.get(topic, marker);
  await p.end();
}

describe('an idle node', () => {
  test('no clients, subscriptions or topics', async () => {
    assert.deepEqual(await ctl('clients', 'list'), { code: 0, out: 'No clients.\n' });
    assert.deepEqual(await ctl('subscriptions', 'list'), { code: 0, out: 'No subscriptions.\n' });
    assert.deepEqual(await ctl('topics', 'list'), { code: 0, out: 'No topics.\n' });
  });
});

describe('clients', () => {
  test('list and show: Client(...) lines with EMQX’s fields in EMQX’s order', async () => {
    const id = `ctl-a-${uniq()}`;
    const t0 = Date.now();
    const c = await open(port, { protocolVersion: 5, clientId: id, username: 'bob', keepalive: 45, properties: { sessionExpiryInterval: 120 } });
    await c.subscribe(`ctl/${id}/1`, { qos: 1 });
    await c.subscribe(`ctl/${id}/2`, { qos: 0 });
    await c.publish(`ctl/${id}/1`, 'self', { qos: 1 });
    await c.inbox.get(`ctl/${id}/1`, 'self');
    const line = new RegExp(
      `^Client\\(${id}, username=bob, peername=127\\.0\\.0\\.1:${localPort(c)}, clean_start=true, keepalive=45, session_expiry_interval=120, subscriptions=2, inflight=0, awaiting_rel=0, delivered_msgs=1, enqueued_msgs=0, dropped_msgs=0, connected=true, created_at=(\\d+), connected_at=(\\d+)\\)\\n$`,
    );
    const show = await ctl('clients', 'show', id);
    assert.equal(show.code, 0);
    const m = line.exec(show.out);
    assert.ok(m, show.out);
    // created_at is the session's, connected_at the connection's (taken first, as in EMQX).
    for (const at of [Number(m[1]), Number(m[2])]) assert.ok(at >= t0 - 1000 && at <= Date.now(), show.out);
    const list = await ctl('clients', 'list');
    assert.ok(list.out.split('\n').some((l) => line.test(`${l}\n`)), list.out);

    // Disconnected, its session kept: connected=false and disconnected_at.
    await c.end();
    const off = await ctl('clients', 'show', id);
    assert.match(off.out, /, connected=false, created_at=\d+, connected_at=\d+, disconnected_at=\d+\)\n$/);
    await ctl('clients', 'kick', id);
  });

  test('show of an unknown client: Not Found.', async () => {
    const r = await ctl('clients', 'show', `nobody-${uniq()}`);
    assert.equal(r.out, 'Not Found.\n');
    assert.equal(r.code, 1);
  });

  test('kick: the client gets DISCONNECT 0x98 and its session is gone', async () => {
    const id = `ctl-kick-${uniq()}`;
    const c = await open(port, { protocolVersion: 5, clientId: id, properties: { sessionExpiryInterval: 300 } });
    const r = await ctl('clients', 'kick', id);
    assert.deepEqual(r, { code: 0, out: 'ok\n' });
    await within(c.closed, 5000, 'the kicked client to be closed');
    assert.equal((c.disconnect as IDisconnectPacket | undefined)?.reasonCode, 0x98);
    assert.equal((await ctl('clients', 'show', id)).out, 'Not Found.\n');
    const again = await open(port, { protocolVersion: 5, clientId: id, clean: false, properties: { sessionExpiryInterval: 300 } });
    assert.equal(again.connack.sessionPresent, false);
    await again.end({ properties: { sessionExpiryInterval: 0 } });
  });

  test('usage: `clients` alone prints the usage lines', async () => {
    const r = await ctl('clients');
    assert.equal(r.out, ['clients list            # List all clients', 'clients show <ClientId> # Show a client', 'clients kick <ClientId> # Kick out a client', ''].join('\n'));
  });
});

describe('subscriptions', () => {
  test('show and list: `<id> -> topic:<t> qos:<q> nl:<n> rh:<r> rap:<a>`', async () => {
    const id = `ctl-s-${uniq()}`;
    const c = await open(port, { protocolVersion: 5, clientId: id });
    await c.subscribe(`ctl/s/${id}/plain`, { qos: 2 });
    await c.subscribe(`ctl/s/${id}/opts`, { qos: 1, nl: true, rap: true, rh: 2 });
    await c.subscribe(`$share/grp/ctl/s/${id}/shared`, { qos: 0 });
    const show = await ctl('subscriptions', 'show', id);
    assert.equal(show.code, 0);
    assert.deepEqual(show.out.split('\n').filter((l) => l !== '').sort(), [
      `${id} -> topic:$share/grp/ctl/s/${id}/shared qos:0 nl:0 rh:0 rap:0`,
      `${id} -> topic:ctl/s/${id}/opts qos:1 nl:1 rh:2 rap:1`,
      `${id} -> topic:ctl/s/${id}/plain qos:2 nl:0 rh:0 rap:0`,
    ]);
    const list = await ctl('subscriptions', 'list');
    for (const l of show.out.split('\n').filter((x) => x !== '')) assert.ok(list.out.includes(`${l}\n`), list.out);
    assert.equal((await ctl('subscriptions', 'show', `nobody-${uniq()}`)).out, 'Not Found.\n');
    await c.end();
  });

  test('add: the client starts receiving the topic; del: it stops', async () => {
    const id = `ctl-add-${uniq()}`;
    const topic = `ctl/add/${id}`;
    const c = await open(port, { protocolVersion: 5, clientId: id });
    assert.deepEqual(await ctl('subscriptions', 'add', id, topic, '1'), { code: 0, out: 'ok\n' });
    assert.equal((await ctl('subscriptions', 'show', id)).out, `${id} -> topic:${topic} qos:1 nl:0 rh:0 rap:0\n`);
    const pub = await open(port, { protocolVersion: 5 });
    await pub.publish(topic, 'added', { qos: 1 });
    const m = await c.inbox.get(topic, 'added');
    assert.equal(m.packet.qos, 1);
    assert.deepEqual(await ctl('subscriptions', 'del', id, topic), { code: 0, out: 'ok\n' });
    assert.equal((await ctl('subscriptions', 'show', id)).out, 'Not Found.\n');
    await pub.publish(topic, 'after-del', { qos: 1 });
    // The client hears nothing more on it: a marker on another of its topics comes first.
    await c.subscribe(`${topic}/marker`, { qos: 1 });
    await settle(c, `${topic}/marker`);
    assert.deepEqual(c.inbox.texts().filter((t) => !t.startsWith('marker-')), ['added']);
    await Promise.all([c.end(), pub.end()]);
  });

  test('add refusals: a bad QoS, an unknown client', async () => {
    const id = `ctl-bad-${uniq()}`;
    const c = await open(port, { protocolVersion: 5, clientId: id });
    const q = await ctl('subscriptions', 'add', id, 'ctl/x', '3');
    assert.equal(q.out, 'QoS should be 0, 1, 2\n');
    assert.equal(q.code, 1);
    const u = await ctl('subscriptions', 'add', `nobody-${uniq()}`, 'ctl/x', '1');
    assert.equal(u.out, 'Error: Channel not found!');
    assert.equal(u.code, 1);
    await c.end();
  });
});

describe('topics', () => {
  test('list and show: one `<filter> -> <node>` line per route; a shared subscription routes its filter', async () => {
    const id = uniq();
    const c = await open(port, { protocolVersion: 5 });
    await c.subscribe(`ctl/t/${id}/a`, { qos: 0 });
    await c.subscribe(`ctl/t/${id}/+`, { qos: 0 });
    await c.subscribe(`$share/g/ctl/t/${id}/s`, { qos: 0 });
    const list = await ctl('topics', 'list');
    const mine = list.out.split('\n').filter((l) => l.includes(`/${id}/`));
    assert.deepEqual(mine.sort(), [`ctl/t/${id}/+ -> ${NODE}`, `ctl/t/${id}/a -> ${NODE}`, `ctl/t/${id}/s -> ${NODE}`]);
    assert.deepEqual(await ctl('topics', 'show', `ctl/t/${id}/a`), { code: 0, out: `ctl/t/${id}/a -> ${NODE}\n` });
    assert.deepEqual(await ctl('topics', 'show', `ctl/t/${id}/none`), { code: 0, out: '' });
    await c.end();
    await poll(async () => ((await ctl('topics', 'list')).out.includes(`/${id}/`) ? undefined : true), 5000, 'the routes to go with the client');
  });
});

describe('broker', () => {
  test('`broker`: sysdescr, version, datetime, uptime as EMQX prints them', async () => {
    const r = await ctl('broker');
    assert.equal(r.code, 0);
    const lines = r.out.split('\n');
    assert.equal(lines.length, 5, r.out);
    assert.match(lines[0]!, /^sysdescr {2}: \S/);
    assert.match(lines[1]!, /^version {3}: \d+\.\d+\.\d+/);
    assert.match(lines[2]!, /^datetime {2}: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}[+-]\d\d:\d\d$/);
    assert.match(lines[3]!, /^uptime {4}: (\d+ (days|hours|minutes), )*\d+ seconds$/);
  });

  test('`broker stats`: sorted `name : value` rows that follow the connections', async () => {
    const before = parseTable((await ctl('broker', 'stats')).out);
    const cs = await Promise.all([0, 1, 2].map(() => open(port, { protocolVersion: 5 })));
    await cs[0]!.subscribe(`ctl/stats/${uniq()}`, { qos: 0 });
    const r = await ctl('broker', 'stats');
    const names = r.out.split('\n').filter((l) => l !== '').map((l) => l.slice(0, 30).trim());
    assert.deepEqual(names, [...names].sort());
    for (const l of r.out.split('\n').filter((x) => x !== '')) assert.match(l, /^\S+\s*: \d+$/);
    const now = parseTable(r.out);
    assert.equal(now.get('connections.count'), before.get('connections.count')! + 3);
    assert.equal(now.get('sessions.count'), before.get('sessions.count')! + 3);
    assert.equal(now.get('subscriptions.count'), before.get('subscriptions.count')! + 1);
    // Every count has its `.max` (EMQX's emqx_stats): the peak stays after the clients leave.
    for (const name of [...now.keys()].filter((k) => k.endsWith('.count'))) {
      const max = name.replace(/\.count$/, '.max');
      assert.ok(now.get(max)! >= now.get(name)!, `${max} ${now.get(max)} below ${name} ${now.get(name)}`);
    }
    await Promise.all(cs.map((c) => c.end()));
    const after = await poll(async () => {
      const t = parseTable((await ctl('broker', 'stats')).out);
      return t.get('connections.count') === before.get('connections.count') ? t : undefined;
    }, 5000, 'the three clients to be gone');
    assert.ok(after.get('connections.max')! >= before.get('connections.count')! + 3, `connections.max ${after.get('connections.max')}`);
    assert.ok(after.get('sessions.max')! >= before.get('sessions.count')! + 3, `sessions.max ${after.get('sessions.max')}`);
  });

  test('`broker metrics`: counters that move with the traffic', async () => {
    const before = parseTable((await ctl('broker', 'metrics')).out);
    const c = await open(port, { protocolVersion: 5 });
    const topic = `ctl/metrics/${uniq()}`;
    await c.subscribe(topic, { qos: 1 });
    for (let i = 0; i < 5; i++) await c.publish(topic, String(i), { qos: 1 });
    await c.inbox.count(5);
    await c.end();
    const after = parseTable((await ctl('broker', 'metrics')).out);
    const delta = (k: string): number => after.get(k)! - before.get(k)!;
    assert.equal(delta('messages.qos1.received'), 5);
    assert.equal(delta('messages.qos1.sent'), 5);
    assert.equal(delta('packets.subscribe.received'), 1);
    assert.equal(delta('client.connected'), 1);
    assert.ok(delta('packets.puback.received') >= 5);
  });
});

describe('listeners', () => {
  test('stop, start and restart tcp:default, with EMQX’s messages', async () => {
    const c = await open(port, { protocolVersion: 5 });
    assert.deepEqual(await ctl('listeners', 'stop', 'tcp:default'), { code: 0, out: 'Stop tcp:default listener successfully.\n' });
    await within(c.closed, 5000, 'the client of the stopped listener to be closed');
    await assert.rejects(open(port, { protocolVersion: 5 }), 'connect to a stopped listener');
    const table = (await ctl('listeners')).out;
    assert.match(table, /tcp:default\n {2}listen_on\s+: 127\.0\.0\.1:\d+\n {2}acceptors\s+: \d+\n {2}proxy_protocol\s+: false\n {2}enbale\s+: true\n {2}running\s+: false\n/);
    const again = await ctl('listeners', 'stop', 'tcp:default');
    assert.equal(again.out, 'Failed to stop tcp:default listener: not_running\n');
    assert.equal(again.code, 1);

    assert.deepEqual(await ctl('listeners', 'start', 'tcp:default'), { code: 0, out: 'Started tcp:default listener successfully.\n' });
    const d = await open(port, { protocolVersion: 5 });
    const twice = await ctl('listeners', 'start', 'tcp:default');
    assert.equal(twice.out, 'Failed to start tcp:default listener: already_started\n');
    assert.equal(twice.code, 1);

    assert.deepEqual(await ctl('listeners', 'restart', 'tcp:default'), { code: 0, out: 'Restarted tcp:default listener successfully.\n' });
    await within(d.closed, 5000, 'the client of the restarted listener to be closed');
    const e = await open(port, { protocolVersion: 5 });
    await e.end();
    assert.match((await ctl('listeners')).out, /tcp:default\n(?: {2}.*\n)*? {2}running\s+: true\n/);
  });

  test('an unknown listener', async () => {
    const r = await ctl('listeners', 'stop', 'tcp:nope');
    assert.equal(r.out, 'Failed to stop tcp:nope listener: not_found\n');
    assert.equal(r.code, 1);
  });
});
