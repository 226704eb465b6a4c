// Users, bans and flapping across a two-node cluster, with real clients: a user added on one
// node connects on the other (password and SCRAM users), a ban made on one node refuses the client on both (0x8A, 3.1.1:
// 5) until it is lifted or ends, and a client found flapping on one node is refused by both.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { allocDistBase, createTestNode, type TestNode } from '../helpers/launcher.js';
import { poll, RawClient, uniq } from '../helpers/mqtt-client.js';
import { http, login as apiLogin } from '../api/http.js';
import { connackCode, PBKDF2_CHAIN, scramLogin } from './helpers.js';

let n1: TestNode;
let n2: TestNode;

const FLAPPING = 'flapping_detect { enable = true, max_count = 4, window_time = 1m, ban_time = 3s }';
/** Password users first, SCRAM users (MQTT 5 enhanced authentication) beside them. */
const CHAIN = PBKDF2_CHAIN.replace(/\}\n\]$/, '},\n  { mechanism = scram, backend = built_in_database }\n]');

before(async () => {
  const names = ['authc1@127.0.0.1', 'authc2@127.0.0.1'];
  const base = await allocDistBase(names);
  n1 = await createTestNode(undefined, { name: names[0]!, distBasePort: base, mqtt: true, dashboard: true, conf: `${CHAIN}\n${FLAPPING}` });
  n2 = await createTestNode(undefined, { name: names[1]!, distBasePort: base, mqtt: true, conf: `${CHAIN}\n${FLAPPING}` });
  await Promise.all([n1.startOk(), n2.startOk()]);
  const j = await n2.ctl(['cluster', 'join', names[0]!]);
  assert.equal(j.code, 0, j.stdout + j.stderr);
});

after(async () => {
  RawClient.destroyAll();
  await Promise.all([n1?.cleanup(), n2?.cleanup()]);
});

const login = (port: number, level: 4 | 5, user: string, pass: string, clientId = `c-${uniq()}`): ReturnType<typeof connackCode> =>
  connackCode(port, level, clientId, { username: user, password: Buffer.from(pass) });

test('a user added on one node connects on the other; deleted there, it is refused here', async () => {
  assert.equal((await n1.ctl(['users', 'add', 'dora', 'dora-pw'])).code, 0);
  const r = await login(n2.mqttPort!, 5, 'dora', 'dora-pw');
  assert.equal(r.rc, 0);
  r.raw.destroy();
  assert.equal((await n2.ctl(['users', 'list'])).stdout, 'dora\n');
  assert.equal((await n2.ctl(['users', 'del', 'dora'])).code, 0);
  assert.equal((await login(n1.mqttPort!, 5, 'dora', 'dora-pw')).rc, 0x86);
});

test('a SCRAM user added through one node\'s API logs in on the other; its password changed there, the old one is refused', async () => {
  const token = await apiLogin(n1.dashboardPort!);
  const users = `/api/v5/authentication/${encodeURIComponent('scram:built_in_database')}/users`;
  assert.equal((await http(n1.dashboardPort!, 'POST', users, { token, body: { user_id: 'sam', password: 'sam-pw' } })).status, 201);
  const ok = await poll(async () => {
    const r = await scramLogin(n2.mqttPort!, 'sam', 'sam-pw');
    r.raw.destroy();
    return r.rc === 0 && r.verified ? r : undefined;
  }, 10_000, 'sam to log in on node 2');
  assert.equal(ok.rc, 0);
  assert.equal((await http(n1.dashboardPort!, 'PUT', `${users}/sam`, { token, body: { password: 'new-pw' } })).status, 200);
  await poll(async () => {
    const r = await scramLogin(n2.mqttPort!, 'sam', 'sam-pw');
    r.raw.destroy();
    return r.rc === 0x87 ? true : undefined;
  }, 10_000, 'the old password to be refused on node 2');
  const r = await scramLogin(n2.mqttPort!, 'sam', 'new-pw');
  assert.equal(r.rc, 0);
  r.raw.destroy();
});

