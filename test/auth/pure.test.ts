// The pure pieces of auth/: the acl.conf compiler and matcher, CIDR ranges, placeholders, the
// per-client cache, password hashing (EMQX's formats, bcrypt against libxcrypt's answers), the
// flapping counter, EMQX's user files, and the config keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, pbkdf2Sync } from 'node:crypto';
import { AclError, compileAclFile } from '../../src/auth/authz/acl-file.js';
import { decide, rulesForClient, type RuleClient } from '../../src/auth/authz/rule.js';
import { cidrContains, hostOf, parseAddress, parseCidr, type Cidr } from '../../src/auth/authz/cidr.js';
import { AuthzCache, cacheKey } from '../../src/auth/authz/cache.js';
import { Authorizer } from '../../src/auth/authz/authorizer.js';
import { bcryptHash } from '../../src/auth/authn/bcrypt.js';
import { checkPassword, decoyFor, hashPassword } from '../../src/auth/authn/password-hash.js';
import { FlappingDetector } from '../../src/auth/banned/flapping.js';
import { inForce } from '../../src/auth/banned/banned.js';
import { ImportError, parseUserFile } from '../../src/auth/authn/user-import.js';
import { validateConfig } from '../../src/config/schema.js';
import type { FlappingConfig, PasswordHashAlgorithm } from '../../src/config/types.js';

const EMQX_DEFAULT = `
{allow, {username, {re, "^dashboard$"}}, subscribe, ["$SYS/#"]}.
{allow, {ipaddr, "127.0.0.1"}, all, ["$SYS/#", "#"]}.
{deny, all, subscribe, ["$SYS/#", {eq, "#"}, {eq, "+/#"}]}.
{allow, all}.
`;

function checker(acl: string, c: RuleClient): (type: 'publish' | 'subscribe', topic: string, qos?: number, retain?: boolean) => string | undefined {
  const rules = rulesForClient(compileAclFile(acl, 'acl.conf'), c);
  return (type, topic, qos = 0, retain = false) => decide(rules, { type, qos, retain }, topic, topic.split('/'));
}

test("EMQX's default acl.conf: local clients may do anything, others may not read $SYS or subscribe to # and +/#", () => {
  const remote = checker(EMQX_DEFAULT, { username: 'u', clientid: 'c', peerhost: '10.1.1.1' });
  assert.equal(remote('subscribe', '#'), 'deny');
  assert.equal(remote('subscribe', '+/#'), 'deny');
  assert.equal(remote('subscribe', '$SYS/brokers'), 'deny');
  assert.equal(remote('subscribe', 'a/#'), 'allow');
  assert.equal(remote('subscribe', '+/+'), 'allow');
  assert.equal(remote('publish', 'x/y'), 'allow');
  const local = checker(EMQX_DEFAULT, { username: undefined, clientid: 'c', peerhost: '127.0.0.1' });
  assert.equal(local('subscribe', '#'), 'allow');
  assert.equal(local('subscribe', '$SYS/#'), 'allow');
  const dash = checker(EMQX_DEFAULT, { username: 'dashboard', clientid: 'd', peerhost: '10.0.0.1' });
  assert.equal(dash('subscribe', '$SYS/brokers/#'), 'allow');
  assert.equal(dash('publish', '$SYS/x'), 'allow');
});

