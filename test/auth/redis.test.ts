// Redis authentication and authorization against a running node, a real redis-server (with a
// password) and real clients: users from `HMGET mqtt_user:${username} password_hash salt
// is_superuser` (salted sha256, a superuser), rules from `HGETALL mqtt_acl:${username}` (an
// action, or JSON with qos; a value that is neither is skipped), the checks falling through while
// Redis is down and the node serving again once it is back.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createTestNode, type TestNode } from '../helpers/launcher.js';
import { poll, RawClient, uniq } from '../helpers/mqtt-client.js';
import { skipOrFail } from '../helpers/prerequisite.js';
import { redisInstalled, startRedis, startRedisCluster, startSentinel, type RedisServer } from '../helpers/redis.js';
import { connackCode, pubackCode, rawSession, subackCodes } from './helpers.js';

const REDIS_PW = 'redis-secret';

/** EMQX's sha256 with the salt first: hex of sha256(salt + password). */
const hashed = (salt: string, password: string): string => createHash('sha256').update(salt + password).digest('hex');

function load(r: Pick<RedisServer, 'cli'>): void {
  r.cli(['HSET', 'mqtt_user:alice', 'password_hash', hashed('s4lt', 'alice-pw'), 'salt', 's4lt', 'is_superuser', '0']);
  r.cli(['HSET', 'mqtt_user:root', 'password_hash', hashed('x', 'root-pw'), 'salt', 'x', 'is_superuser', '1']);
  r.cli(['HSET', 'mqtt_acl:alice', 'devices/${username}/#', 'publish', 'cmd/alice', '{"action":"subscribe","qos":[0,1]}', 'odd/rule', 'nonsense']);
}

/** A node whose only authenticator is Redis, reached as `conn` says (redis_type and servers). */
async function redisAuthnNode(name: string, conn: string): Promise<TestNode> {
  const node = await createTestNode(undefined, {
    name,
    mqtt: true,
    conf: `authentication = [{
  mechanism = password_based, backend = redis, password = "${REDIS_PW}", ${conn}
  cmd = "HMGET mqtt_user:\${username} password_hash salt is_superuser"
  password_hash_algorithm { name = sha256, salt_position = prefix }
}]`,
  });
  await node.startOk();
  return node;
}

/** The CONNACK code a login gets. */
async function login(node: TestNode, username: string, password: string): Promise<number> {
  const r = await connackCode(node.mqttPort!, 5, `l-${uniq()}`, { username, password: Buffer.from(password) });
  r.raw.destroy();
  return r.rc;
}

describe('Redis authentication and authorization', () => {
  let redis: RedisServer | undefined;
  let node: TestNode;

  before(async () => {
    if (!redisInstalled()) return;
    redis = await startRedis({ password: REDIS_PW });
    load(redis);
    const conn = `server = "127.0.0.1:${redis.port}", password = "${REDIS_PW}"`;
    node = await createTestNode(undefined, {
      name: 'authredis@127.0.0.1',
      mqtt: true,
      conf: `authentication = [{
  mechanism = password_based, backend = redis, redis_type = single, ${conn}, database = 0
  cmd = "HMGET mqtt_user:\${username} password_hash salt is_superuser"
  password_hash_algorithm { name = sha256, salt_position = prefix }
}]
authorization {
  no_match = deny
  sources = [{ type = redis, ${conn}, cmd = "HGETALL mqtt_acl:\${username}" }]
}`,
    });
    await node.startOk();
  });

  after(async () => {
    RawClient.destroyAll();
    await node?.cleanup();
    await redis?.stop();
  });

  const needRedis = (t: TestContext): boolean => {
    if (redis) return true;
    skipOrFail(t, 'redis-server (Debian package redis-server)');
    return false;
  };
  const conn = (username: string, password: string): Promise<number> => login(node, username, password);

  test('users from the hash: the right password connects, a wrong one and an unknown user do not', async (t) => {
    if (!needRedis(t)) return;
    assert.equal(await conn('alice', 'alice-pw'), 0);
    assert.equal(await conn('alice', 'wrong'), 0x86);
    assert.notEqual(await conn('nobody', 'x'), 0, 'unknown to Redis, and no other authenticator');
  });

  test("the user's rules decide; a superuser is not checked", async (t) => {
    if (!needRedis(t)) return;
    const alice = await rawSession(node.mqttPort!, 5, `a-${uniq()}`, { username: 'alice', password: Buffer.from('alice-pw') });
    assert.ok((await pubackCode(alice, 'devices/alice/temp')) < 0x80, 'publish under devices/${username}/#');
    assert.equal(await pubackCode(alice, 'devices/bob/temp'), 0x87);
    assert.deepEqual(await subackCodes(alice, ['cmd/alice'], 1), [1]);
    assert.deepEqual(await subackCodes(alice, ['cmd/alice'], 2), [0x87], 'the rule allows QoS 0 and 1 only');
    assert.deepEqual(await subackCodes(alice, ['devices/alice/temp'], 0), [0x87], 'publish only');
    assert.deepEqual(await subackCodes(alice, ['odd/rule'], 0), [0x87], 'a value that is not a rule allows nothing');
    await poll(() => (node.logText().includes('rules skipped: odd/rule') ? true : undefined), 5000, 'the skipped rule in the log');
    const root = await rawSession(node.mqttPort!, 5, `r-${uniq()}`, { username: 'root', password: Buffer.from('root-pw') });
    assert.deepEqual(await subackCodes(root, ['anything/#']), [1]);
    alice.destroy();
    root.destroy();
  });

  test('a chain that cannot be built (a CA file gone) leaves no Redis connection behind', async (t) => {
    if (!needRedis(t)) return;
    const { AuthnChain } = await import('../../src/auth/authn/chain.js');
    const clients = (): number => Number(/connected_clients:(\d+)/.exec(redis!.cli(['info', 'clients']))?.[1]);
    const before = clients();
    const chain = new AuthnChain(undefined as never, undefined as never);
    const redisAuthn = { mechanism: 'password_based', backend: 'redis', enable: true, redis_type: 'single', servers: [{ host: '127.0.0.1', port: redis!.port }], database: 0, password: REDIS_PW, cmd: ['HGET', 'k', 'password'], password_hash_algorithm: { name: 'plain', salt_position: 'disable' } } as const;
    const httpAuthn = { mechanism: 'password_based', backend: 'http', enable: true, method: 'post', url: 'https://127.0.0.1:1/', headers: {}, body: {}, request_timeout: 1000, pool_size: 1, ssl: { verify: true, cacertfile: '/nonexistent/ca.pem' } } as const;
    assert.throws(() => chain.configure([redisAuthn, httpAuthn]), /ENOENT/);
    // Long enough for a connection that was not closed to be made and counted.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(clients(), before, 'the Redis authenticator built for the failed chain was closed');
  });

  test('Redis down: checks fall through at once and the node keeps serving; back up, it is used again', async (t) => {
    if (!needRedis(t)) return;
    const alice = await rawSession(node.mqttPort!, 5, `d-${uniq()}`, { username: 'alice', password: Buffer.from('alice-pw') });
    const port = redis!.port;
    await redis!.stop();
    const t0 = Date.now();
    assert.equal(await pubackCode(alice, 'devices/alice/uncached'), 0x87, 'no answer: no_match = deny');
    assert.ok(Date.now() - t0 < 3000, `answered in ${Date.now() - t0} ms`);
    assert.notEqual(await conn('alice', 'alice-pw'), 0, 'the only authenticator cannot answer');
    assert.equal((await node.ctl(['status'])).code, 0);
    assert.match(node.logText(), /authentication: redis decided nothing: the query failed: Redis at 127\.0\.0\.1:\d+ is not connected/);

    redis = await startRedis({ password: REDIS_PW, port });
    load(redis);
    // ioredis reconnects on its own, backing off to 2 s between attempts.
    await poll(async () => ((await conn('alice', 'alice-pw')) === 0 ? true : undefined), 15_000, 'a connect once Redis is back', 250);
    assert.ok((await pubackCode(alice, 'devices/alice/again')) < 0x80);
    alice.destroy();
  });
});

