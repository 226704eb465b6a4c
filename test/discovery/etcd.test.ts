import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { once } from 'node:events';
import { Etcd3 } from 'etcd3';
import { pino } from 'pino';
import type { ClusterConfig } from '../../src/config/types.js';
import { etcdKeys, etcdStrategy, type EtcdStrategy } from '../../src/discovery/etcd.js';
import { DiscoveryError } from '../../src/discovery/types.js';
import { makeCa, makeNodeCert } from '../helpers/certs.js';
import { startEtcd } from '../helpers/etcd.js';
import { stopProcess } from '../helpers/dnsmasq.js';

const logger = pino({ level: 'silent' });
const fixture = new URL('./fixtures/etcd-member.ts', import.meta.url).pathname;

/** Polls `check` until it is true; bounded. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Starts a member in its own process; resolves once it printed `ready`. */
async function member(t: { after(fn: () => unknown): void }, args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => stopProcess(child));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await until('the member process to be ready', async () => out.includes('ready') || child.exitCode !== null, 20_000);
  assert.equal(child.exitCode, null, 'member process exited early');
  return child;
}

test('etcd strategy against a real etcd', async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.stop());
  const strategies: EtcdStrategy[] = [];
  t.after(() => Promise.all(strategies.map((s) => s.close())));
  const make = (node: string, prefix = 'emqxcl', over: Partial<ClusterConfig['etcd']> = {}, lockTimeoutMs?: number): EtcdStrategy => {
    const s = etcdStrategy(node, { server: [etcd.url], prefix, node_ttl: 2000, ...over }, logger, lockTimeoutMs ? { lockTimeoutMs } : {});
    strategies.push(s);
    return s;
  };
  const raw = new Etcd3({ hosts: etcd.url });
  t.after(() => raw.close());

  await t.test('register puts <prefix>/ekkacl/nodes/<node> = <node>; discover lists every registered node', async () => {
    const a = make('emqx1@127.0.0.1');
    const b = make('emqx2@127.0.0.1');
    assert.deepEqual(await a.discover(), []);
    await a.register!();
    await b.register!();
    await b.register!(); // idempotent
    assert.equal(await raw.get('emqxcl/ekkacl/nodes/emqx1@127.0.0.1').string(), 'emqx1@127.0.0.1');
    assert.deepEqual(await a.discover(), ['emqx1@127.0.0.1', 'emqx2@127.0.0.1']);
    assert.deepEqual(await make('emqx3@127.0.0.1', 'other').discover(), [], 'another prefix is another cluster');
    await b.unregister!();
    assert.deepEqual(await a.discover(), ['emqx1@127.0.0.1']);
    await a.close();
    assert.deepEqual(await b.discover(), [], 'close revokes the lease, so the key goes at once');
  });

  await t.test('the key of a killed node expires with its lease (node_ttl)', async () => {
    const s = make('emqx9@127.0.0.1', 'ttl');
    const child = await member(t, [etcd.url, 'ttl', 'emqx5@127.0.0.1', '2000', 'register']);
    assert.deepEqual(await s.discover(), ['emqx5@127.0.0.1']);
    const killedAt = Date.now();
    process.kill(child.pid!, 'SIGKILL');
    await once(child, 'exit');
    await until('the killed node key to expire', async () => (await s.discover()).length === 0, 10_000);
    const gone = Date.now() - killedAt;
    assert.ok(gone <= 6000, `key gone after ${gone} ms, expected about node_ttl (2 s)`);
  });

  await t.test('a kept-alive registration outlives node_ttl', async () => {
    const s = make('emqx7@127.0.0.1', 'alive');
    await s.register!();
    await sleep(3500); // longer than the 2 s TTL: only the keep-alive can hold the key
    assert.deepEqual(await s.discover(), ['emqx7@127.0.0.1']);
  });

  await t.test('lock: two contenders, the second waits until the first is done', async () => {
    const a = make('emqx1@127.0.0.1', 'lk');
    const b = make('emqx2@127.0.0.1', 'lk');
    const order: string[] = [];
    let releaseA!: () => void;
    const aHolds = new Promise<void>((r) => (releaseA = r));
    let aEntered!: () => void;
    const aIn = new Promise<void>((r) => (aEntered = r));
    const pa = a.lock!(async () => {
      order.push('a in');
      aEntered();
      await aHolds;
      order.push('a out');
    });
    await aIn;
    const pb = b.lock!(async () => {
      order.push('b in');
      order.push('b out');
    });
    // b is queued: its contender key exists next to a's, and it has not entered.
    const lockPrefix = etcdKeys('lk', 'x').lockPrefix;
    assert.equal(lockPrefix, 'lk/ekkacl/lock//');
    await until('b to queue for the lock', async () => (await raw.getAll().prefix(lockPrefix).keys()).length === 2);
    assert.deepEqual(order, ['a in']);
    releaseA();
    await Promise.all([pa, pb]);
    assert.deepEqual(order, ['a in', 'a out', 'b in', 'b out']);
    assert.deepEqual(await raw.getAll().prefix(lockPrefix).keys(), [], 'both released');
  });

  await t.test('lock: gives up after the lock timeout with a clear error, and leaves no key behind', async () => {
    const a = make('emqx1@127.0.0.1', 'lt');
    const b = make('emqx2@127.0.0.1', 'lt', {}, 300);
    let release!: () => void;
    let entered!: () => void;
    const inA = new Promise<void>((r) => (entered = r));
    const pa = a.lock!(() => { entered(); return new Promise<void>((r) => (release = r)); });
    await inA;
    await assert.rejects(b.lock!(async () => assert.fail('b must not enter')), (err: unknown) => {
      assert.ok(err instanceof DiscoveryError);
      assert.match(err.message, /another node held the lock lt\/ekkacl\/lock\/\/ for more than 300 ms/);
      return true;
    });
    assert.equal((await raw.getAll().prefix('lt/ekkacl/lock//').keys()).length, 1);
    release();
    await pa;
  });

  await t.test('lock: interoperates with etcd\'s Lock API as EMQX calls it (name <prefix>/ekkacl/lock/)', async () => {
    // etcd's JSON gateway speaks the same v3 API EMQX uses over gRPC.
    const post = async (path: string, body: unknown): Promise<Record<string, string>> => {
      const res = await fetch(`${etcd.url}${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
      assert.equal(res.status, 200, `${path}: HTTP ${res.status}`);
      return (await res.json()) as Record<string, string>;
    };
    const b64 = (x: string): string => Buffer.from(x).toString('base64');
    const emqxLease = (await post('/v3/lease/grant', { TTL: 10 })).ID!;
    const held = await post('/v3/lock/lock', { name: b64('ix/ekkacl/lock/'), lease: emqxLease });
    const emqxKey = Buffer.from(held.key!, 'base64').toString();
    assert.equal(emqxKey, `ix/ekkacl/lock//${BigInt(emqxLease).toString(16)}`, 'same key space as ours');

    const ours = make('emqx2@127.0.0.1', 'ix');
    const order: string[] = [];
    const pb = ours.lock!(async () => void order.push('ours in'));
    await until('our contender key to queue behind the EMQX holder', async () => (await raw.getAll().prefix('ix/ekkacl/lock//').keys()).length === 2);
    assert.equal(order.length, 0, 'ours must not enter while the EMQX node holds the lock');
    order.push('emqx unlock');
    await post('/v3/lock/unlock', { key: held.key });
    await pb;
    assert.deepEqual(order, ['emqx unlock', 'ours in']);

    // And the other way round: an EMQX node's Lock call waits while we hold the lock.
    let release!: () => void;
    let entered!: () => void;
    const inOurs = new Promise<void>((r) => (entered = r));
    const pHold = ours.lock!(() => { entered(); return new Promise<void>((r) => (release = r)); });
    await inOurs;
    const emqxLease2 = (await post('/v3/lease/grant', { TTL: 10 })).ID!;
    let emqxGot = false;
    const pEmqx = post('/v3/lock/lock', { name: b64('ix/ekkacl/lock/'), lease: emqxLease2 }).then((r) => { emqxGot = true; return r; });
    await until('the EMQX contender key to queue', async () => (await raw.getAll().prefix('ix/ekkacl/lock//').keys()).length === 2);
    assert.equal(emqxGot, false);
    release();
    await pHold;
    const got = await pEmqx;
    assert.equal(Buffer.from(got.key!, 'base64').toString(), `ix/ekkacl/lock//${BigInt(emqxLease2).toString(16)}`);
    await post('/v3/lease/revoke', { ID: emqxLease2 });
    await post('/v3/lease/revoke', { ID: emqxLease });
  });

  await t.test('lock: a holder that dies frees the lock when its lease expires', async () => {
    const child = await member(t, [etcd.url, 'ld', 'emqx5@127.0.0.1', '2000', 'lock']);
    const s = make('emqx6@127.0.0.1', 'ld', {}, 15_000);
    process.kill(child.pid!, 'SIGKILL');
    const t0 = Date.now();
    assert.equal(await s.lock!(async () => 'got it'), 'got it');
    assert.ok(Date.now() - t0 < 10_000);
  });
});