test('topic matching as emqx_topic:match: client wildcards literal, $-topics not matched by a leading wildcard, eq exact', () => {
  const c = checker('{allow, all, all, ["a/+", "b/#", {eq, "c/#"}, "+/d", "#"]}.\n', { username: 'u', clientid: 'c', peerhost: '1.2.3.4' });
  const only = (filter: string): ((t: string) => string | undefined) => checker(`{allow, all, all, [${JSON.stringify(filter)}]}.\n`, { username: 'u', clientid: 'c', peerhost: '1.2.3.4' }).bind(null, 'subscribe');
  assert.equal(c('publish', 'x'), 'allow');
  assert.equal(only('a/+')('a/b'), 'allow');
  assert.equal(only('a/+')('a'), undefined);
  assert.equal(only('a/+')('a/b/c'), undefined);
  assert.equal(only('b/#')('b'), 'allow');
  assert.equal(only('b/#')('b/x/y'), 'allow');
  assert.equal(only('a/#')('#'), undefined);
  assert.equal(only('a/+')('a/#'), 'allow');
  assert.equal(only('#')('$SYS/x'), undefined);
  assert.equal(only('+/x')('$SYS/x'), undefined);
  assert.equal(only('$SYS/#')('$SYS/x'), 'allow');
  const eq = checker('{allow, all, subscribe, [{eq, "c/#"}, "eq d/+"]}.\n', { username: 'u', clientid: 'c', peerhost: '1.2.3.4' });
  assert.equal(eq('subscribe', 'c/#'), 'allow');
  assert.equal(eq('subscribe', 'c/x'), undefined);
  assert.equal(eq('subscribe', 'd/+'), 'allow');
  const all = checker('{deny, all}.\n', { username: 'u', clientid: 'c', peerhost: '1.2.3.4' });
  assert.equal(all('subscribe', '$SYS/x'), 'deny');
});

test('who: user, client id, regex, address, and/or; placeholders per client; action options', () => {
  const acl = `
{allow, {'or', [{user, "u1"}, {clientid, {re, "^dev-"}}]}, publish, ["t/%u", "c/\${clientid}/#"]}.
{allow, {'and', [{ipaddrs, ["10.0.0.0/8", "::1"]}, {username, "u2"}]}, {publish, [{qos, [0, 1]}, {retain, false}]}, ["q/#"]}.
{allow, all, {subscribe, [{qos, 2}]}, ["s2/#"]}.
{allow, {client_attr, "group", "g1"}, all, ["g/#"]}.
`;
  const u1 = checker(acl, { username: 'u1', clientid: 'x', peerhost: '1.1.1.1' });
  assert.equal(u1('publish', 't/u1'), 'allow');
  assert.equal(u1('publish', 't/u2'), undefined);
  assert.equal(u1('publish', 'c/x/1'), 'allow');
  assert.equal(u1('subscribe', 't/u1'), undefined);
  const dev = checker(acl, { username: undefined, clientid: 'dev-7', peerhost: '1.1.1.1' });
  // No user name: the %u topic never matches; the client id one does.
  assert.equal(dev('publish', 't/'), undefined);
  assert.equal(dev('publish', 'c/dev-7/a'), 'allow');
  const u2 = checker(acl, { username: 'u2', clientid: 'x', peerhost: '10.9.9.9' });
  assert.equal(u2('publish', 'q/1', 1, false), 'allow');
  assert.equal(u2('publish', 'q/1', 2, false), undefined);
  assert.equal(u2('publish', 'q/1', 0, true), undefined);
  const u2v6 = checker(acl, { username: 'u2', clientid: 'x', peerhost: '::1' });
  assert.equal(u2v6('publish', 'q/1'), 'allow');
  assert.equal(u2('subscribe', 's2/x', 2), 'allow');
  assert.equal(u2('subscribe', 's2/x', 1), undefined);
  assert.equal(u2('subscribe', 'g/x'), undefined);
});

test('a bad acl.conf: every problem with file, line and column', () => {
  const text = `{allow, all}.
{allow, {ipaddr, "10.0.0.0/33"}, all, ["#"]}.
{allow, {nobody, "x"}, all, ["#"]}.
{permit, all}.
{allow, all, publish, ["\${foo}/x"]}.
{allow, all, publish, "a/b"}.
{allow, {username, {re, "(unclosed"}}, publish, ["x"]}.
{allow, all, {publish, [{qos, 3}]}, ["x"]}.
`;
  try {
    compileAclFile(text, '/etc/acl.conf');
    assert.fail('compiled');
  } catch (err) {
    assert.ok(err instanceof AclError);
    const lines = err.problems.map((p) => `${p.line}:${p.column} ${p.message}`);
    assert.equal(lines.length, 7, lines.join('\n'));
    assert.match(lines[0]!, /^2:9 '10\.0\.0\.0\/33': the prefix length must be 0\.\.32$/);
    assert.match(lines[1]!, /^3:9 unknown client condition/);
    assert.match(lines[2]!, /^4:2 the permission must be allow or deny, not permit$/);
    assert.match(lines[3]!, /^5:\d+ unknown placeholder \$\{foo\}/);
    assert.match(lines[4]!, /^6:1 the topics must be a list: \["a\/b"\]$/);
    assert.match(lines[5]!, /^7:\d+ bad regular expression/);
    assert.match(lines[6]!, /^8:\d+ qos must be 0, 1 or 2/);
    assert.match(err.message, /^\/etc\/acl\.conf:2:9: /);
  }
  assert.throws(() => compileAclFile('{allow, all\n', 'a.conf'), (e: unknown) => e instanceof AclError && e.problems[0]!.file === 'a.conf' && e.problems[0]!.line > 0);
});

