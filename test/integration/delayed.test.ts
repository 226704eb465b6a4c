// Delayed publish on real daemons with real clients (mqtt.js v5, mosquitto_pub v3.1.1): a PUBLISH
// to `$delayed/<seconds>/<topic>` reaches <topic>'s subscribers when its time comes, not before;
// the REST API lists, shows and deletes; the limit and bad topics are refused in the PUBACK; the
// messages survive a restart; and a survivor publishes those of a node force-left while down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { allocDistBase, createTestNode, type TestNode } from '../helpers/launcher.js';
import { skipOrFail } from '../helpers/prerequisite.js';
import { http, login, waitFor } from '../api/http.js';

const run = promisify(execFile);

async function client(t: { after(fn: () => Promise<void> | void): void }, node: TestNode, opts: IClientOptions = {}): Promise<MqttClient> {
  const c = await connectAsync(`mqtt://127.0.0.1:${node.mqttPort}`, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  t.after(() => c.endAsync(true).catch(() => undefined));
  return c;
}

/** Every message `c` receives, with when it came (ms since epoch). */
function record(c: MqttClient): Array<{ topic: string; payload: string; at: number }> {
  const got: Array<{ topic: string; payload: string; at: number }> = [];
  c.on('message', (topic, payload) => got.push({ topic, payload: payload.toString(), at: Date.now() }));
  return got;
}

/** The v5 reason code a QoS 1 publish was refused with (undefined: accepted). */
async function refusal(c: MqttClient, topic: string): Promise<number | undefined> {
  try {
    await c.publishAsync(topic, 'x', { qos: 1 });
    return undefined;
  } catch (err) {
    return (err as { code?: number }).code;
  }
}

/**
 * Two joined nodes, a subscriber to `filter` on the second (its messages recorded), the route
 * known on the first, and a publisher on the first.
 */
async function pairWithSubscriber(t: { after(fn: () => Promise<void> | void): void }, names: readonly [string, string], filter: string) {
  const base = await allocDistBase(names);
  const [n1, n2] = (await Promise.all(names.map((name) => createTestNode(t, { name, distBasePort: base, conf: 'node.dist_net_ticktime = 2s\n', mqtt: true })))) as [TestNode, TestNode];
  await Promise.all([n1.startOk(), n2.startOk()]);
  assert.equal((await n2.ctl(['cluster', 'join', names[0]])).code, 0);
  const sub = await client(t, n2, { clientId: `sub-${names[1]}` });
  await sub.subscribeAsync(filter, { qos: 1 });
  const got = record(sub);
  await waitFor(`the route on ${names[0]}`, async () => (await n1.ctl(['topics', 'list'])).stdout.includes(filter), 10_000);
  const pub = await client(t, n1, { clientId: `pub-${names[0]}` });
  return { n1, n2, got, pub };
}

test('$delayed/<seconds>/<topic> goes out on time, over the API it is listed, shown and deleted, the limit and bad topics are refused', async (t) => {
  const base = await allocDistBase(['dl1@127.0.0.1']);
  const n = await createTestNode(t, { name: 'dl1@127.0.0.1', distBasePort: base, conf: 'delayed { max_delayed_messages = 4 }\n', mqtt: true, dashboard: true });
  await n.startOk();
  const sub = await client(t, n, { clientId: 'sub' });
  await sub.subscribeAsync({ 't/#': { qos: 1 }, '$delayed/#': { qos: 1 } });
  const got = record(sub);
  const pub = await client(t, n, { clientId: 'pub', username: 'alice' });

  const sent = Date.now();
  assert.equal(await refusal(pub, '$delayed/1/t/a'), undefined);
  await waitFor('t/a delivered', () => got.length > 0, 5000);
  assert.deepEqual(got.map((m) => m.topic), ['t/a'], 'delivered to the topic after the delay, never to $delayed/...');
  assert.ok(got[0]!.at - sent >= 950, `delivered after ${got[0]!.at - sent} ms, asked for 1 s`);

  // A v3.1.1 publisher (mosquitto_pub) too.
  if (!(await run('sh', ['-c', 'command -v mosquitto_pub']).then(() => true, () => false))) return skipOrFail(t, 'mosquitto_pub (Debian mosquitto-clients)');
  const before = got.length;
  const v3sent = Date.now();
  await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(n.mqttPort), '-V', 'mqttv311', '-q', '1', '-t', '$delayed/1/t/v3', '-m', 'from v3'], { timeout: 10_000 });
  await waitFor('t/v3 delivered', () => got.length > before, 5000);
  assert.deepEqual(got.slice(before).map((m) => [m.topic, m.payload]), [['t/v3', 'from v3']]);
  assert.ok(got[before]!.at - v3sent >= 900);

  // Bad delays and topics: the v5 publisher is told why (EMQX drops them silently).
  assert.equal(await refusal(pub, '$delayed/soon/t/x'), 0x90);
  assert.equal(await refusal(pub, '$delayed/10'), 0x90);

  // Four kept (the limit), the fifth refused with Quota exceeded.
  for (const [i, topic] of ['t/later', 't/later', 't/other', 't/other'].entries()) {
    await pub.publishAsync(`$delayed/3600/${topic}`, `payload ${i}`, { qos: 1 });
  }
  assert.equal(await refusal(pub, '$delayed/3600/t/more'), 0x97);

  const port = n.dashboardPort!;
  const token = await login(port);
  const settings = await http(port, 'GET', '/api/v5/mqtt/delayed', { token });
  assert.deepEqual(settings.json, { enable: true, max_delayed_messages: 4 });
  const list = await http(port, 'GET', '/api/v5/mqtt/delayed/messages?limit=3', { token });
  assert.equal(list.status, 200);
  const body = list.json as { data: Array<Record<string, unknown>>; meta: Record<string, unknown> };
  assert.deepEqual(body.meta, { page: 1, limit: 3, count: 4, hasnext: true });
  const first = body.data[0]!;
  assert.equal(first.topic, 't/later');
  assert.equal(first.node, 'dl1@127.0.0.1');
  assert.equal(first.delayed_interval, 3600);
  assert.ok((first.delayed_remaining as number) > 3500);
  assert.equal(first.from_clientid, 'pub');
  assert.equal(first.from_username, 'alice');
  assert.equal(first.qos, 1);
  assert.match(first.msgid as string, /^[0-9A-F]{32}$/);
  assert.equal(first.payload, undefined, 'the list has no payloads');
  const one = await http(port, 'GET', `/api/v5/mqtt/delayed/messages/dl1@127.0.0.1/${String(first.msgid)}`, { token });
  assert.equal(one.status, 200);
  assert.equal((one.json as { payload: string }).payload, Buffer.from('payload 0').toString('base64'));
  assert.equal((await http(port, 'GET', `/api/v5/mqtt/delayed/messages/dl1@127.0.0.1/nothex`, { token })).status, 400);
  const badNode = await http(port, 'GET', `/api/v5/mqtt/delayed/messages/nobody@h/${String(first.msgid)}`, { token });
  assert.deepEqual([badNode.status, (badNode.json as { code: string }).code], [400, 'INVALID_NODE']);
  const stats = (await http(port, 'GET', '/api/v5/stats?aggregate=true', { token })).json as Record<string, number>;
  assert.equal(stats['delayed.count'], 4);
  const metrics = (await http(port, 'GET', '/api/v5/metrics?aggregate=true', { token })).json as Record<string, number>;
  assert.equal(metrics['messages.delayed'], 6);

  assert.equal((await http(port, 'DELETE', `/api/v5/mqtt/delayed/messages/dl1@127.0.0.1/${String(first.msgid)}`, { token })).status, 204);
  assert.equal((await http(port, 'DELETE', `/api/v5/mqtt/delayed/messages/dl1@127.0.0.1/${String(first.msgid)}`, { token })).status, 404);
  assert.equal((await http(port, 'DELETE', `/api/v5/mqtt/delayed/messages/${encodeURIComponent('t/other')}`, { token })).status, 204);
  const gone = await http(port, 'DELETE', `/api/v5/mqtt/delayed/messages/${encodeURIComponent('t/other')}`, { token });
  assert.deepEqual([gone.status, (gone.json as { code: string }).code], [404, 'MESSAGE_NOT_FOUND']);
  assert.equal((await http(port, 'DELETE', `/api/v5/mqtt/delayed/messages/${encodeURIComponent('t/+')}`, { token })).status, 400);
  const left = (await http(port, 'GET', '/api/v5/mqtt/delayed/messages', { token })).json as { data: Array<{ topic: string }> };
  assert.deepEqual(left.data.map((m) => m.topic), ['t/later']);
  // Room again under the limit.
  assert.equal(await refusal(pub, '$delayed/3600/t/more'), undefined);
});