test('etcd strategy: an etcd that is down is a DiscoveryError naming the server', async () => {
  const s = etcdStrategy('emqx@127.0.0.1', { server: ['http://127.0.0.1:9'], prefix: 'p', node_ttl: 2000 }, logger, { callTimeoutMs: 500 });
  try {
    await assert.rejects(s.discover(), (err: unknown) => {
      assert.ok(err instanceof DiscoveryError);
      assert.match(err.message, /etcd discovery failed: listing p\/ekkacl\/nodes\/ at http:\/\/127\.0\.0\.1:9: /);
      return true;
    });
  } finally {
    await s.close();
  }
});

test('etcd strategy: bad settings are refused up front, naming the key', () => {
  assert.throws(() => etcdStrategy('e@127.0.0.1', { server: [], prefix: 'p', node_ttl: 1000 }, logger), /cluster\.etcd\.server is empty/);
  assert.throws(() => etcdStrategy('e@127.0.0.1', { server: ['127.0.0.1:2379'], prefix: 'p', node_ttl: 1000 }, logger), /'127\.0\.0\.1:2379' is not an http\(s\):\/\/host:port URL/);
  assert.throws(
    () => etcdStrategy('e@127.0.0.1', { server: ['https://127.0.0.1:2379'], prefix: 'p', node_ttl: 1000, ssl_options: { enable: true, verify: 'verify_peer', cacertfile: '/nonexistent/ca.pem' } }, logger),
    /cannot read cluster\.etcd\.ssl_options\.cacertfile '\/nonexistent\/ca\.pem': ENOENT/,
  );
});

