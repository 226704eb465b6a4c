// LDAP authentication and authorization against running nodes, a real OpenLDAP server (slapd)
// and real clients: the entry found by base_dn and filter, its {SSHA} password checked (method =
// hash) or the directory asked to bind as it (method = bind); a superuser attribute; a user name
// with filter syntax in it finds nothing (escaped); the entry's topic attributes deciding
// PUBLISH and SUBSCRIBE; the directory down: the node keeps serving.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createTestNode, type TestNode } from '../helpers/launcher.js';
import { RawClient, uniq } from '../helpers/mqtt-client.js';
import { LDAP_ADMIN, LDAP_SUFFIX, ldapInstalled, sshaOf, startLdap, type LdapServer } from '../helpers/ldap.js';
import { skipOrFail } from '../helpers/prerequisite.js';
import { http, login } from '../api/http.js';
import { connackCode, pubackCode, rawSession, subackCodes } from './helpers.js';

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

describe('LDAP authorization', () => {
  let ldap: LdapServer | undefined;
  let node: TestNode;

  before(async () => {
    if (!ldapInstalled()) return;
    ldap = await startLdap(ADMIN_PW);
    const entry = (uid: string, extra: string): string => `dn: uid=${uid},ou=users,${LDAP_SUFFIX}\nobjectClass: inetOrgPerson\nobjectClass: mqttUser\ncn: ${uid}\nsn: ${uid}\nuid: ${uid}\n${extra}`;
    ldap.add(
      [
        `dn: ou=users,${LDAP_SUFFIX}\nobjectClass: organizationalUnit\nou: users\n`,
        entry('alice', 'mqttPublishTopic: alice/out/#\nmqttSubscriptionTopic: alice/in/+\nmqttPubSubTopic: shared/#\nmqttPubSubTopic: ${username}/self\n'),
        entry('carol', 'mqttSubscriptionTopic: carol/in\n'),
        // Two entries for one user (in two sub-units): whose topics they are is not clear.
        `dn: ou=a,ou=users,${LDAP_SUFFIX}\nobjectClass: organizationalUnit\nou: a\n`,
        `dn: ou=b,ou=users,${LDAP_SUFFIX}\nobjectClass: organizationalUnit\nou: b\n`,
        `dn: uid=dup,ou=a,ou=users,${LDAP_SUFFIX}\nobjectClass: inetOrgPerson\nobjectClass: mqttUser\ncn: dup\nsn: dup\nuid: dup\nmqttPubSubTopic: dup/#\n`,
        `dn: uid=dup,ou=b,ou=users,${LDAP_SUFFIX}\nobjectClass: inetOrgPerson\nobjectClass: mqttUser\ncn: dup\nsn: dup\nuid: dup\nmqttPubSubTopic: dup/#\n`,
      ].join('\n'),
    );
    node = await createTestNode(undefined, {
      name: 'authzldap@127.0.0.1',
      mqtt: true,
      dashboard: true,
      conf: `authorization {
  no_match = deny
  sources = [{ type = ldap, server = "127.0.0.1:${ldap.port}", username = "${LDAP_ADMIN}", password = "${ADMIN_PW}"
    base_dn = "ou=users,${LDAP_SUFFIX}", filter = "(&(objectClass=mqttUser)(uid=\${username}))" }]
}`,
    });
    await node.startOk();
  });

  after(async () => {
    RawClient.destroyAll();
    await node?.cleanup();
    await ldap?.stop();
  });

  const need = (t: TestContext): boolean => {
    if (ldap) return true;
    skipOrFail(t, 'OpenLDAP (Debian packages slapd and ldap-utils)');
    return false;
  };

  test("the entry's publish, subscribe and pub/sub topics allow; anything else falls to no_match (deny)", async (t) => {
    if (!need(t)) return;
    const alice = await rawSession(node.mqttPort!, 5, `a-${uniq()}`, { username: 'alice' });
    assert.deepEqual(await subackCodes(alice, ['alice/in/x', 'alice/out/x', 'shared/a/b', 'alice/self', 'bob/#', 'alice/in/x/y']), [1, 0x87, 1, 1, 0x87, 0x87]);
    // 0x10: accepted, no subscriber.
    assert.equal(await pubackCode(alice, 'alice/out/1'), 0x10);
    assert.equal(await pubackCode(alice, 'shared/z'), 0x10);
    assert.equal(await pubackCode(alice, 'alice/in/x'), 0x87, 'a subscription topic does not allow PUBLISH');
    const carol = await rawSession(node.mqttPort!, 5, `c-${uniq()}`, { username: 'carol' });
    assert.deepEqual(await subackCodes(carol, ['carol/in', 'shared/a']), [1, 0x87]);
    // No entry for the user name, and filter syntax in it finds none (escaped): no_match.
    const star = await rawSession(node.mqttPort!, 5, `s-${uniq()}`, { username: 'a*' });
    assert.deepEqual(await subackCodes(star, ['shared/a']), [0x87]);
    // Two entries match: no match (deny here), and the log says why.
    const dup = await rawSession(node.mqttPort!, 5, `d-${uniq()}`, { username: 'dup' });
    assert.deepEqual(await subackCodes(dup, ['dup/x']), [0x87]);
    assert.match(node.logText(), /the ldap source decided nothing: 2 entries match for dup/);
    for (const r of [alice, carol, star, dup]) r.destroy();
  });

  test('GET /authorization/sources shows the source with its password hidden', async (t) => {
    if (!need(t)) return;
    const token = await login(node.dashboardPort!);
    const r = await http(node.dashboardPort!, 'GET', '/api/v5/authorization/sources/ldap', { token });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, {
      type: 'ldap',
      enable: true,
      server: `127.0.0.1:${ldap!.port}`,
      username: LDAP_ADMIN,
      password: '******',
      base_dn: `ou=users,${LDAP_SUFFIX}`,
      filter: '(&(objectClass=mqttUser)(uid=${username}))',
      query_timeout: '5000ms',
      ssl: { enable: false },
      publish_attribute: 'mqttPublishTopic',
      subscribe_attribute: 'mqttSubscriptionTopic',
      all_attribute: 'mqttPubSubTopic',
    });
  });

  test('the directory down: no match (deny) at once, and the node keeps serving', async (t) => {
    if (!need(t)) return;
    await ldap!.stop();
    ldap = undefined;
    const bob = await rawSession(node.mqttPort!, 5, `b-${uniq()}`, { username: 'bob' });
    const t0 = Date.now();
    assert.deepEqual(await subackCodes(bob, ['bob/in']), [0x87]);
    assert.ok(Date.now() - t0 < 6000, `answered in ${Date.now() - t0} ms`);
    assert.match(node.logText(), /authorization: the ldap source decided nothing: the query failed: LDAP at ldap:\/\/127\.0\.0\.1:\d+/);
    bob.destroy();
  });
});