test('CIDR ranges and addresses, IPv4-mapped IPv6 as IPv4', () => {
  const r = parseCidr('192.168.0.0/16') as Cidr;
  assert.equal(cidrContains(r, parseAddress('192.168.200.1')), true);
  assert.equal(cidrContains(r, parseAddress('192.169.0.1')), false);
  assert.equal(cidrContains(r, parseAddress('::ffff:192.168.1.1')), true);
  const v6 = parseCidr('2001:db8::/32') as Cidr;
  assert.equal(cidrContains(v6, parseAddress('2001:db8:1::5')), true);
  assert.equal(cidrContains(v6, parseAddress('2001:db9::1')), false);
  assert.equal(cidrContains(v6, parseAddress('10.0.0.1')), false);
  assert.equal(typeof parseCidr('10.0.0.300'), 'string');
  assert.equal(typeof parseCidr('10.0.0.0/x'), 'string');
  assert.equal(hostOf('[::1]:1883'), '::1');
  assert.equal(hostOf('10.0.0.1:5'), '10.0.0.1');
});

test('the per-client cache: bounded, expires, forgets older generations', () => {
  const c = new AuthzCache(2, 1000);
  c.put('a', true, 0, 0);
  c.put('b', false, 0, 1);
  assert.equal(c.get('a', 0, 10), true);
  c.put('c', true, 0, 2);
  assert.equal(c.size, 2);
  assert.equal(c.get('a', 0, 10), undefined);
  assert.equal(c.get('b', 0, 10), false);
  assert.equal(c.get('b', 1, 10), undefined);
  assert.equal(c.get('c', 0, 1002), undefined);
  assert.notEqual(cacheKey('publish', 1, true, 't'), cacheKey('publish', 1, false, 't'));
});

test('authorizer: no source and no_match = allow is open; superusers pass; reload starts a new generation', () => {
  const a = new Authorizer({ noMatch: 'allow', denyAction: 'ignore', cache: { enable: true, maxSize: 32, ttl: 60_000, excludes: [] }, sources: [] });
  const client = { username: 'u', clientid: 'c', peerhost: '1.1.1.1' };
  assert.equal(a.open, true);
  const ca = a.forClient(client, false);
  assert.equal(ca.allow('publish', 'x', 0, false), true);
  assert.equal(ca.cache.size, 0);
  const rules = compileAclFile('{deny, all, publish, ["x"]}.\n', 'f');
  a.update({ ...a.settings, sources: [{ type: 'file', path: 'f', rules }] });
  assert.equal(a.open, false);
  assert.equal(ca.allow('publish', 'x', 0, false), false);
  assert.equal(ca.allow('publish', 'y', 0, false), true);
  assert.equal(a.forClient(client, true).allow('publish', 'x', 0, false), true);
  a.update({ ...a.settings, sources: [] });
  assert.equal(ca.allow('publish', 'x', 0, false), true);
});

