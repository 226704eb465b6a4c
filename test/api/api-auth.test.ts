// Authentication and bad input against a real daemon over HTTP: tokens (forged, expired, logged
// out, after a password change), API keys (Basic, disabled, kept off /api_key, from the bootstrap
// file), the failed-attempt limit, and malformed requests, each a clear 4xx with EMQX's body.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestNode, freePort } from '../helpers/launcher.js';
import { http, login, waitFor } from './http.js';

test('auth and bad input on one node', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'emqx-api-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bootstrap = join(dir, 'keys.txt');
  writeFileSync(bootstrap, '\nboot-key:boot-secret-1\n');
  // The listener's address is in the file (not the environment, which would win), so a reload can move it.
  const p = await freePort();
  // The username lock (dashboard.unsuccessful_login_*) has a test of its own below: off the way here.
  const conf = `dashboard.token_expired_time = 3s\ndashboard.unsuccessful_login_max_attempts = 1000\napi_key.bootstrap_file = "${bootstrap}"\ndashboard.listeners.http.bind = "127.0.0.1:${p}"\n`;
  const n = await createTestNode(t, { name: 'emqx1@127.0.0.1', dashboard: true, env: { EMQX_DASHBOARD__LISTENERS__HTTP__BIND: undefined }, conf });
  await n.startOk();

  // No credentials, another scheme, a cookie: EMQX's 401.
  for (const headers of [{}, { authorization: 'Digest x' }, { cookie: 'token=abc' }] as Array<Record<string, string>>) {
    const r = await http(p, 'GET', '/api/v5/nodes', { headers });
    assert.equal(r.status, 401);
    assert.deepEqual(r.json, { code: 'AUTHORIZATION_HEADER_ERROR', message: 'Support authorization: basic/bearer ' });
    assert.equal(r.headers.get('www-authenticate'), 'Basic Realm="emqx-dashboard"');
  }
  // Wrong password.
  const bad = await http(p, 'POST', '/api/v5/login', { body: { username: 'admin', password: 'nope' } });
  assert.deepEqual([bad.status, bad.json], [401, { code: 'BAD_USERNAME_OR_PWD', message: 'Auth failed' }]);

  const token = await login(p);
  assert.equal((await http(p, 'GET', '/api/v5/nodes', { token })).status, 200);
  // Forged: a valid-looking payload with another signature, or garbage.
  const [payload] = token.split('.');
  for (const forged of [`${payload}.${Buffer.alloc(32).toString('base64url')}`, 'abc', `${Buffer.from('{"u":"admin","jti":"x","iat":0,"exp":9999999999999,"f":"x"}').toString('base64url')}.x`]) {
    const r = await http(p, 'GET', '/api/v5/nodes', { token: forged });
    assert.deepEqual([r.status, r.json], [401, { code: 'BAD_TOKEN', message: 'Get a token by POST /login' }]);
  }
  // Expired (token_expired_time = 3s).
  await new Promise((r) => setTimeout(r, 3200));
  const expired = await http(p, 'GET', '/api/v5/nodes', { token });
  assert.deepEqual([expired.status, expired.json], [401, { code: 'TOKEN_TIME_OUT', message: 'Token expired, get new token by POST /login' }]);

  // Logout ends the token; a wrong username is refused.
  const t2 = await login(p);
  const wrongUser = await http(p, 'POST', '/api/v5/logout', { token: t2, body: { username: 'someone' } });
  assert.deepEqual([wrongUser.status, wrongUser.json], [401, { code: 'WRONG_TOKEN_OR_USERNAME', message: 'Ensure your token & username' }]);
  assert.equal((await http(p, 'POST', '/api/v5/logout', { token: t2, body: { username: 'admin' } })).status, 204);
  assert.equal((await http(p, 'GET', '/api/v5/nodes', { token: t2 })).status, 401);

  // A changed password ends the tokens issued before, and silences the default-password note.
  const t3 = await login(p);
  const passwd = await n.ctl(['admins', 'passwd', 'admin', 'n3w-passw0rd']);
  assert.equal(passwd.code, 0, passwd.stdout);
  assert.equal((await http(p, 'GET', '/api/v5/nodes', { token: t3 })).status, 401);
  const fresh = await http(p, 'POST', '/api/v5/login', { body: { username: 'admin', password: 'n3w-passw0rd' } });
  assert.equal(fresh.status, 200);
  assert.equal((fresh.json as { warning?: string }).warning, undefined);
  const token4 = (fresh.json as { token: string }).token;

  // API keys: created with a token, used as Basic key:secret, never allowed on /api_key.
  const created = await http(p, 'POST', '/api/v5/api_key', { token: token4, body: { name: 'ci-key', desc: 'for CI', enable: true } });
  assert.equal(created.status, 200, created.text);
  const key = created.json as { api_key: string; api_secret: string; expired_at: string; enable: boolean };
  assert.equal(key.expired_at, 'infinity');
  const basic = `${key.api_key}:${key.api_secret}`;
  assert.equal((await http(p, 'GET', '/api/v5/nodes', { basic })).status, 200);
  assert.equal((await http(p, 'GET', '/api/v5/nodes', { basic })).status, 200);
  const onKeys = await http(p, 'GET', '/api/v5/api_key', { basic });
  assert.equal(onKeys.status, 401);
  assert.equal((onKeys.json as { code: string }).code, 'API_KEY_NOT_ALLOW');
  const listed = (await http(p, 'GET', '/api/v5/api_key', { token: token4 })).json as Array<Record<string, unknown>>;
  assert.ok(listed.every((k) => k.api_secret === undefined), 'secrets are never listed');
  assert.deepEqual(listed.map((k) => k.name).sort(), ['ci-key', 'from_bootstrap_file_boot-key']);
  const dup = await http(p, 'POST', '/api/v5/api_key', { token: token4, body: { name: 'ci-key' } });
  assert.equal(dup.status, 400);
  const wrongSecret = await http(p, 'GET', '/api/v5/nodes', { basic: `${key.api_key}:nope` });
  assert.deepEqual([wrongSecret.status, wrongSecret.json], [401, { code: 'BAD_API_KEY_OR_SECRET', message: 'Check api_key/api_secret' }]);
  assert.equal((await http(p, 'PUT', '/api/v5/api_key/ci-key', { token: token4, body: { enable: false } })).status, 200);
  assert.equal((await http(p, 'GET', '/api/v5/nodes', { basic })).status, 401);
  assert.equal((await http(p, 'DELETE', '/api/v5/api_key/ci-key', { token: token4 })).status, 204);
  assert.deepEqual((await http(p, 'DELETE', '/api/v5/api_key/ci-key', { token: token4 })).json, { code: 'NOT_FOUND', message: 'Name NOT FOUND' });
  // The key from api_key.bootstrap_file.
  assert.equal((await http(p, 'GET', '/api/v5/nodes', { basic: 'boot-key:boot-secret-1' })).status, 200);

  // Bad input: each a 4xx with EMQX's body, never a 500.
  const cases: Array<[string, string, Parameters<typeof http>[3], number, string]> = [
    ['PUT', '/api/v5/cluster/emqx2@127.0.0.1/invite', { token: token4, raw: '{"timeout": 5000', headers: { 'content-type': 'application/json' } }, 400, 'BAD_REQUEST'],
    ['PUT', '/api/v5/cluster/emqx2@127.0.0.1/invite', { token: token4, body: { timeout: 'abc' } }, 400, 'BAD_REQUEST'],
    ['PUT', '/api/v5/cluster/emqx2@127.0.0.1/invite', { token: token4, body: { timeout: true } }, 400, 'BAD_REQUEST'],
    ['PUT', '/api/v5/cluster/emqx2@127.0.0.1/invite', { token: token4, body: { timeout: 100 } }, 400, 'BAD_REQUEST'],
    ['PUT', '/api/v5/cluster/not a node/invite', { token: token4, body: {} }, 400, 'BAD_REQUEST'],
    ['PUT', '/api/v5/cluster/emqx2@127.0.0.1/invite', { token: token4, raw: 'timeout=5000', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['POST', '/api/v5/api_key', { token: token4, raw: '{"name":"x"}', headers: { 'content-type': 'text/plain' } }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['POST', '/api/v5/api_key', { token: token4, body: { name: '1bad' } }, 400, 'BAD_REQUEST'],
    ['POST', '/api/v5/api_key', { token: token4, body: { name: 'k', enable: 'yes' } }, 400, 'BAD_REQUEST'],
    ['POST', '/api/v5/api_key', { token: token4, body: { name: 'x'.repeat(2 * 1024 * 1024) } }, 413, 'BAD_REQUEST'],
    ['GET', '/api/v5/nodes/emqx9@127.0.0.9', { token: token4 }, 404, 'NOT_FOUND'],
    ['GET', '/api/v5/nodes/emqx9@127.0.0.9/metrics', { token: token4 }, 404, 'NOT_FOUND'],
    ['GET', '/api/v5/clients?limit=0', { token: token4 }, 400, 'BAD_REQUEST'],
    ['GET', '/api/v5/clients?page=abc', { token: token4 }, 400, 'BAD_REQUEST'],
    ['GET', '/api/v5/clients?node=emqx9@127.0.0.9', { token: token4 }, 400, 'BAD_REQUEST'],
    ['GET', '/api/v5/clients?gte_created_at=yesterday', { token: token4 }, 400, 'INVALID_PARAMETER'],
    ['GET', '/api/v5/subscriptions?match_topic=a/%23/b', { token: token4 }, 400, 'INVALID_PARAMETER'],
    ['GET', '/api/v5/prometheus/stats?mode=everything', {}, 400, 'BAD_REQUEST'],
    ['GET', '/api/v5/no/such/path', { token: token4 }, 404, 'NOT_FOUND'],
    // A cross-site form post carries no Authorization header: refused before anything runs.
    ['DELETE', '/api/v5/cluster/emqx2@127.0.0.1/force_leave', { headers: { cookie: 'x=y', origin: 'http://evil.example' } }, 401, 'AUTHORIZATION_HEADER_ERROR'],
  ];
  for (const [method, path, o, status, code] of cases) {
    const r = await http(p, method, path, o);
    assert.equal(r.status, status, `${method} ${path}: ${r.status} ${r.text.slice(0, 200)}`);
    assert.equal((r.json as { code: string }).code, code, `${method} ${path}: ${r.text.slice(0, 200)}`);
    assert.equal(typeof (r.json as { message: string }).message, 'string');
  }

  // Static files: only the page's own files, whatever the path says.
  assert.match((await http(p, 'GET', '/')).text, /<title>emqx-ts dashboard<\/title>/);
  assert.equal((await http(p, 'GET', '/static/app.js')).status, 200);
  for (const path of ['/static/../../../../etc/passwd', '/static/%2e%2e/%2e%2e/etc/passwd', '/static/..%2f..%2fpackage.json', '/static//etc/passwd', '/static/app.js%00.css']) {
    const r = await http(p, 'GET', path);
    assert.equal(r.status, 404, path);
    assert.doesNotMatch(r.text, /root:|"name": "emqx-ts"/, path);
  }

  // The OpenAPI document, generated from the validating schemas.
  const docs = (await http(p, 'GET', '/api-docs')).json as { openapi: string; paths: Record<string, Record<string, { requestBody?: unknown }>> };
  assert.equal(docs.openapi, '3.0.3');
  assert.ok(docs.paths['/api/v5/cluster/{node}/invite']?.put?.requestBody, 'invite documents its body');
  assert.ok(docs.paths['/api/v5/clients']?.get);

  // Failed attempts are limited per source address: the 11th within a minute gets 429.
  let last = 0;
  for (let i = 0; i < 11; i++) last = (await http(p, 'POST', '/api/v5/login', { body: { username: 'admin', password: `wrong-${i}` } })).status;
  assert.equal(last, 429);
  const limited = await http(p, 'POST', '/api/v5/login', { body: { username: 'admin', password: 'n3w-passw0rd' } });
  assert.equal(limited.status, 429);
  assert.ok(Number(limited.headers.get('retry-after')) > 0);

  // The node survived all of it.
  assert.equal((await http(p, 'GET', '/api/v5/status')).status, 200);

  // Live reload: the listener moves to a new port.
  const next = await freePort();
  n.writeConf(conf.replace(`127.0.0.1:${p}`, `127.0.0.1:${next}`));
  const reload = await n.ctl(['conf', 'reload']);
  assert.equal(reload.code, 0, reload.stdout);
  await waitFor('the new port to answer', async () => (await http(next, 'GET', '/status').catch(() => ({ status: 0 }))).status === 200);
  await assert.rejects(http(p, 'GET', '/status', { timeoutMs: 2000 }));
});

test('a node started without a dashboard listener serves the API once a reload turns one on', { timeout: 60_000 }, async (t) => {
  const p = await freePort();
  // The launcher turns the listener off in the environment, which would win over the file.
  const n = await createTestNode(t, { name: 'emqx1@127.0.0.1', env: { EMQX_DASHBOARD__LISTENERS__HTTP__ENABLE: undefined }, conf: `dashboard.listeners.http.enable = false\ndashboard.listeners.http.bind = "127.0.0.1:${p}"\n` });
  await n.startOk();
  await assert.rejects(http(p, 'GET', '/status', { timeoutMs: 2000 }));
  n.writeConf(`dashboard.listeners.http.enable = true\ndashboard.listeners.http.bind = "127.0.0.1:${p}"\n`);
  const reload = await n.ctl(['conf', 'reload']);
  assert.equal(reload.code, 0, reload.stdout);
  const login = await http(p, 'POST', '/api/v5/login', { body: { username: 'admin', password: 'public' } });
  assert.equal(login.status, 200, login.text);
  // Request validation still applies (compiled on first use).
  const bad = await http(p, 'POST', '/api/v5/login', { body: { username: 'admin' } });
  assert.equal(bad.status, 400, bad.text);
});

test("dashboard.unsuccessful_login_*: a username that fails too often is locked, even with the right password, and unlocked after the lock's duration", async (t) => {
  const p = await freePort();
  const conf = `dashboard.listeners.http.bind = "127.0.0.1:${p}"\ndashboard.unsuccessful_login_max_attempts = 3\ndashboard.unsuccessful_login_lock_duration = 2s\ndashboard.unsuccessful_login_interval = 1m\n`;
  const n = await createTestNode(t, { name: 'emqxlock@127.0.0.1', dashboard: true, env: { EMQX_DASHBOARD__LISTENERS__HTTP__BIND: undefined }, conf });
  await n.startOk();
  const attempt = (username: string, password: string) => http(p, 'POST', '/api/v5/login', { body: { username, password } });
  for (let i = 0; i < 3; i++) assert.deepEqual((await attempt('admin', `wrong-${i}`)).json, { code: 'BAD_USERNAME_OR_PWD', message: 'Auth failed' });
  const locked = await attempt('admin', 'public');
  assert.equal(locked.status, 401);
  assert.match((locked.json as { message: string }).message, /^Login locked after too many failed attempts; try again in [12] s$/);
  assert.ok(Number(locked.headers.get('retry-after')) >= 1);
  // A name that does not exist locks the same way: the answer says nothing about which names exist.
  for (let i = 0; i < 3; i++) await attempt('ghost', 'x');
  assert.match(((await attempt('ghost', 'x')).json as { message: string }).message, /^Login locked/);
  assert.match(n.logText(), /"msg":"dashboard login of admin locked: 3 failed attempts"/);
  // The lock's end is a time, not an event: wait it out once (polling would count as more failures).
  await new Promise((r) => setTimeout(r, Number(locked.headers.get('retry-after')) * 1000 + 300));
  assert.equal((await attempt('admin', 'public')).status, 200);
});
