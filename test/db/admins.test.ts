import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sim, until } from '../cluster/support/sim.js';
import { hashPassword, verifyPassword } from '../../src/db/password.js';

const A = 'a@127.0.0.1';
const B = 'b@127.0.0.1';

test('password hashes are salted scrypt and verify only the right password', async () => {
  const h1 = await hashPassword('passw0rd!');
  const h2 = await hashPassword('passw0rd!');
  assert.match(h1, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  assert.notEqual(h1, h2, 'random salt');
  assert.ok(await verifyPassword('passw0rd!', h1));
  assert.ok(!(await verifyPassword('passw0rd?', h1)));
  assert.ok(!(await verifyPassword('x', 'garbage')));
});

test('admins ctl: EMQX wording, validation, replicated to every member', async (t) => {
  const sim = new Sim();
  t.after(() => sim.stopAll());
  await sim.start(A);
  await sim.start(B);
  assert.equal((await sim.run(B, 'cluster', 'join', A)).code, 0);
  assert.deepEqual(await sim.run(A, 'admins', 'add', 'alice', 'passw0rd!', 'first admin'), { code: 0, output: 'ok\n' });
  assert.deepEqual(await sim.run(B, 'admins', 'add', 'alice', 'passw0rd!'), { code: 1, output: 'Error: username_already_exist\n' });
  assert.deepEqual(await sim.run(A, 'admins', 'add', 'bad name', 'passw0rd!'), {
    code: 1,
    output: 'Error: Bad Username. Only upper and lower case letters, numbers and underscores are supported\n',
  });
  assert.deepEqual(await sim.run(A, 'admins', 'add', 'bob', 'short1'), { code: 1, output: 'Error: The range of password length is 8~64\n' });
  assert.match((await sim.run(A, 'admins', 'add', 'bob', 'onlyletters')).output, /^Error: The password must contain at least two different kind/);
  assert.deepEqual(await sim.run(B, 'admins', 'list'), { code: 0, output: 'Username: alice, Description: first admin\n' });
  // The password is stored hashed, never in clear, on both members.
  for (const n of [A, B]) {
    const stored = JSON.stringify([...sim.get(n).store.rows.values()]);
    assert.ok(!stored.includes('passw0rd!'));
  }
  assert.deepEqual(await sim.run(B, 'admins', 'passwd', 'alice', 'n3w-secret'), { code: 0, output: 'ok\n' });
  await until('new password on a', () => sim.get(A).parts.admins.get('alice')?.pwdHash !== undefined);
  assert.ok(await sim.get(A).parts.admins.check('alice', 'n3w-secret'));
  assert.deepEqual(await sim.run(A, 'admins', 'passwd', 'nobody', 'n3w-secret'), { code: 1, output: 'Error: username_not_found\n' });
  assert.deepEqual(await sim.run(A, 'admins', 'del', 'alice'), { code: 0, output: 'ok\n' });
  assert.deepEqual(await sim.run(B, 'admins', 'list'), { code: 0, output: '' });
  assert.deepEqual(await sim.run(B, 'admins', 'del', 'alice'), { code: 1, output: 'Error: username_not_found\n' });
  const u = await sim.run(A, 'admins');
  assert.equal(u.code, 1);
  assert.match(u.output, /^admins add <Username> <Password> <Description>\s+# Add dashboard user\n/);
});
