// Authentication against a running node with real clients: users added with `emqx ctl users`
// (built_in_database, pbkdf2), accepted and refused per user for MQTT 3.1.1 and 5, refusals that
// do not tell an unknown user from a wrong password (in code or in time), a huge user name, a
// client without credentials, a superuser past the ACL, bulk import of EMQX's CSV and JSON files.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestNode, freePort, type TestNode } from '../helpers/launcher.js';
import { closeAll, poll, RawClient, uniq } from '../helpers/mqtt-client.js';
import { connackCode, PBKDF2_CHAIN, rawSession, subackCodes, writeAcl } from './helpers.js';

let node: TestNode;
let port: number;

before(async () => {
  node = await createTestNode(undefined, {
    name: 'authn@127.0.0.1',
    mqtt: true,
    conf: `${PBKDF2_CHAIN}\nauthorization { no_match = deny, sources = [{ type = file, path = "\${EMQX_ETC_DIR}/acl.conf" }] }`,
  });
  // No rules: no_match (deny) decides for everyone but superusers.
  writeAcl(node.etcDir, '%% no rules\n');
  await node.startOk();
  port = node.mqttPort!;
});

after(async () => {
  await closeAll();
  RawClient.destroyAll();
  await node?.cleanup();
});

describe('built_in_database users', () => {
  test('a user added with ctl connects (v3.1.1 and v5); a wrong password and an unknown user get the same refusal', async () => {
    const add = await node.ctl(['users', 'add', 'alice', 's3cret-pw']);
    assert.equal(add.code, 0, add.stdout + add.stderr);
    const dup = await node.ctl(['users', 'add', 'alice', 'x']);
    assert.equal(dup.code, 1);
    assert.match(dup.stdout, /^Error: User alice already exists/);
    for (const level of [4, 5] as const) {
      const ok = await connackCode(port, level, `a-${uniq()}`, { username: 'alice', password: Buffer.from('s3cret-pw') });
      assert.equal(ok.rc, 0);
      ok.raw.destroy();
      const wrong = await connackCode(port, level, `w-${uniq()}`, { username: 'alice', password: Buffer.from('nope') });
      const unknown = await connackCode(port, level, `u-${uniq()}`, { username: 'mallory', password: Buffer.from('nope') });
      // 0x86 Bad User Name or Password (3.1.1: 4) for both, then the connection is closed.
      assert.equal(wrong.rc, level === 5 ? 0x86 : 4);
      assert.equal(unknown.rc, wrong.rc);
      assert.ok(wrong.closed && unknown.closed);
    }
    const list = await node.ctl(['users', 'list']);
    assert.equal(list.stdout, 'alice\n');
  });

  test('no credentials: 0x87 Not authorized (3.1.1: 5)', async () => {
    for (const level of [4, 5] as const) {
      const r = await connackCode(port, level, `n-${uniq()}`);
      assert.equal(r.rc, level === 5 ? 0x87 : 5);
    }
  });

  test('the time of a refusal does not tell whether the user exists (the decoy hash costs the same)', async () => {
    await node.ctl(['users', 'add', 'timing', 'pw-timing-1']);
    const nobody = `nobody-${uniq()}`;
    /** One refused CONNECT's round trip, ms: as `user` with a wrong password, or with no user name at all (no hash). */
    const refusal = async (user: string | undefined): Promise<number> => {
      const t0 = performance.now();
      const r = await connackCode(port, 4, `t-${uniq()}`, user === undefined ? {} : { username: user, password: Buffer.from('wrong') });
      assert.equal(r.rc, user === undefined ? 5 : 4);
      return performance.now() - t0;
    };
    // One of each first (nothing warm yet), then the three alternated: a change in the machine's
    // load during the test hits all alike, not the one measured last.
    const kinds = ['timing', nobody, undefined] as const;
    for (const k of kinds) await refusal(k);
    const times = kinds.map(() => [] as number[]);
    for (let i = 0; i < 15; i++) for (let k = 0; k < kinds.length; k++) times[k]!.push(await refusal(kinds[k]));
    // A low percentile, not the median: load only ever adds time, so the fastest round trips are
    // the ones closest to what the work itself costs.
    const low = (xs: number[]): number => [...xs].sort((a, b) => a - b)[3]!;
    const [known, unknown, none] = times.map(low) as [number, number, number];
    // What the password check adds to a refusal (the round trip without one taken away): the decoy
    // must cost what a real hash does. A lookup that skipped it would add next to nothing.
    const knownHash = known - none;
    const unknownHash = unknown - none;
    assert.ok(
      unknownHash > knownHash * 0.5 && unknownHash < knownHash * 2,
      `refusal (20th percentile): existing user ${known.toFixed(2)} ms, unknown user ${unknown.toFixed(2)} ms, no user name ${none.toFixed(2)} ms`,
    );
  });

  test('a 60,000-byte user name is refused like any wrong one, and the node serves the next client', async () => {
    const r = await connackCode(port, 5, `h-${uniq()}`, { username: 'x'.repeat(60_000), password: Buffer.from('p') });
    assert.equal(r.rc, 0x86);
    const ok = await connackCode(port, 5, `a-${uniq()}`, { username: 'alice', password: Buffer.from('s3cret-pw') });
    assert.equal(ok.rc, 0);
    ok.raw.destroy();
  });

  test('passwd and del take effect at the next CONNECT', async () => {
    await node.ctl(['users', 'add', 'bob', 'old-pw']);
    assert.equal((await node.ctl(['users', 'passwd', 'bob', 'new-pw'])).code, 0);
    assert.equal((await connackCode(port, 5, `b-${uniq()}`, { username: 'bob', password: Buffer.from('old-pw') })).rc, 0x86);
    const ok = await connackCode(port, 5, `b-${uniq()}`, { username: 'bob', password: Buffer.from('new-pw') });
    assert.equal(ok.rc, 0);
    ok.raw.destroy();
    assert.equal((await node.ctl(['users', 'del', 'bob'])).code, 0);
    assert.equal((await connackCode(port, 5, `b-${uniq()}`, { username: 'bob', password: Buffer.from('new-pw') })).rc, 0x86);
    const missing = await node.ctl(['users', 'del', 'bob']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, 'Error: User not found\n');
  });

  test("EMQX's CSV (plain) and JSON (hash) user files import; a superuser is not held to the ACL", async () => {
    const csv = join(node.dir, 'users.csv');
    writeFileSync(csv, 'user_id,password,is_superuser\ncsv1,pw-one,false\nroot,root-pw,true\n');
    const r = await node.ctl(['users', 'import', csv]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, 'total=2 success=2 override=0 skipped=0 failed=0\n');
    // pbkdf2-sha256, 4096 iterations, salt 'salt' as text, password 'hash-pw' (as EMQX writes it).
    const json = join(node.dir, 'users.json');
    const { pbkdf2Sync } = await import('node:crypto');
    const hash = pbkdf2Sync('hash-pw', 'salt', 4096, 32, 'sha256').toString('hex');
    writeFileSync(json, JSON.stringify([{ user_id: 'json1', password_hash: hash, salt: 'salt', is_superuser: false }]));
    const j = await node.ctl(['users', 'import', json, 'hash']);
    assert.equal(j.stdout, 'total=1 success=1 override=0 skipped=0 failed=0\n');
    for (const [u, p] of [['csv1', 'pw-one'], ['json1', 'hash-pw'], ['root', 'root-pw']]) {
      const c = await connackCode(port, 5, `i-${uniq()}`, { username: u, password: Buffer.from(p!) });
      assert.equal(c.rc, 0, `${u} refused`);
      c.raw.destroy();
    }
    // The ACL (no rules, no_match = deny) refuses csv1's subscription; root is a superuser.
    const plain = await rawSession(port, 5, `p-${uniq()}`, { username: 'csv1', password: Buffer.from('pw-one') });
    assert.deepEqual(await subackCodes(plain, ['anything/#']), [0x87]);
    const root = await rawSession(port, 5, `r-${uniq()}`, { username: 'root', password: Buffer.from('root-pw') });
    assert.deepEqual(await subackCodes(root, ['anything/#']), [1]);
    const bad = join(node.dir, 'users.txt');
    writeFileSync(bad, 'x');
    const b = await node.ctl(['users', 'import', bad]);
    assert.equal(b.code, 1);
    assert.match(b.stdout, /unsupported file format/);
  });
});