test('delayed messages survive a restart of their node and go out on time after it', async (t) => {
  const base = await allocDistBase(['dr1@127.0.0.1']);
  const n = await createTestNode(t, { name: 'dr1@127.0.0.1', distBasePort: base, mqtt: true });
  await n.startOk();
  const pub = await client(t, n, { clientId: 'pub' });
  const sent = Date.now();
  await pub.publishAsync('$delayed/6/after/restart', 'kept', { qos: 1 });
  await pub.endAsync(true);
  assert.equal((await n.stop()).code, 0);
  await n.startOk();
  const sub = await client(t, n, { clientId: 'sub' });
  await sub.subscribeAsync('after/#', { qos: 1 });
  const got = record(sub);
  await waitFor('the delayed message after the restart', () => got.length > 0, 10_000);
  assert.deepEqual(got.map((m) => [m.topic, m.payload]), [['after/restart', 'kept']]);
  assert.ok(got[0]!.at - sent >= 5900, `out after ${got[0]!.at - sent} ms, asked for 6 s`);
});

test('across the cluster: taken on one node, delivered on another; a node force-left while down has its messages published by a survivor', async (t) => {
  const names = ['dc1@127.0.83.11', 'dc2@127.0.83.12'] as const;
  const { n1, n2, got, pub } = await pairWithSubscriber(t, names, 'c/#');
  await pub.publishAsync('$delayed/1/c/x', 'across', { qos: 1 });
  await waitFor('c/x on dc2', () => got.length > 0, 5000);
  assert.deepEqual(got.map((m) => [m.topic, m.payload]), [['c/x', 'across']]);

  // Acknowledged: durable on both members. Then dc1 dies before it is due and is force-left.
  await pub.publishAsync('$delayed/4/c/orphan', 'rescued', { qos: 1 });
  n1.kill('SIGKILL');
  await n1.waitExit();
  assert.equal((await n2.ctl(['cluster', 'force-leave', names[0]!])).code, 0);
  await waitFor('c/orphan published by dc2', () => got.length > 1, 10_000);
  assert.deepEqual(got.map((m) => m.topic), ['c/x', 'c/orphan']);
  assert.equal(got[1]!.payload, 'rescued');
});

