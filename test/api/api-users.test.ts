// /users (the dashboard's users) against two real daemons in one cluster over real HTTP: list,
// create with EMQX's validation, describe, change_pwd (ending the user's tokens on every node,
// limited like a login), delete with its refusals, API keys kept off, and every change seen by
// the other node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestNodes, startCluster } from '../helpers/launcher.js';
import { http, login, waitFor } from './http.js';

type User = { username: string; description: string; role: string; backend: string };

test('dashboard users through the API, across a two-node cluster', { timeout: 120_000 }, async (t) => {
  const [n1, n2] = await startCluster(t, ['emqx1@127.0.0.1', 'emqx2@127.0.0.1'], { dashboard: true });
  const p1 = n1!.dashboardPort!;
  const p2 = n2!.dashboardPort!;
  const token = await login(p1);

  const list = (await http(p1, 'GET', '/api/v5/users', { token })).json as User[];
  assert.deepEqual(list, [{ username: 'admin', description: 'administrator', role: 'administrator', backend: 'local' }]);

  // Create: EMQX's validation and wording.
  const bad: Array<[unknown, string]> = [
    [{ username: 'ops', password: 'short1' }, 'The range of password length is 8~64'],
    [{ username: 'ops', password: 'onlyletters' }, 'The password must contain at least two different kind of characters'],
    [{ username: 'op s', password: 'g00d-passw0rd' }, 'Bad Username'],
    [{ username: '', password: 'g00d-passw0rd' }, 'Username or password undefined'],
    [{ username: 'ops', password: 'g00d-passw0rd', role: 'viewer' }, 'Role does not exist'],
    [{ username: 'admin', password: 'g00d-passw0rd' }, 'username_already_exist'],
  ];
  for (const [body, message] of bad) {
    const r = await http(p1, 'POST', '/api/v5/users', { token, body });
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal((r.json as { code: string }).code, 'BAD_REQUEST');
    assert.ok((r.json as { message: string }).message.startsWith(message), `${JSON.stringify(body)}: ${r.text}`);
  }
  const created = await http(p1, 'POST', '/api/v5/users', { token, body: { username: 'ops', password: 'g00d-passw0rd', description: 'on call' } });
  assert.equal(created.status, 200, created.text);
  assert.deepEqual(created.json, { username: 'ops', description: 'on call', role: 'administrator', backend: 'local' });

  // Replicated: the new user logs in on the other node, and sees itself listed there.
  await waitFor('ops to log in on emqx2', async () => (await http(p2, 'POST', '/api/v5/login', { body: { username: 'ops', password: 'g00d-passw0rd' } })).status === 200);
  const opsToken = await login(p2, 'ops', 'g00d-passw0rd');
  assert.deepEqual(((await http(p2, 'GET', '/api/v5/users', { token: opsToken })).json as User[]).map((u) => u.username).sort(), ['admin', 'ops']);

  // Describe.
  const described = await http(p2, 'PUT', '/api/v5/users/ops', { token: opsToken, body: { description: 'night shift' } });
  assert.deepEqual([described.status, (described.json as User).description], [200, 'night shift']);
  assert.deepEqual((await http(p2, 'PUT', '/api/v5/users/nobody', { token: opsToken, body: { description: 'x' } })).json, { code: 'USER_NOT_FOUND', message: 'User not found' });
  await waitFor('the description on emqx1', async () => ((await http(p1, 'GET', '/api/v5/users', { token })).json as User[]).some((u) => u.username === 'ops' && u.description === 'night shift'));

  // change_pwd: a wrong old password, a weak new one, an unknown user.
  const wrongOld = await http(p1, 'POST', '/api/v5/users/admin/change_pwd', { token, body: { old_pwd: 'not-it', new_pwd: 'n3w-passw0rd' } });
  assert.deepEqual([wrongOld.status, wrongOld.json], [400, { code: 'ERROR_PWD_NOT_MATCH', message: 'Old password not match' }]);
  const weak = await http(p1, 'POST', '/api/v5/users/admin/change_pwd', { token, body: { old_pwd: 'public', new_pwd: 'public' } });
  assert.deepEqual([weak.status, (weak.json as { message: string }).message], [400, 'The range of password length is 8~64']);
  assert.equal((await http(p1, 'POST', '/api/v5/users/nobody/change_pwd', { token, body: { old_pwd: 'a', new_pwd: 'n3w-passw0rd' } })).status, 404);
  // Changed: the user's tokens end on every node (the other user's do not), the new password
  // logs in without the default-password warning, the old one no longer does.
  const adminOn2 = await login(p2);
  assert.equal((await http(p1, 'POST', '/api/v5/users/admin/change_pwd', { token: opsToken, body: { old_pwd: 'public', new_pwd: 'n3w-passw0rd' } })).status, 204);
  assert.equal((await http(p1, 'GET', '/api/v5/users', { token })).status, 401);
  await waitFor("admin's token to end on emqx2", async () => (await http(p2, 'GET', '/api/v5/users', { token: adminOn2 })).status === 401);
  assert.equal((await http(p2, 'GET', '/api/v5/users', { token: opsToken })).status, 200);
  assert.equal((await http(p1, 'POST', '/api/v5/login', { body: { username: 'admin', password: 'public' } })).status, 401);
  const fresh = await http(p1, 'POST', '/api/v5/login', { body: { username: 'admin', password: 'n3w-passw0rd' } });
  assert.equal(fresh.status, 200);
  assert.equal((fresh.json as { warning?: string }).warning, undefined);
  const token2 = (fresh.json as { token: string }).token;

  // Delete: not oneself, not the default administrator, not someone unknown; another user, yes.
  const selfDel = await http(p1, 'DELETE', '/api/v5/users/ops', { token: opsToken });
  assert.deepEqual([selfDel.status, selfDel.json], [400, { code: 'NOT_ALLOWED', message: 'Cannot delete self' }]);
  const defDel = await http(p1, 'DELETE', '/api/v5/users/admin', { token: opsToken });
  assert.deepEqual([defDel.status, defDel.json], [400, { code: 'NOT_ALLOWED', message: 'The default administrator user cannot be deleted.' }]);
  assert.equal((await http(p1, 'DELETE', '/api/v5/users/nobody', { token: token2 })).status, 404);
  assert.equal((await http(p1, 'DELETE', '/api/v5/users/ops', { token: token2 })).status, 204);
  // Its token ends with it, on the node where it was issued too.
  await waitFor("ops's token to end on emqx2", async () => (await http(p2, 'GET', '/api/v5/users', { token: opsToken })).status === 401);
  assert.equal((await n2!.ctl(['admins', 'list'])).stdout, 'Username: admin, Description: administrator\n');

  // API keys never reach these paths.
  const key = await http(p1, 'POST', '/api/v5/api_key', { token: token2, body: { name: 'script' } });
  assert.equal(key.status, 200, key.text);
  const { api_key, api_secret } = key.json as { api_key: string; api_secret: string };
  for (const [method, path] of [['GET', '/api/v5/users'], ['POST', '/api/v5/users/admin/change_pwd']] as const) {
    const r = await http(p1, method, path, { basic: `${api_key}:${api_secret}`, body: method === 'POST' ? { old_pwd: 'n3w-passw0rd', new_pwd: 'an0ther-passw0rd' } : undefined });
    assert.equal(r.status, 401);
    assert.equal((r.json as { code: string }).code, 'API_KEY_NOT_ALLOW');
  }
});

test('a wrong old password in change_pwd counts towards the failed-login limit', { timeout: 60_000 }, async (t) => {
  const [n] = await createTestNodes(t, ['emqx1@127.0.0.1'], { dashboard: true });
  await n!.startOk();
  const p = n!.dashboardPort!;
  const token = await login(p);
  let refused: { status: number; json: unknown } | undefined;
  // The per-address limit (rate-limit.ts) is far below 100 attempts.
  for (let i = 0; i < 100 && !refused; i++) {
    const r = await http(p, 'POST', '/api/v5/users/admin/change_pwd', { token, body: { old_pwd: `guess-${i}`, new_pwd: 'n3w-passw0rd' } });
    if (r.status === 429) refused = r;
    else assert.equal(r.status, 400, r.text);
  }
  assert.ok(refused, 'guesses of the old password were never limited');
  assert.equal((refused.json as { code: string }).code, 'TOO_MANY_REQUESTS');
  // The limit is the login's: logging in from this address waits too, even with the right password.
  assert.equal((await http(p, 'POST', '/api/v5/login', { body: { username: 'admin', password: 'public' } })).status, 429);
});