describe("a listener's enable_authn", () => {
  let two: TestNode;
  let internal: number;

  before(async () => {
    internal = await freePort();
    two = await createTestNode(undefined, {
      name: 'authnlst@127.0.0.1',
      mqtt: true,
      conf: `${PBKDF2_CHAIN}
listeners.tcp.default.enable_authn = quick_deny_anonymous
listeners.tcp.internal { bind = "127.0.0.1:${internal}", enable_authn = false }`,
    });
    await two.startOk();
    assert.equal((await two.ctl(['users', 'add', 'svc', 'svc-pw'])).code, 0);
  });

  after(async () => {
    RawClient.destroyAll();
    await two?.cleanup();
  });

  test('false: the listener lets its clients in without the chain; quick_deny_anonymous: no user name, refused before the chain; a user still checked', async () => {
    for (const level of [4, 5] as const) {
      const anon = await connackCode(internal, level, `in-${uniq()}`);
      assert.equal(anon.rc, 0, 'enable_authn = false: anonymous');
      anon.raw.destroy();
      const any = await connackCode(internal, level, `in-${uniq()}`, { username: 'svc', password: Buffer.from('wrong') });
      assert.equal(any.rc, 0, 'enable_authn = false: the password is not checked');
      any.raw.destroy();
      assert.equal((await connackCode(two.mqttPort!, level, `q-${uniq()}`)).rc, level === 5 ? 0x87 : 5);
      assert.equal((await connackCode(two.mqttPort!, level, `q-${uniq()}`, { username: 'svc', password: Buffer.from('wrong') })).rc, level === 5 ? 0x86 : 4);
      const ok = await connackCode(two.mqttPort!, level, `q-${uniq()}`, { username: 'svc', password: Buffer.from('svc-pw') });
      assert.equal(ok.rc, 0);
      ok.raw.destroy();
    }
    assert.match(two.logText(), /no user name, and the listener has enable_authn = quick_deny_anonymous/);
  });

  test('a reload applies to the next connections: enable_authn = true on the internal listener refuses the anonymous client', async () => {
    const conf = readFileSync(join(two.etcDir, 'emqx.conf'), 'utf8');
    two.writeConf(conf.replace(`enable_authn = false }`, `enable_authn = true }`));
    await poll(async () => {
      const r = await connackCode(internal, 5, `re-${uniq()}`);
      r.raw.destroy();
      return r.rc === 0x87 ? true : undefined;
    }, 10_000, 'the internal listener to ask the chain');
    two.writeConf(conf);
    await poll(async () => {
      const r = await connackCode(internal, 5, `re-${uniq()}`);
      r.raw.destroy();
      return r.rc === 0 ? true : undefined;
    }, 10_000, 'the internal listener to let clients in again');
  });

  test('a bad value names the key and what is allowed', async () => {
    const bad = await two.emqx(['check_config']);
    assert.equal(bad.code, 0, bad.stdout + bad.stderr);
    writeFileSync(join(two.etcDir, 'emqx.conf'), `${readFileSync(join(two.etcDir, 'emqx.conf'), 'utf8')}\nlisteners.tcp.internal.enable_authn = maybe\n`);
    const r = await two.emqx(['check_config']);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /listeners\.tcp\.internal\.enable_authn: 'maybe' is not true, false or quick_deny_anonymous/);
  });
});