test('a node that is only down keeps its delayed messages: nobody else publishes them; back up, it does, to subscribers on the others', async (t) => {
  const names = ['dk1@127.0.84.11', 'dk2@127.0.84.12'] as const;
  const { n1, got, pub } = await pairWithSubscriber(t, names, 'k/#');
  const sent = Date.now();
  await pub.publishAsync('$delayed/2/k/late', 'kept by dk1', { qos: 1 });
  n1.kill('SIGKILL');
  await n1.waitExit();
  // Due while dk1 is down: dk2 holds the row but must not publish it (a split looks the same).
  // Nothing happens to wait for: the row is due at 2 s, so 1.5 s past it is the check.
  await new Promise((r) => setTimeout(r, 3500));
  assert.equal(got.length, 0, 'published by a member that does not own it');
  await n1.startOk();
  await waitFor('k/late from dk1 after its restart', () => got.length > 0, 15_000);
  assert.deepEqual(got.map((m) => [m.topic, m.payload]), [['k/late', 'kept by dk1']]);
  assert.ok(got[0]!.at - sent >= 3500);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(got.length, 1, 'published once');
});

test('a node that joins a cluster keeps the delayed messages it took alone: the join replaces its tables, not its promises', async (t) => {
  const names = ['dj1@127.0.85.11', 'dj2@127.0.85.12'];
  const base = await allocDistBase(names);
  const [n1, n2] = (await Promise.all(names.map((name) => createTestNode(t, { name, distBasePort: base, mqtt: true })))) as [TestNode, TestNode];
  await Promise.all([n1.startOk(), n2.startOk()]);
  const sub = await client(t, n1, { clientId: 'sub-j1' });
  await sub.subscribeAsync('j/#', { qos: 1 });
  const got = record(sub);
  // Taken by dj2 while it is alone.
  const pub = await client(t, n2, { clientId: 'pub-j2' });
  await pub.publishAsync('$delayed/5/j/kept', 'across the join', { qos: 1 });
  assert.equal((await n2.ctl(['cluster', 'join', names[0]!])).code, 0);
  await waitFor('j/kept on dj1, published by dj2 after the join', () => got.length > 0, 15_000);
  assert.deepEqual(got.map((m) => [m.topic, m.payload]), [['j/kept', 'across the join']]);
});
