// Authorization against a running node with real clients: an acl.conf with user, client id,
// address and placeholder rules, checked on SUBSCRIBE (v5 reason codes, 3.1.1 SUBACK 0x80) and
// PUBLISH (v5 PUBACK 0x87, 3.1.1 dropped), shared subscriptions checked on their real filter,
// the file changed on disk and applied live, a broken file refused with its position while the
// rules in force stay, and deny_action = disconnect applied by a config reload.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IDisconnectPacket } from 'mqtt-packet';
import { createTestNode, type TestNode } from '../helpers/launcher.js';
import { applyConf, poll, RawClient, uniq } from '../helpers/mqtt-client.js';
import { connackCode, PBKDF2_CHAIN, pubackCode, rawSession, subackCodes, writeAcl } from './helpers.js';

const ACL = `
{deny, {username, "alice"}, publish, [{eq, "shared/ro"}]}.
{allow, {username, "alice"}, all, ["alice/#", "shared/+"]}.
{allow, all, publish, ["users/%u/out", "clients/\${clientid}/out"]}.
{allow, all, subscribe, ["users/\${username}/in", "shared/+"]}.
{allow, {'and', [{username, {re, "^b"}}, {ipaddr, "127.0.0.0/8"}]}, subscribe, ["local/#"]}.
{deny, all}.
`;

const authz = (extra = ''): string =>
  `${PBKDF2_CHAIN}\nauthorization { no_match = deny, ${extra} sources = [{ type = file, path = "\${EMQX_ETC_DIR}/acl.conf" }] }`;

let node: TestNode;
let port: number;
const pw = (u: string): Buffer => Buffer.from(`${u}-pw`);