test('a ban made on one node refuses the client on both, by client id, user name and address range; lifted, it connects', async () => {
  await n1.ctl(['users', 'add', 'eve', 'eve-pw']);
  const id = `banned-${uniq()}`;
  const add = await n2.ctl(['banned', 'add', 'clientid', id, '10m', 'too', 'noisy']);
  assert.equal(add.code, 0, add.stdout + add.stderr);
  for (const n of [n1, n2]) {
    assert.equal((await login(n.mqttPort!, 5, 'eve', 'eve-pw', id)).rc, 0x8a);
    assert.equal((await login(n.mqttPort!, 4, 'eve', 'eve-pw', id)).rc, 5);
  }
  const list = await n1.ctl(['banned', 'list']);
  assert.match(list.stdout, new RegExp(`^clientid:${id} by=emqx_ctl reason="too noisy" at=\\S+ until=\\S+\\n$`, 'm'));
  assert.equal((await n1.ctl(['banned', 'del', 'clientid', id])).code, 0);
  const ok = await login(n2.mqttPort!, 5, 'eve', 'eve-pw', id);
  assert.equal(ok.rc, 0);
  ok.raw.destroy();

  await n1.ctl(['banned', 'add', 'username', 'eve']);
  assert.equal((await login(n2.mqttPort!, 5, 'eve', 'eve-pw')).rc, 0x8a);
  await n1.ctl(['banned', 'del', 'username', 'eve']);

  const bad = await n1.ctl(['banned', 'add', 'peerhost', '127.0.0.0/33']);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /prefix length/);
  await n1.ctl(['banned', 'add', 'peerhost', '127.0.0.0/8', '2s']);
  assert.equal((await login(n2.mqttPort!, 5, 'eve', 'eve-pw')).rc, 0x8a);
  // The ban ends by itself.
  await poll(async () => {
    const r = await login(n2.mqttPort!, 5, 'eve', 'eve-pw');
    r.raw.destroy();
    return r.rc === 0 ? true : undefined;
  }, 10_000, 'the 2 s ban on 127.0.0.0/8 to end');
});

test('a client reconnecting too often is banned for ban_time on both nodes, then connects again', async () => {
  await n1.ctl(['users', 'add', 'flap', 'flap-pw']);
  const id = `flapper-${uniq()}`;
  // max_count = 4: the fourth connect within the window is let in and bans the client id.
  for (let i = 0; i < 4; i++) {
    const r = await login(n1.mqttPort!, 5, 'flap', 'flap-pw', id);
    assert.equal(r.rc, 0, `connect ${i + 1}`);
    r.raw.destroy();
    await r.raw.waitClosed(5000).catch(() => undefined);
  }
  await poll(async () => ((await login(n2.mqttPort!, 5, 'flap', 'flap-pw', id)).rc === 0x8a ? true : undefined), 5000, 'the flapping ban to reach the other node');
  assert.equal((await login(n1.mqttPort!, 5, 'flap', 'flap-pw', id)).rc, 0x8a);
  assert.match((await n2.ctl(['banned', 'list'])).stdout, new RegExp(`clientid:${id} by=flapping detector`));
  // Hammering a banned client id costs the node little and never gets in.
  const t0 = performance.now();
  for (let i = 0; i < 50; i++) assert.equal((await login(n1.mqttPort!, 5, 'flap', 'wrong', id)).rc, 0x8a);
  const perAttempt = (performance.now() - t0) / 50;
  assert.ok(perAttempt < 50, `a refused attempt took ${perAttempt.toFixed(1)} ms`);
  await poll(async () => {
    const r = await login(n2.mqttPort!, 5, 'flap', 'flap-pw', id);
    r.raw.destroy();
    return r.rc === 0 ? true : undefined;
  }, 10_000, 'the 3 s flapping ban to end');
});