test("bcrypt: the hashes libxcrypt's crypt(3) gives", async () => {
  // python3 -c "import crypt; print(crypt.crypt(pw, salt))" on Debian 12 (libxcrypt 4.4).
  assert.equal(await bcryptHash(Buffer.from('U*U'), '$2b$05$CCCCCCCCCCCCCCCCCCCCC.', 0), '$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW');
  assert.equal(await bcryptHash(Buffer.from(''), '$2a$05$CCCCCCCCCCCCCCCCCCCCC.', 0), '$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy');
  assert.equal(await bcryptHash(Buffer.from('password'), '$2b$10$abcdefghijklmnopqrstuu'), '$2b$10$abcdefghijklmnopqrstuu5Lo0g67CiD3M4RpN1BmBb4Crp5w7dbK');
});

test("EMQX's stored hashes: pbkdf2 hex over the salt text, sha256 with the salt before, bcrypt; a decoy never matches", async () => {
  const pbkdf2: PasswordHashAlgorithm = { name: 'pbkdf2', mac_fun: 'sha256', iterations: 4096 };
  const stored = { password_hash: pbkdf2Sync('pw', 'abc', 4096, 32, 'sha256').toString('hex').toUpperCase(), salt: 'abc' };
  assert.equal(await checkPassword(pbkdf2, stored, Buffer.from('pw')), true);
  assert.equal(await checkPassword(pbkdf2, stored, Buffer.from('pX')), false);
  assert.equal(await checkPassword(pbkdf2, stored, undefined), false);
  const sha: PasswordHashAlgorithm = { name: 'sha256', salt_position: 'prefix' };
  assert.equal(await checkPassword(sha, { password_hash: createHash('sha256').update('saltpw').digest('hex'), salt: 'salt' }, Buffer.from('pw')), true);
  const suffix: PasswordHashAlgorithm = { name: 'sha256', salt_position: 'suffix' };
  assert.equal(await checkPassword(suffix, { password_hash: createHash('sha256').update('pwsalt').digest('hex'), salt: 'salt' }, Buffer.from('pw')), true);
  for (const algo of [pbkdf2, sha, { name: 'bcrypt', salt_rounds: 5 } as PasswordHashAlgorithm, { name: 'plain', salt_position: 'disable' } as PasswordHashAlgorithm]) {
    const h = await hashPassword(algo, 'secret');
    assert.equal(await checkPassword(algo, h, Buffer.from('secret')), true, algo.name);
    assert.equal(await checkPassword(algo, h, Buffer.from('Secret')), false, algo.name);
    assert.equal(await checkPassword(algo, decoyFor(algo), Buffer.from('secret')), false, algo.name);
  }
  const h = await hashPassword(pbkdf2, 'x');
  assert.match(h.salt, /^[0-9a-f]{32}$/);
  assert.match(h.password_hash, /^[0-9a-f]{64}$/);
});

test('bcrypt hands the event loop back while it works', async () => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  await bcryptHash(Buffer.from('pw'), '$2b$10$abcdefghijklmnopqrstuu');
  clearInterval(timer);
  assert.ok(ticks >= 5, `timers ran ${ticks} times during a cost-10 hash`);
});

test('flapping: the max_count-th connect within the window bans; per client id, peer host and user name', () => {
  const p = { enable: true, max_count: 3, window_time: 1000, ban_time: 5000 };
  const cfg: FlappingConfig = { ...p, by_peerhost: { ...p, max_count: 4 }, by_username: { ...p, enable: false } };
  const f = new FlappingDetector(cfg, 10);
  const who = (clientid: string): { clientid: string; peerhost: string; username: string } => ({ clientid, peerhost: '1.2.3.4', username: 'u' });
  assert.deepEqual(f.detect(who('a'), 0), []);
  assert.deepEqual(f.detect(who('a'), 10), []);
  assert.deepEqual(f.detect(who('a'), 20).map((x) => `${x.as}:${x.who}`), ['clientid:a']);
  // A new client id from the same host: the host's fourth connect.
  assert.deepEqual(f.detect(who('b'), 30).map((x) => `${x.as}:${x.who}`), ['peerhost:1.2.3.4']);
  // Outside the window the count starts again.
  assert.deepEqual(f.detect(who('c'), 2000), []);
  assert.deepEqual(f.detect(who('c'), 2500), []);
  assert.deepEqual(f.detect(who('c'), 3500), []);
  for (let i = 0; i < 50; i++) f.detect(who(`k${i}`), 4000);
  assert.ok(f.size('clientid') <= 10);
  f.sweep(10_000);
  assert.equal(f.size('clientid'), 0);
  assert.equal(inForce({ as: 'clientid', who: 'x', by: '', reason: '', at: 0, until: 10 }, 9), true);
  assert.equal(inForce({ as: 'clientid', who: 'x', by: '', reason: '', at: 0, until: 10 }, 10), false);
  assert.equal(inForce({ as: 'clientid', who: 'x', by: '', reason: '', at: 0 }, 1e12), true);
});

