// Topic rewrite and auto subscribe on a real daemon with real clients (mqtt.js v5 and v3.1.1):
// rules and topics from emqx.conf, applied to PUBLISH, SUBSCRIBE, UNSUBSCRIBE and at connect,
// shown by the API, and changed by a reload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { allocDistBase, createTestNode, type TestNode } from '../helpers/launcher.js';
import { http, login, waitFor } from '../api/http.js';

const CONF = `
rewrite = [
  { action = publish, source_topic = "old/#", re = "^old/(.+)$", dest_topic = "new/$1" }
  { action = subscribe, source_topic = "legacy/#", re = "^legacy/(.+)$", dest_topic = "modern/$1" }
]
auto_subscribe {
  topics = [
    { topic = "cmd/\${clientid}", qos = 1 }
    { topic = "user/\${username}/#", qos = 0 }
  ]
}
`;

async function client(t: { after(fn: () => Promise<void> | void): void }, node: TestNode, opts: IClientOptions = {}): Promise<MqttClient> {
  const c = await connectAsync(`mqtt://127.0.0.1:${node.mqttPort}`, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  t.after(() => c.endAsync(true).catch(() => undefined));
  return c;
}

/** A client whose messages are recorded from the start: retained ones may come with the CONNACK. */
async function recorded(t: { after(fn: () => Promise<void> | void): void }, node: TestNode, opts: IClientOptions): Promise<{ c: MqttClient; got: Array<[string, string]> }> {
  const c = connect(`mqtt://127.0.0.1:${node.mqttPort}`, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  t.after(() => c.endAsync(true).catch(() => undefined));
  const got = record(c);
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return { c, got };
}

function record(c: MqttClient): Array<[string, string]> {
  const got: Array<[string, string]> = [];
  c.on('message', (topic, payload) => got.push([topic, payload.toString()]));
  return got;
}

test('rewrite rules and auto subscribe from emqx.conf, with real clients; the API shows them; a reload changes them', async (t) => {
  const base = await allocDistBase(['ext1@127.0.0.1']);
  const n = await createTestNode(t, { name: 'ext1@127.0.0.1', distBasePort: base, conf: CONF, mqtt: true, dashboard: true });
  await n.startOk();

  // Auto subscribe: a retained command waiting for dev1 reaches it without a SUBSCRIBE, v5 and v3.1.1.
  const setter = await client(t, n, { clientId: 'setter' });
  await setter.publishAsync('cmd/dev1', 'reboot', { qos: 1, retain: true });
  await setter.publishAsync('cmd/dev3', 'update', { qos: 1, retain: true });
  const { got: got1 } = await recorded(t, n, { clientId: 'dev1', username: 'alice' });
  await waitFor('the retained command on dev1', () => got1.length > 0, 5000);
  assert.deepEqual(got1, [['cmd/dev1', 'reboot']]);
  const { got: got3 } = await recorded(t, n, { clientId: 'dev3', protocolVersion: 4 });
  await waitFor('the retained command on dev3 (v3.1.1)', () => got3.length > 0, 5000);
  assert.deepEqual(got3, [['cmd/dev3', 'update']]);
  // ${username}: alice has user/alice/#; dev3 (no username) has no such subscription.
  await setter.publishAsync('user/alice/mail', 'hi', { qos: 1 });
  await waitFor('user/alice/mail on dev1', () => got1.length > 1, 5000);
  assert.deepEqual(got1[1], ['user/alice/mail', 'hi']);
  const subs = await n.ctl(['subscriptions', 'show', 'dev3']);
  assert.match(subs.stdout, /cmd\/dev3/);
  assert.doesNotMatch(subs.stdout, /user\//);

  // Publish rule: old/... goes to new/...; nothing reaches old/#.
  const watcher = await client(t, n, { clientId: 'watcher' });
  await watcher.subscribeAsync({ 'new/#': { qos: 1 }, 'old/#': { qos: 1 }, 'modern/#': { qos: 1 } });
  const seen = record(watcher);
  await setter.publishAsync('old/temp', '21', { qos: 1 });
  await waitFor('new/temp', () => seen.length > 0, 5000);
  assert.deepEqual(seen, [['new/temp', '21']]);

  // Subscribe rule: legacy/x means modern/x, for SUBSCRIBE and UNSUBSCRIBE alike.
  const legacy = await client(t, n, { clientId: 'legacy' });
  await legacy.subscribeAsync('legacy/x', { qos: 1 });
  const gotL = record(legacy);
  await setter.publishAsync('modern/x', 'now', { qos: 1 });
  await waitFor('modern/x on the legacy client', () => gotL.length > 0, 5000);
  assert.deepEqual(gotL, [['modern/x', 'now']]);
  const unsub = await legacy.unsubscribeAsync('legacy/x');
  assert.deepEqual((unsub as { reasonCode?: number } | undefined)?.reasonCode ?? 0, 0, 'the rewritten filter was found');
  assert.doesNotMatch((await n.ctl(['subscriptions', 'show', 'legacy'])).stdout, /modern|legacy\/x/);

  const port = n.dashboardPort!;
  const token = await login(port);
  assert.deepEqual((await http(port, 'GET', '/api/v5/mqtt/topic_rewrite', { token })).json, [
    { action: 'publish', source_topic: 'old/#', dest_topic: 'new/$1', re: '^old/(.+)$' },
    { action: 'subscribe', source_topic: 'legacy/#', dest_topic: 'modern/$1', re: '^legacy/(.+)$' },
  ]);
  assert.deepEqual((await http(port, 'GET', '/api/v5/mqtt/auto_subscribe', { token })).json, [
    { topic: 'cmd/${clientid}', qos: 1, rh: 0, rap: 0, nl: 0 },
    { topic: 'user/${username}/#', qos: 0, rh: 0, rap: 0, nl: 0 },
  ]);
  assert.equal((await http(port, 'PUT', '/api/v5/mqtt/topic_rewrite', { token, body: [] })).status, 400);

  // A bad rule is refused whole at reload, naming it; the rules in force stay.
  n.writeConf(`${CONF}\nrewrite = [{ action = publish, source_topic = "old/#", re = "^old/(", dest_topic = "x" }]\n`);
  const refused = await n.ctl(['conf', 'reload']);
  assert.match(refused.stdout + refused.stderr, /rewrite.*\[1\] re: '\^old\/\(' is not a regular expression/);
  // Then the rules are dropped: old/... is published as it is.
  n.writeConf(CONF.replace(/rewrite = \[[\s\S]*?\n\]\n/, ''));
  const applied = await n.ctl(['conf', 'reload']);
  assert.equal(applied.code, 0, applied.stdout + applied.stderr);
  await setter.publishAsync('old/temp', '22', { qos: 1 });
  await waitFor('old/temp as it is', () => seen.some(([topic]) => topic === 'old/temp'), 5000);
  assert.deepEqual(seen.filter(([topic]) => topic !== 'modern/x'), [['new/temp', '21'], ['old/temp', '22']]);
  assert.deepEqual((await http(port, 'GET', '/api/v5/mqtt/topic_rewrite', { token })).json, []);
});