describe('Redis authentication against a Redis cluster (redis_type = cluster)', () => {
  let cluster: Awaited<ReturnType<typeof startRedisCluster>> | undefined;
  let node: TestNode;

  before(async () => {
    if (!redisInstalled()) return;
    cluster = await startRedisCluster(REDIS_PW);
    load(cluster);
    node = await redisAuthnNode('authrediscl@127.0.0.1', `redis_type = cluster, servers = "${cluster.nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}"`);
  });

  after(async () => {
    await node?.cleanup();
    await cluster?.stop();
  });

  test('users whose keys live on different members of the Redis cluster are found', async (t) => {
    if (!cluster) return skipOrFail(t, 'redis-server (Debian package redis-server)');
    // The two keys live on different members: the client follows the cluster's slot map.
    const owner = (key: string): string => {
      const slot = Number(cluster!.cli(['cluster', 'keyslot', key]).trim());
      const line = cluster!
        .cli(['cluster', 'nodes'])
        .split('\n')
        .find((l) => l.split(' ').slice(8).some((r) => { const [a, b] = r.split('-').map(Number); return slot >= a! && slot <= (b ?? a)!; }));
      return line?.split(' ')[1] ?? '';
    };
    assert.notEqual(owner('mqtt_user:alice'), owner('mqtt_user:root'));
    assert.equal(await login(node, 'alice', 'alice-pw'), 0);
    assert.equal(await login(node, 'root', 'root-pw'), 0);
    assert.equal(await login(node, 'alice', 'nope'), 0x86);
  });
});

describe('Redis authentication through a Sentinel (redis_type = sentinel)', () => {
  let master: RedisServer | undefined;
  let sentinel: Awaited<ReturnType<typeof startSentinel>> | undefined;
  let node: TestNode;

  before(async () => {
    if (!redisInstalled()) return;
    master = await startRedis({ password: REDIS_PW });
    load(master);
    sentinel = await startSentinel(master, 'mymaster', REDIS_PW);
    node = await redisAuthnNode('authredissn@127.0.0.1', `redis_type = sentinel, sentinel = mymaster, servers = "127.0.0.1:${sentinel.port}"`);
  });

  after(async () => {
    await node?.cleanup();
    await sentinel?.stop();
    await master?.stop();
  });

  test('the master the Sentinel names is asked', async (t) => {
    if (!master) return skipOrFail(t, 'redis-server (Debian package redis-server)');
    assert.equal(await login(node, 'alice', 'alice-pw'), 0);
    assert.equal(await login(node, 'alice', 'nope'), 0x86);
  });
});