test("EMQX's user files: CSV with a header, JSON lists; mistakes named", () => {
  assert.deepEqual(parseUserFile('u.csv', 'user_id,password_hash,salt,is_superuser\nu1,abcd,s1,true\n"u,2",ef,,false\n', 'hash'), [
    { user_id: 'u1', password_hash: 'abcd', salt: 's1', is_superuser: true },
    { user_id: 'u,2', password_hash: 'ef', salt: '', is_superuser: false },
  ]);
  assert.deepEqual(parseUserFile('u.json', '[{"user_id":"a","password":"p","is_superuser":true}]', 'plain'), [{ user_id: 'a', password: 'p', is_superuser: true }]);
  assert.throws(() => parseUserFile('u.csv', 'user_id,password\nu1\n', 'plain'), (e: unknown) => e instanceof ImportError && /u\.csv:2: plain import requires a password field/.test(e.message));
  assert.throws(() => parseUserFile('u.csv', 'a,b\n', 'plain'), /header line/);
  assert.throws(() => parseUserFile('u.json', '{', 'plain'), /not JSON/);
  assert.throws(() => parseUserFile('u.xml', '', 'plain'), /unsupported file format/);
});

const paths = { root: '/opt/emqx', etc_dir: '/opt/emqx/etc', conf_file: '/opt/emqx/etc/emqx.conf', log_dir: '/opt/emqx/log', ssl_dist_optfile: '/opt/emqx/etc/ssl_dist.conf' };
const check = (tree: Record<string, unknown>): ReturnType<typeof validateConfig> => validateConfig({ node: { cookie: 'c' }, ...tree }, { paths, env: {} });

