// The API for users, bans and built_in_database rules against a running node, checked with real
// MQTT clients: a user created over HTTP connects, one imported as EMQX's JSON list connects, a
// ban posted over HTTP refuses the client, rules posted for a user decide its SUBSCRIBE.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestNode, type TestNode } from '../helpers/launcher.js';
import { poll, RawClient, uniq } from '../helpers/mqtt-client.js';
import { http, login } from '../api/http.js';
import { connackCode, PBKDF2_CHAIN, rawSession, subackCodes } from './helpers.js';

let node: TestNode;
let token: string;
const ID = encodeURIComponent('password_based:built_in_database');

before(async () => {
  node = await createTestNode(undefined, {
    name: 'authapi@127.0.0.1',
    mqtt: true,
    dashboard: true,
    conf: `${PBKDF2_CHAIN}\nauthorization { no_match = deny, sources = [{ type = built_in_database }] }`,
  });
  await node.startOk();
  token = await login(node.dashboardPort!);
});

after(async () => {
  RawClient.destroyAll();
  await node?.cleanup();
});

const api = (method: string, path: string, body?: unknown): ReturnType<typeof http> => http(node.dashboardPort!, method, `/api/v5${path}`, { token, ...(body !== undefined ? { body } : {}) });

test('users: create, read, list, change, delete; errors as EMQX', async () => {
  const c = await api('POST', `/authentication/${ID}/users`, { user_id: 'web', password: 'web-pw', is_superuser: false });
  assert.equal(c.status, 201, c.text);
  assert.deepEqual(c.json, { user_id: 'web', is_superuser: false });
  assert.equal((await api('POST', `/authentication/${ID}/users`, { user_id: 'web', password: 'x' })).status, 409);
  const ok = await connackCode(node.mqttPort!, 5, `w-${uniq()}`, { username: 'web', password: Buffer.from('web-pw') });
  assert.equal(ok.rc, 0);
  ok.raw.destroy();
  const list = await api('GET', `/authentication/${ID}/users?like_user_id=we`);
  assert.deepEqual((list.json as { data: unknown[] }).data, [{ user_id: 'web', is_superuser: false }]);
  assert.equal((await api('PUT', `/authentication/${ID}/users/web`, { password: 'new-pw', is_superuser: true })).status, 200);
  assert.deepEqual((await api('GET', `/authentication/${ID}/users/web`)).json, { user_id: 'web', is_superuser: true });
  assert.equal((await connackCode(node.mqttPort!, 5, `w-${uniq()}`, { username: 'web', password: Buffer.from('web-pw') })).rc, 0x86);
  assert.equal((await api('DELETE', `/authentication/${ID}/users/web`)).status, 204);
  const gone = await api('GET', `/authentication/${ID}/users/web`);
  assert.equal(gone.status, 404);
  assert.deepEqual(gone.json, { code: 'NOT_FOUND', message: 'User not found' });
  assert.equal((await api('GET', `/authentication/${encodeURIComponent('jwt')}/users`)).status, 404);
  assert.equal((await http(node.dashboardPort!, 'GET', `/api/v5/authentication/${ID}/users`)).status, 401);
});

test("import of EMQX's JSON list (plain) and the users connect", async () => {
  const r = await api('POST', `/authentication/${ID}/import_users?type=plain`, [
    { user_id: 'imp1', password: 'p1', is_superuser: false },
    { user_id: 'imp2', password: 'p2', is_superuser: true },
  ]);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { total: 2, success: 2, override: 0, skipped: 0, failed: 0 });
  const c = await connackCode(node.mqttPort!, 4, `i-${uniq()}`, { username: 'imp2', password: Buffer.from('p2') });
  assert.equal(c.rc, 0);
  c.raw.destroy();
  const bad = await api('POST', `/authentication/${ID}/import_users?type=hash`, [{ user_id: 'x', password: 'p' }]);
  assert.equal(bad.status, 400);
  assert.match((bad.json as { message: string }).message, /password_hash/);
});

test('banned: a ban posted over HTTP refuses the client; deleted, it connects', async () => {
  await api('POST', `/authentication/${ID}/users`, { user_id: 'ban-me', password: 'pw' });
  const id = `b-${uniq()}`;
  const b = await api('POST', '/banned', { as: 'clientid', who: id, reason: 'test' });
  assert.equal(b.status, 200, b.text);
  assert.equal((b.json as { as: string }).as, 'clientid');
  assert.equal((await connackCode(node.mqttPort!, 5, id, { username: 'ban-me', password: Buffer.from('pw') })).rc, 0x8a);
  const list = await api('GET', '/banned');
  assert.ok((list.json as { data: Array<{ who: string }> }).data.some((x) => x.who === id));
  assert.equal((await api('POST', '/banned', { as: 'peerhost', who: 'not-an-ip' })).status, 400);
  assert.equal((await api('DELETE', `/banned/clientid/${id}`)).status, 204);
  assert.equal((await api('DELETE', `/banned/clientid/${id}`)).status, 404);
  const ok = await connackCode(node.mqttPort!, 5, id, { username: 'ban-me', password: Buffer.from('pw') });
  assert.equal(ok.rc, 0);
  ok.raw.destroy();
});

test('built_in_database rules: per user and for all decide SUBSCRIBE; changed over HTTP, applied at once', async () => {
  await api('POST', `/authentication/${ID}/users`, { user_id: 'ruled', password: 'pw' });
  const r = await api('POST', '/authorization/sources/built_in_database/rules/users', [{ username: 'ruled', rules: [{ topic: 'mine/${username}/#', permission: 'allow', action: 'all' }, { topic: 'no/#', permission: 'deny', action: 'subscribe' }] }]);
  assert.equal(r.status, 204, r.text);
  assert.equal((await api('POST', '/authorization/sources/built_in_database/rules/all', { rules: [{ topic: 'no/#', permission: 'allow', action: 'subscribe' }, { topic: 'pub/#', permission: 'allow', action: 'subscribe', qos: [0] }] })).status, 204);
  const c = await rawSession(node.mqttPort!, 5, `r-${uniq()}`, { username: 'ruled', password: Buffer.from('pw') });
  // The user's own rules come before the rules for all; qos narrows a rule.
  assert.deepEqual(await subackCodes(c, ['mine/ruled/x', 'mine/other/x', 'no/1', 'pub/a'], 1), [1, 0x87, 0x87, 0x87]);
  assert.deepEqual(await subackCodes(c, ['pub/a'], 0), [0]);
  assert.equal((await api('PUT', '/authorization/sources/built_in_database/rules/users/ruled', { rules: [] })).status, 204);
  await poll(async () => ((await subackCodes(c, ['no/2']))[0] === 1 ? true : undefined), 5000, 'the user rules removed to let the rules for all decide');
  const badRule = await api('POST', '/authorization/sources/built_in_database/rules/clients', [{ clientid: 'c1', rules: [{ topic: '${bogus}/x', permission: 'allow', action: 'all' }] }]);
  assert.equal(badRule.status, 400);
  assert.match((badRule.json as { message: string }).message, /unknown placeholder/);
});