test('etcd strategy over TLS with client certificates', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'etcd-tls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const ca = await makeCa(join(dir, 'ca'));
  const server = await makeNodeCert(ca, join(dir, 'server'), 'etcd', { hosts: ['127.0.0.1', 'localhost'] });
  const client = await makeNodeCert(ca, join(dir, 'client'), 'emqx@127.0.0.1');
  const etcd = await startEtcd({ tls: { caFile: ca.certFile, certFile: server.certFile, keyFile: server.keyFile, clientCertFile: client.certFile, clientKeyFile: client.keyFile } });
  t.after(() => etcd.stop());
  const ssl = { enable: true, verify: 'verify_peer' as const, cacertfile: ca.certFile, certfile: client.certFile, keyfile: client.keyFile };
  const s = etcdStrategy('emqx@127.0.0.1', { server: [etcd.url], prefix: 'tls', node_ttl: 2000, ssl_options: ssl }, logger);
  t.after(() => s.close());
  await s.register!();
  assert.deepEqual(await s.discover(), ['emqx@127.0.0.1']);

  // Without a client certificate the server refuses us.
  const anon = etcdStrategy('emqx@127.0.0.1', { server: [etcd.url], prefix: 'tls', node_ttl: 2000, ssl_options: { enable: true, verify: 'verify_peer', cacertfile: ca.certFile } }, logger, { callTimeoutMs: 1000 });
  t.after(() => anon.close());
  await assert.rejects(anon.discover(), DiscoveryError);
});