test('config: the chain and the sources, with defaults; kinds not served kept; mistakes named', async () => {
  const ok = check({
    authentication: [{ mechanism: 'password_based', backend: 'built_in_database', password_hash_algorithm: { name: 'pbkdf2', mac_fun: 'sha256', iterations: 4096 } }, { mechanism: 'password_based', backend: 'mongodb', server: '127.0.0.1:27017' }],
    authorization: { no_match: 'deny', sources: [{ type: 'file', path: '${EMQX_ETC_DIR}/acl.conf' }, { type: 'built_in_database' }, { type: 'mongodb', server: 'x' }] },
  });
  assert.deepEqual(ok.problems, []);
  const c = ok.config!;
  assert.deepEqual(c.authentication[0], { mechanism: 'password_based', backend: 'built_in_database', enable: true, user_id_type: 'username', password_hash_algorithm: { name: 'pbkdf2', mac_fun: 'sha256', iterations: 4096 }, bootstrap_type: 'plain', bootstrap_file: '/opt/emqx/etc/auth-built-in-db-bootstrap.csv' });
  assert.deepEqual(c.authentication[1], { mechanism: 'password_based', backend: 'mongodb', enable: true, unserved: true });
  assert.deepEqual(c.authorization.sources, [{ type: 'file', enable: true, path: '/opt/emqx/etc/acl.conf' }, { type: 'built_in_database', enable: true, max_rules: 100 }, { type: 'mongodb', enable: true, unserved: true }]);
  assert.deepEqual(c.authorization.cache, { enable: true, max_size: 32, ttl: 60_000, excludes: [] });
  assert.equal(c.flapping_detect.enable, false);
  assert.equal(c.flapping_detect.ban_time, 300_000);
  assert.equal(c.mqtt.peer_cert_as_username, 'disabled');
  const defaults = check({}).config!;
  assert.deepEqual(defaults.authentication, []);
  assert.equal(defaults.authorization.sources, undefined);
  assert.equal(defaults.authorization.no_match, 'allow');
  const bad = check({
    authentication: [{ mechanism: 'password_based', backend: 'built_in_database', password_hash_algorithm: { name: 'pbkdf3' }, user_id_type: 'email', typo: 1 }],
    authorization: { deny_action: 'drop', sources: [{ type: 'file' }] },
  });
  const msgs = bad.problems.map((p) => p.message).join('\n');
  assert.match(msgs, /authentication: \[1\] user_id_type: 'email' is not one of username, clientid/);
  assert.match(msgs, /\[1\] password_hash_algorithm name: 'pbkdf3' is not one of pbkdf2, bcrypt/);
  assert.match(msgs, /\[1\] typo: unknown key/);
  assert.match(msgs, /authorization\.deny_action: 'drop' is not one of ignore, disconnect/);
  assert.match(msgs, /authorization\.sources: \[1\] path: is required/);

  // Served: http and jwt (with a secret or a public key), checked key by key.
  const served = check({
    authentication: [
      { mechanism: 'password_based', backend: 'http', url: 'http://127.0.0.1:8080/auth/${clientid}', body: { u: '${username}' } },
      { mechanism: 'jwt', algorithm: 'hmac-based', secret: 'c2VjcmV0', secret_base64_encoded: true, verify_claims: { sub: '${clientid}' } },
    ],
  });
  assert.deepEqual(served.problems, []);
  assert.deepEqual(served.config!.authentication[0], { mechanism: 'password_based', backend: 'http', enable: true, method: 'post', url: 'http://127.0.0.1:8080/auth/${clientid}', headers: { 'content-type': 'application/json' }, body: { u: '${username}' }, request_timeout: 5000, pool_size: 8 });
  assert.deepEqual(served.config!.authentication[1], { mechanism: 'jwt', enable: true, algorithm: 'hmac-based', from: 'password', secret: 'c2VjcmV0', secret_base64_encoded: true, verify_claims: { sub: '${clientid}' }, acl_claim_name: 'acl', disconnect_after_expire: true });
  const wrong = check({
    authentication: [
      { mechanism: 'password_based', backend: 'http', url: 'ftp://x', body: { u: '${user}' } },
      { mechanism: 'jwt', algorithm: 'public-key', public_key: 'not a key' },
    ],
  }).problems.map((p) => p.message).join('\n');
  assert.match(wrong, /\[1\] url: 'ftp:\/\/x' is not an http:\/\/ or https:\/\/ URL/);
  assert.match(wrong, /\[1\] body\.u: unknown placeholder \$\{user\}/);
  assert.match(wrong, /\[2\] public_key: is not a PEM public key/);

  // Redis: the connection keys and the command, checked as EMQX checks them.
  const redis = check({
    authentication: [{ mechanism: 'password_based', backend: 'redis', server: '127.0.0.1:6380', database: 2, password: 'pw', cmd: 'HMGET mqtt_user:${username} password_hash salt is_superuser', pool_size: 8 }],
    authorization: { sources: [{ type: 'redis', redis_type: 'cluster', servers: '10.0.0.1:7000, 10.0.0.2', cmd: 'HGETALL "mqtt_acl:${clientid}"' }] },
  });
  assert.deepEqual(redis.problems, []);
  assert.deepEqual(redis.config!.authentication[0], {
    mechanism: 'password_based',
    backend: 'redis',
    enable: true,
    redis_type: 'single',
    servers: [{ host: '127.0.0.1', port: 6380 }],
    database: 2,
    password: 'pw',
    cmd: ['HMGET', 'mqtt_user:${username}', 'password_hash', 'salt', 'is_superuser'],
    password_hash_algorithm: { name: 'sha256', salt_position: 'prefix' },
  });
  assert.deepEqual(redis.config!.authorization.sources![0], { type: 'redis', enable: true, redis_type: 'cluster', servers: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 6379 }], database: 0, cmd: ['HGETALL', 'mqtt_acl:${clientid}'] });
  const badRedis = check({
    authentication: [{ mechanism: 'password_based', backend: 'redis', server: 'h:99999', cmd: 'HMGET mqtt_user:${username} salt' }],
    authorization: { sources: [{ type: 'redis', redis_type: 'sentinel', servers: 'h:26379', cmd: 'GET acl:${user}' }] },
  }).problems.map((p) => p.message).join('\n');
  assert.match(badRedis, /\[1\] server: port 99999 is outside 1\.\.65535/);
  assert.match(badRedis, /\[1\] cmd: the fields must include password_hash or password/);
  assert.match(badRedis, /sources: \[1\] sentinel: is required with redis_type = sentinel/);
  assert.match(badRedis, /\[1\] cmd: 'GET' is not HGETALL/);

  // PostgreSQL: server (port 5432 by default), database, the query's placeholders.
  const pg = check({
    authentication: [{ mechanism: 'password_based', backend: 'postgresql', server: 'db.local', database: 'mqtt', username: 'emqx', password: 'pw', query: 'SELECT password_hash FROM mqtt_user WHERE username = ${username}', prepare_statement: {} }],
  });
  assert.deepEqual(pg.problems, []);
  assert.deepEqual(pg.config!.authentication[0], {
    mechanism: 'password_based',
    backend: 'postgresql',
    enable: true,
    server: { host: 'db.local', port: 5432 },
    database: 'mqtt',
    username: 'emqx',
    password: 'pw',
    pool_size: 8,
    query: 'SELECT password_hash FROM mqtt_user WHERE username = ${username}',
    password_hash_algorithm: { name: 'sha256', salt_position: 'prefix' },
  });
  const my = check({ authorization: { sources: [{ type: 'mysql', server: '127.0.0.1', database: 'mqtt', query: 'SELECT permission, action, topic FROM mqtt_acl WHERE username = ${username}' }] } });
  assert.deepEqual(my.problems, []);
  assert.deepEqual(my.config!.authorization.sources![0], { type: 'mysql', enable: true, server: { host: '127.0.0.1', port: 3306 }, database: 'mqtt', username: 'root', pool_size: 8, query: 'SELECT permission, action, topic FROM mqtt_acl WHERE username = ${username}' });
  const badPg = check({ authorization: { sources: [{ type: 'postgresql', server: 'h:5432', query: 'SELECT * FROM acl WHERE u = ${password}' }] } }).problems.map((p) => p.message).join('\n');
  assert.match(badPg, /\[1\] database: is required/);
  assert.match(badPg, /\[1\] query: unknown placeholder \$\{password\}/);
  const { sqlTemplate } = await import('../../src/auth/sql/template.js');
  assert.deepEqual(sqlTemplate("SELECT a FROM t WHERE u = ${username} AND c = '${clientid}' OR u = ${username}"), { text: 'SELECT a FROM t WHERE u = $1 AND c = $2 OR u = $3', vars: ['username', 'clientid', 'username'] });
  assert.deepEqual(sqlTemplate('SELECT a FROM t WHERE u = ${username} AND c = ${clientid}', 'question'), { text: 'SELECT a FROM t WHERE u = ? AND c = ?', vars: ['username', 'clientid'] });
});

