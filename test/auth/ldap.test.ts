// LDAP authentication against running nodes, a real OpenLDAP server (slapd) and real clients:
// the entry found by base_dn and filter, its {SSHA} password checked (method = hash) or the
// directory asked to bind as it (method = bind); a superuser attribute; a user name with filter
// syntax in it finds nothing (escaped); the directory down: the node keeps serving.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createTestNode, type TestNode } from '../helpers/launcher.js';
import { RawClient, uniq } from '../helpers/mqtt-client.js';
import { LDAP_ADMIN, LDAP_SUFFIX, ldapInstalled, sshaOf, startLdap, type LdapServer } from '../helpers/ldap.js';
import { skipOrFail } from '../helpers/prerequisite.js';
import { connackCode, rawSession, subackCodes } from './helpers.js';

const ADMIN_PW = 'ldap-secret';

function people(): string {
  const user = (uid: string, pw: string, extra = ''): string =>
    `dn: uid=${uid},ou=users,${LDAP_SUFFIX}\nobjectClass: inetOrgPerson\ncn: ${uid}\nsn: ${uid}\nuid: ${uid}\nuserPassword: ${sshaOf(pw)}\n${extra}`;
  return [`dn: ou=users,${LDAP_SUFFIX}\nobjectClass: organizationalUnit\nou: users\n`, user('alice', 'alice-pw'), user('root', 'root-pw', 'employeeType: TRUE\n')].join('\n');
}

describe('LDAP authentication', () => {
  let ldap: LdapServer | undefined;
  let hash: TestNode;
  let bind: TestNode;

  before(async () => {
    if (!ldapInstalled()) return;
    ldap = await startLdap(ADMIN_PW);
    ldap.add(people());
    const common = `server = "127.0.0.1:${ldap.port}", username = "${LDAP_ADMIN}", password = "${ADMIN_PW}"
  base_dn = "ou=users,${LDAP_SUFFIX}", filter = "(&(objectClass=inetOrgPerson)(uid=\${username}))"`;
    hash = await createTestNode(undefined, {
      name: 'authldaph@127.0.0.1',
      mqtt: true,
      conf: `authentication = [{ mechanism = password_based, backend = ldap, ${common}
  method { type = hash, password_attribute = userPassword, is_superuser_attribute = employeeType } }]
authorization { no_match = deny, sources = [] }`,
    });
    bind = await createTestNode(undefined, {
      name: 'authldapb@127.0.0.1',
      mqtt: true,
      conf: `authentication = [{ mechanism = password_based, backend = ldap, ${common}, method { type = bind } }]`,
    });
    await Promise.all([hash.startOk(), bind.startOk()]);
  });

  after(async () => {
    RawClient.destroyAll();
    await hash?.cleanup();
    await bind?.cleanup();
    await ldap?.stop();
  });

  const need = (t: TestContext): boolean => {
    if (ldap) return true;
    skipOrFail(t, 'OpenLDAP (Debian packages slapd and ldap-utils)');
    return false;
  };
  const conn = async (node: TestNode, username: string, password: string): Promise<number> => {
    const r = await connackCode(node.mqttPort!, 5, `c-${uniq()}`, { username, password: Buffer.from(password) });
    r.raw.destroy();
    return r.rc;
  };

  test('method = hash: the {SSHA} password of the entry; a superuser attribute; filter syntax in a user name is escaped', async (t) => {
    if (!need(t)) return;
    assert.equal(await conn(hash, 'alice', 'alice-pw'), 0);
    assert.equal(await conn(hash, 'alice', 'wrong'), 0x86);
    assert.notEqual(await conn(hash, 'nobody', 'x'), 0);
    // Unescaped, (uid=al*) would find alice and let this in with her password.
    assert.notEqual(await conn(hash, 'al*', 'alice-pw'), 0);
    const alice = await rawSession(hash.mqttPort!, 5, `a-${uniq()}`, { username: 'alice', password: Buffer.from('alice-pw') });
    assert.deepEqual(await subackCodes(alice, ['any/thing']), [0x87], 'no_match = deny');
    const root = await rawSession(hash.mqttPort!, 5, `r-${uniq()}`, { username: 'root', password: Buffer.from('root-pw') });
    assert.deepEqual(await subackCodes(root, ['any/thing']), [1], 'employeeType TRUE: a superuser');
    alice.destroy();
    root.destroy();
  });

  test('method = bind: the directory decides the password', async (t) => {
    if (!need(t)) return;
    assert.equal(await conn(bind, 'alice', 'alice-pw'), 0);
    assert.equal(await conn(bind, 'alice', 'wrong'), 0x86);
    assert.equal(await conn(bind, 'root', 'root-pw'), 0);
  });

  test('the directory down: no one gets in and the node keeps serving', async (t) => {
    if (!need(t)) return;
    await ldap!.stop();
    ldap = undefined;
    const t0 = Date.now();
    assert.notEqual(await conn(hash, 'alice', 'alice-pw'), 0);
    assert.ok(Date.now() - t0 < 6000, `answered in ${Date.now() - t0} ms`);
    assert.equal((await hash.ctl(['status'])).code, 0);
    assert.match(hash.logText(), /authentication: ldap decided nothing: the query failed: LDAP at ldap:\/\/127\.0\.0\.1:\d+/);
  });
});