before(async () => {
  node = await createTestNode(undefined, { name: 'authz@127.0.0.1', mqtt: true, conf: authz() });
  writeAcl(node.etcDir, ACL);
  await node.startOk();
  port = node.mqttPort!;
  for (const u of ['alice', 'bob', 'carol']) {
    const r = await node.ctl(['users', 'add', u, `${u}-pw`]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  }
});

after(async () => {
  RawClient.destroyAll();
  await node?.cleanup();
});

const allowedPub = (rc: number): boolean => rc === 0 || rc === 0x10;

describe('acl.conf rules', () => {
  test('SUBSCRIBE: v5 gets 0x87 per refused filter, 3.1.1 gets 0x80; the granted ones their QoS', async () => {
    const v5 = await rawSession(port, 5, `bob-${uniq()}`, { username: 'bob', password: pw('bob') });
    assert.deepEqual(await subackCodes(v5, ['users/bob/in', 'users/alice/in', 'local/x/#', 'alice/x', '#']), [1, 0x87, 1, 0x87, 0x87]);
    const v3 = await rawSession(port, 4, `bob3-${uniq()}`, { username: 'bob', password: pw('bob') });
    assert.deepEqual(await subackCodes(v3, ['users/bob/in', 'alice/x', 'local/y']), [1, 0x80, 1]);
    // carol does not start with b: the 'and' rule does not apply to her.
    const carol = await rawSession(port, 5, `carol-${uniq()}`, { username: 'carol', password: pw('carol') });
    assert.deepEqual(await subackCodes(carol, ['local/x', 'users/carol/in']), [0x87, 1]);
    // A shared subscription is checked on its filter.
    assert.deepEqual(await subackCodes(carol, ['$share/g/shared/a', '$share/g/alice/x']), [1, 0x87]);
  });

  test('PUBLISH: refused ones get PUBACK 0x87 (v5) and reach nobody; 3.1.1 gets a plain PUBACK', async () => {
    const alice = await rawSession(port, 5, `alice-${uniq()}`, { username: 'alice', password: pw('alice') });
    assert.deepEqual(await subackCodes(alice, ['alice/#', 'shared/+']), [1, 1]);
    const id = `bob-${uniq()}`;
    const bob = await rawSession(port, 5, id, { username: 'bob', password: pw('bob') });
    assert.equal(await pubackCode(bob, 'alice/inbox', 'denied'), 0x87);
    assert.ok(allowedPub(await pubackCode(bob, 'users/bob/out')));
    assert.ok(allowedPub(await pubackCode(bob, `clients/${id}/out`)));
    assert.equal(await pubackCode(bob, 'users/alice/out'), 0x87);
    // alice may publish to shared/+ but not to shared/ro (the deny rule comes first).
    assert.equal(await pubackCode(alice, 'shared/ro'), 0x87);
    assert.ok(allowedPub(await pubackCode(alice, 'shared/rw', 'own')));
    await alice.next((p) => p.cmd === 'publish' && p.topic === 'shared/rw', 5000, 'alice receiving her own allowed message');
    const bob3 = await rawSession(port, 4, `bob3-${uniq()}`, { username: 'bob', password: pw('bob') });
    assert.equal(await pubackCode(bob3, 'alice/inbox', 'denied-v3'), 0);
    // Nothing refused reached alice.
    await new Promise((r) => setTimeout(r, 300));
    const got = alice.publishes().map((p) => p.payload.toString());
    assert.ok(!got.includes('denied') && !got.includes('denied-v3'), `alice received ${JSON.stringify(got)}`);
  });

  test('the file changed on disk is applied live; cached answers of the old rules are not used', async () => {
    const bob = await rawSession(port, 5, `bob-${uniq()}`, { username: 'bob', password: pw('bob') });
    assert.deepEqual(await subackCodes(bob, ['news/today']), [0x87]);
    writeAcl(node.etcDir, `{allow, {username, "bob"}, subscribe, ["news/#"]}.\n${ACL}`);
    await poll(async () => ((await subackCodes(bob, ['news/today']))[0] === 1 ? true : undefined), 10_000, 'the new rule to apply to a connected client');
    const shown = await node.ctl(['acl', 'show']);
    assert.match(shown.stdout, /acl\.conf: 7 rules\n$/);
    writeAcl(node.etcDir, ACL);
    await poll(async () => ((await subackCodes(bob, ['news/today']))[0] === 0x87 ? true : undefined), 10_000, 'the rule to go again');
  });

  test('a broken file is refused with file, line and column; the rules in force stay', async () => {
    writeAcl(node.etcDir, `{allow, all, subscribe, ["ok/#"]}.\n{allow, {ipaddr, "10.0.0.300"}, all, ["x"]}.\n{allow, all, publish, ["\${nope}/x"]}.\n`);
    const r = await node.ctl(['acl', 'reload']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /acl\.conf:2:\d+: '10\.0\.0\.300' is not an IP address or CIDR range/);
    assert.match(r.stdout, /acl\.conf:3:\d+: unknown placeholder \$\{nope\}/);
    await poll(() => (node.logText().includes('acl.conf changed but is not valid') ? true : undefined), 10_000, 'the watcher to log the refusal');
    const bob = await rawSession(port, 5, `bob-${uniq()}`, { username: 'bob', password: pw('bob') });
    assert.deepEqual(await subackCodes(bob, ['users/bob/in', 'ok/1']), [1, 0x87]);
    writeAcl(node.etcDir, '{allow, all, subscribe, ["ok/#"]\n');
    const syntax = await node.ctl(['acl', 'reload']);
    assert.equal(syntax.code, 1);
    assert.match(syntax.stdout, /acl\.conf:2:\d*:? ?.*syntax error|acl\.conf:\d+:\d+: .*syntax error/);
    writeAcl(node.etcDir, ACL);
    assert.equal((await node.ctl(['acl', 'reload'])).code, 0);
  });

  test('deny_action = disconnect (applied by reload): a refused PUBLISH ends the connection with DISCONNECT 0x87', async () => {
    await applyConf(node, `${authz('deny_action = disconnect,')}\nlisteners.tcp.default { bind = "127.0.0.1:${port}" }`, 'authorization.deny_action', 'disconnect');
    const bob = await rawSession(port, 5, `bob-${uniq()}`, { username: 'bob', password: pw('bob') });
    bob.send({ cmd: 'publish', topic: 'alice/x', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, messageId: 7 });
    const d = await bob.next<IDisconnectPacket>((p) => p.cmd === 'disconnect', 5000, 'DISCONNECT');
    assert.equal(d.reasonCode, 0x87);
    await bob.waitClosed(5000);
    const sub = await rawSession(port, 5, `bob-${uniq()}`, { username: 'bob', password: pw('bob') });
    sub.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'alice/#', qos: 0 }] });
    const d2 = await sub.next<IDisconnectPacket>((p) => p.cmd === 'disconnect', 5000, 'DISCONNECT');
    assert.equal(d2.reasonCode, 0x87);
    await applyConf(node, `${authz()}\nlisteners.tcp.default { bind = "127.0.0.1:${port}" }`, 'authorization.deny_action', 'ignore');
  });

  test('a reload naming a broken acl.conf is refused whole and the node keeps its rules', async () => {
    writeAcl(node.etcDir, '{allow, all, subscribe, ["x/#"]}.\n{permit, all}.\n', 'other.conf');
    const r = await applyConf(node, `${PBKDF2_CHAIN}\nauthorization { no_match = deny, sources = [{ type = file, path = "\${EMQX_ETC_DIR}/other.conf" }] }\nlisteners.tcp.default { bind = "127.0.0.1:${port}" }`);
    assert.match(r.stdout + r.stderr, /other\.conf:2:\d+: the permission must be allow or deny, not permit/);
    const bob = await rawSession(port, 5, `bob-${uniq()}`, { username: 'bob', password: pw('bob') });
    assert.deepEqual(await subackCodes(bob, ['users/bob/in', 'x/1']), [1, 0x87]);
    const ok = await connackCode(port, 5, `alice-${uniq()}`, { username: 'alice', password: pw('alice') });
    assert.equal(ok.rc, 0);
    ok.raw.destroy();
    await applyConf(node, `${authz()}\nlisteners.tcp.default { bind = "127.0.0.1:${port}" }`);
  });
});