test('start-up warnings: no chain with a listener on a non-loopback address; kinds not served', async () => {
  const { authWarnings } = await import('../../src/auth/node-part.js');
  const open = check({}).config!;
  const w = authWarnings(open);
  assert.equal(w.length, 1);
  assert.match(w[0]!, /^no authentication is configured: any client reaching tcp:default \(0\.0\.0\.0:1883\), ssl:default \(0\.0\.0\.0:8883\), ws:default \(0\.0\.0\.0:8083\), wss:default \(0\.0\.0\.0:8084\) is let in/);
  const loopback = check({ listeners: { tcp: { default: { bind: '127.0.0.1:1883' } }, ws: { default: { bind: '[::1]:8083' } }, ssl: { default: { enable: false } }, wss: { default: { enable: false } } } }).config!;
  assert.deepEqual(authWarnings(loopback), []);
  const chained = check({ authentication: [{ mechanism: 'password_based', backend: 'built_in_database' }, { mechanism: 'password_based', backend: 'mongodb' }], authorization: { sources: [{ type: 'mongodb' }] } }).config!;
  assert.deepEqual(authWarnings(chained).map((x) => x.split(' is not served')[0]), ['authentication: password_based:mongodb', 'authorization: the mongodb source']);
});

test('config: the ldap authorization source, EMQX\'s attribute defaults; a filter without parentheses or an unknown placeholder is named', () => {
  const ok = check({ authorization: { sources: [{ type: 'ldap', server: '127.0.0.1', username: 'cn=root,dc=emqx,dc=io', base_dn: 'uid=${username},dc=emqx,dc=io' }] } });
  assert.deepEqual(ok.problems, []);
  assert.deepEqual(ok.config!.authorization.sources![0], {
    type: 'ldap', enable: true, server: { host: '127.0.0.1', port: 389 }, username: 'cn=root,dc=emqx,dc=io', base_dn: 'uid=${username},dc=emqx,dc=io', filter: '(objectClass=mqttUser)', query_timeout: 5000,
    publish_attribute: 'mqttPublishTopic', subscribe_attribute: 'mqttSubscriptionTopic', all_attribute: 'mqttPubSubTopic',
  });
  const bad = check({ authorization: { sources: [{ type: 'ldap', server: 'h', username: 'u', base_dn: 'uid=${password}', filter: 'uid=x' }] } }).problems.map((p) => p.message).join('\n');
  assert.match(bad, /\[1\] base_dn: unknown placeholder \$\{password\}/);
  assert.match(bad, /\[1\] filter: 'uid=x' is not an LDAP filter in parentheses/);
});

test('config: scram with built_in_database, EMQX\'s defaults; a bad algorithm or iteration count is named', () => {
  const ok = check({ authentication: [{ mechanism: 'scram', backend: 'built_in_database' }] });
  assert.deepEqual(ok.problems, []);
  assert.deepEqual(ok.config!.authentication[0], { mechanism: 'scram', backend: 'built_in_database', enable: true, algorithm: 'sha256', iteration_count: 4096 });
  const bad = check({ authentication: [{ mechanism: 'scram', backend: 'built_in_database', algorithm: 'sha1', iteration_count: 0 }] }).problems.map((p) => p.message).join('\n');
  assert.match(bad, /\[1\] algorithm: .*sha256.*sha512/);
  assert.match(bad, /\[1\] iteration_count: /);
});

test('LDAP: values escaped for filters and DNs; RFC 2307 passwords read as EMQX reads them', async () => {
  const { escapeFilterValue, escapeDnValue } = await import('../../src/auth/ldap/escape.js');
  const { checkLdapPassword } = await import('../../src/auth/ldap/password.js');
  const { createHash } = await import('node:crypto');
  assert.equal(escapeFilterValue('a*(b)\\'), 'a\\2a\\28b\\29\\5c');
  assert.equal(escapeDnValue(' #x,y= '), '\\ #x\\,y\\=\\ ');
  const salt = Buffer.from('salt');
  const ssha = `{SSHA}${Buffer.concat([createHash('sha1').update('pw').update(salt).digest(), salt]).toString('base64')}`;
  assert.equal(checkLdapPassword(ssha, Buffer.from('pw')), true);
  assert.equal(checkLdapPassword(ssha, Buffer.from('px')), false);
  assert.equal(checkLdapPassword(`{sha256}${createHash('sha256').update('pw').digest('base64')}`, Buffer.from('pw')), true, 'scheme names are not case-sensitive');
  assert.equal(checkLdapPassword(Buffer.from(ssha).toString('base64'), Buffer.from('pw')), true, 'an LDIF base64 value');
  assert.match(String(checkLdapPassword('{CRYPT}abc', Buffer.from('pw'))), /not one of/);
  assert.match(String(checkLdapPassword('plain', Buffer.from('plain'))), /not an RFC 2307/);
});
