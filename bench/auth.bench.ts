// What authentication and authorization cost: CONNECTs per second with the built_in_database
// chain (pbkdf2-sha256 at 4096 iterations, the dashboard's default) against no chain, and how
// long an established client waits for a PINGRESP meanwhile (the hashing runs on libuv's pool,
// not on the event loop), with MQTT 5 SCRAM-SHA-256 (4096 iterations: the node checks stored
// keys, the client does the PBKDF2, cached as a real client may) and with a Redis authenticator
// (salted sha256); QoS 1 PUBLISHes per
// second with no authorization source, with a 100-rule acl.conf whose every rule the topic must be
// tested against (cache on, then off), and with the remote sources asked on every PUBLISH (cache
// off): an HTTP service (its own process, answering 204) and Redis (HGETALL of the user's rules).
// Every client talks to 127.0.0.1; every node is stopped by PID.
// Run alone: `npx tsx bench/auth.bench.ts [--quick]` (after `npm run build`).
import { connect, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { percentile, type BenchRow, type BenchSection } from './types.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createTestNode, type TestNode } from '../test/helpers/launcher.js';
import { redisInstalled, startRedis, type RedisServer } from '../test/helpers/redis.js';
import { ScramClient } from '../test/helpers/scram-client.js';
import { http as httpCall, login as apiLogin } from '../test/api/http.js';

const CHAIN = `authentication = [
  { mechanism = password_based, backend = built_in_database, password_hash_algorithm { name = pbkdf2, mac_fun = sha256, iterations = 4096 } },
  { mechanism = scram, backend = built_in_database, algorithm = sha256, iteration_count = 4096 }
]`;

/** How a looping client logs in: a user name and password, or SCRAM-SHA-256 as that user. */
type Creds = { u: string; p: string; scram?: Map<string, Buffer> };

/** A minimal MQTT 5 client over a socket: packets out, a callback per packet in. */
class Conn {
  readonly socket: Socket;
  readonly #parser = mqttPacket.parser({ protocolVersion: 5 });
  onPacket: (p: Packet) => void = () => undefined;
  constructor(port: number) {
    this.socket = connect({ host: '127.0.0.1', port });
    this.socket.setNoDelay(true);
    this.socket.on('data', (d) => this.#parser.parse(d));
    this.socket.on('error', () => undefined);
    this.#parser.on('packet', (p: Packet) => this.onPacket(p));
  }
  send(p: Packet): void {
    this.socket.write(mqttPacket.generate(p, { protocolVersion: 5 }));
  }
  readonly #waiting = new Map<string, (p: Packet) => void>();
  /** The next packet of kind `cmd` (one wait per kind at a time). */
  next(cmd: string): Promise<Packet> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${cmd} within 10 s`)), 10_000);
      this.#waiting.set(cmd, (p) => {
        clearTimeout(timer);
        resolve(p);
      });
      this.onPacket = (p) => {
        const w = this.#waiting.get(p.cmd);
        this.#waiting.delete(p.cmd);
        w?.(p);
      };
    });
  }
  async login(clientId: string, creds?: Creds): Promise<number> {
    const base = { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId, clean: true, keepalive: 0 };
    if (creds?.scram) {
      const method = 'SCRAM-SHA-256';
      const scram = new ScramClient('sha256', creds.u, creds.p, undefined, creds.scram);
      const connack = this.next('connack');
      const auth = this.next('auth');
      this.send({ ...base, properties: { authenticationMethod: method, authenticationData: scram.first() } } as Packet);
      const first = (await auth) as { properties?: { authenticationData?: Buffer } };
      this.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: method, authenticationData: scram.final(first.properties!.authenticationData!) } } as Packet);
      return ((await connack) as { reasonCode?: number }).reasonCode ?? 0;
    }
    this.send({ ...base, ...(creds ? { username: creds.u, password: Buffer.from(creds.p) } : {}) } as Packet);
    const ack = (await this.next('connack')) as { reasonCode?: number };
    return ack.reasonCode ?? 0;
  }
  close(): void {
    this.socket.destroy();
  }
}

async function startNode(name: string, conf: string, acl?: string, dashboard = false): Promise<TestNode> {
  const node = await createTestNode(undefined, { name, mqtt: true, dashboard, conf });
  if (acl !== undefined) writeFileSync(join(node.etcDir, 'acl.conf'), acl);
  await node.startOk();
  return node;
}

/** CONNECT/CONNACK/close loops from `conns` clients for `ms`; and PINGREQ round trips of one idle client meanwhile. */
async function connectRate(port: number, conns: number, ms: number, creds?: Creds): Promise<{ perSec: number; pingP50: number; pingP99: number }> {
  let done = 0;
  let seq = 0;
  const until = performance.now() + ms;
  const pinger = new Conn(port);
  await pinger.login(`pinger-${process.pid}`, creds);
  const pings: number[] = [];
  const pinging = (async () => {
    while (performance.now() < until) {
      const t0 = performance.now();
      pinger.send({ cmd: 'pingreq' });
      await pinger.next('pingresp');
      pings.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: conns }, async () => {
      while (performance.now() < until) {
        const c = new Conn(port);
        const rc = await c.login(`b-${process.pid}-${seq++}`, creds);
        c.close();
        if (rc !== 0) throw new Error(`CONNACK ${rc}`);
        done++;
      }
    }),
  );
  const perSec = done / ((performance.now() - t0) / 1000);
  await pinging;
  pinger.close();
  return { perSec, pingP50: percentile(pings, 50), pingP99: percentile(pings, 99) };
}

/** QoS 1 PUBLISHes acknowledged per second by `clients` publishers together, `window` in flight each, over `ms`. */
async function publishRate(port: number, ms: number, window: number, clients = 1): Promise<number> {
  if (clients > 1) {
    const rates = await Promise.all(Array.from({ length: clients }, (_, i) => publishRate(port, ms, window, -i)));
    return rates.reduce((a, b) => a + b, 0);
  }
  const c = new Conn(port);
  if ((await c.login(`pub-${process.pid}-${-clients}`)) !== 0) throw new Error('publisher refused');
  let acked = 0;
  let id = 0;
  const until = performance.now() + ms;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const send = (): void => {
      id = (id % 65535) + 1;
      c.send({ cmd: 'publish', topic: `sensors/${id % 50}/temp`, payload: Buffer.from('21.5'), qos: 1, retain: false, dup: false, messageId: id });
    };
    c.onPacket = (p) => {
      if (p.cmd !== 'puback') return;
      acked++;
      if (performance.now() < until) send();
      else if (--window === 0) resolve();
    };
    for (let i = 0; i < window; i++) send();
  });
  const rate = acked / ((performance.now() - t0) / 1000);
  c.close();
  return rate;
}

/** 99 rules every PUBLISH is tested against (none matches sensors/...), then allow all. */
export function hundredRules(): string {
  const lines: string[] = [];
  for (let i = 0; i < 99; i++) lines.push(`{deny, all, publish, ["blocked/${i}/#", {eq, "blocked/${i}"}]}.`);
  lines.push('{allow, all}.');
  return `${lines.join('\n')}\n`;
}

/** An HTTP authorization service in a process of its own: 204 (allow) to every request; its port. */
async function httpAllowService(): Promise<{ child: ChildProcess; port: number }> {
  const script = `const s = require('node:http').createServer((q, r) => { q.resume(); q.on('end', () => { r.writeHead(204); r.end(); }); }); s.keepAliveTimeout = 60000; s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', (code) => reject(new Error(`the HTTP service exited (${code})`)));
  });
  return { child, port };
}

export async function run({ quick }: { quick: boolean }): Promise<BenchSection[]> {
  const ms = quick ? 1500 : 5000;
  const rows: BenchRow[] = [];
  const open = await startNode('authbench1@127.0.0.1', '');
  const chained = await startNode('authbench2@127.0.0.1', CHAIN, undefined, true);
  try {
    await chained.ctl(['users', 'add', 'bench', 'bench-pw']);
    const token = await apiLogin(chained.dashboardPort!);
    const added = await httpCall(chained.dashboardPort!, 'POST', `/api/v5/authentication/${encodeURIComponent('scram:built_in_database')}/users`, { token, body: { user_id: 'bench', password: 'bench-pw' } });
    if (added.status !== 201) throw new Error(`adding the SCRAM user: ${added.status} ${added.text}`);
    const none = await connectRate(open.mqttPort!, 8, ms);
    const pbkdf2 = await connectRate(chained.mqttPort!, 8, ms, { u: 'bench', p: 'bench-pw' });
    const scram = await connectRate(chained.mqttPort!, 8, ms, { u: 'bench', p: 'bench-pw', scram: new Map() });
    rows.push(
      { name: 'CONNECTs, no authentication (8 clients looping)', unit: 'conn/s', ours: none.perSec, higherIsBetter: true },
      { name: 'CONNECTs, built_in_database pbkdf2-sha256 × 4096', unit: 'conn/s', ours: pbkdf2.perSec, reference: none.perSec, referenceName: 'no authentication', higherIsBetter: true },
      { name: 'PINGREQ round trip of an idle client during those CONNECTs, p99', unit: 'ms', ours: pbkdf2.pingP99, note: `p50 ${pbkdf2.pingP50.toFixed(2)} ms; without authentication p99 ${none.pingP99.toFixed(2)} ms` },
      {
        name: 'CONNECTs, SCRAM-SHA-256 × 4096 (MQTT 5 AUTH exchange, one more round trip; the node checks stored keys)',
        unit: 'conn/s',
        ours: scram.perSec,
        reference: none.perSec,
        referenceName: 'no authentication',
        higherIsBetter: true,
        note: `idle client's PINGREQ p99 ${scram.pingP99.toFixed(2)} ms meanwhile`,
      },
    );
  } finally {
    await Promise.all([open.cleanup(), chained.cleanup()]);
  }
  let redis: RedisServer | undefined;
  let http: Awaited<ReturnType<typeof httpAllowService>> | undefined;
  try {
    if (redisInstalled()) {
      redis = await startRedis();
      redis.cli(['HSET', 'mqtt_user:bench', 'password_hash', createHash('sha256').update('s4ltbench-pw').digest('hex'), 'salt', 's4lt', 'is_superuser', '0']);
      redis.cli(['HSET', 'mqtt_acl:', 'sensors/#', 'publish']);
      const viaRedis = await startNode(
        'authbench4@127.0.0.1',
        `authentication = [{ mechanism = password_based, backend = redis, server = "127.0.0.1:${redis.port}", cmd = "HMGET mqtt_user:\${username} password_hash salt is_superuser", password_hash_algorithm { name = sha256, salt_position = prefix } }]`,
      );
      try {
        const r = await connectRate(viaRedis.mqttPort!, 8, ms, { u: 'bench', p: 'bench-pw' });
        rows.push({ name: 'CONNECTs, Redis authentication (HMGET, salted sha256)', unit: 'conn/s', ours: r.perSec, note: `idle client's PINGREQ p99 ${r.pingP99.toFixed(2)} ms meanwhile` });
      } finally {
        await viaRedis.cleanup();
      }
    } else rows.push({ name: 'CONNECTs, Redis authentication', unit: 'conn/s', ours: null, note: 'redis-server is not installed' });
    http = await httpAllowService();
    const publish: Array<[string, string, string | undefined, number?]> = [
      ['no authorization source', 'authorization.sources = []', undefined],
      ['100-rule acl.conf, cache on (EMQX default: 32 entries, 1m)', 'authorization.sources = [{ type = file, path = "${EMQX_ETC_DIR}/acl.conf" }]', hundredRules()],
      ['100-rule acl.conf, cache off', 'authorization { cache.enable = false, sources = [{ type = file, path = "${EMQX_ETC_DIR}/acl.conf" }] }', hundredRules()],
      ['an HTTP service asked on every PUBLISH (cache off): one client, whose checks wait one for another', `authorization { cache.enable = false, sources = [{ type = http, url = "http://127.0.0.1:${http.port}/authz", body { topic = "\${topic}" } }] }`, undefined],
      ['an HTTP service asked on every PUBLISH (cache off): 8 clients, the pool_size 8 connections busy', `authorization { cache.enable = false, sources = [{ type = http, url = "http://127.0.0.1:${http.port}/authz", body { topic = "\${topic}" } }] }`, undefined, 8],
      ...(redis
        ? ([
            ['Redis asked on every PUBLISH (cache off, HGETALL): one client', `authorization { cache.enable = false, sources = [{ type = redis, server = "127.0.0.1:${redis.port}", cmd = "HGETALL mqtt_acl:\${username}" }] }`, undefined],
            ['Redis asked on every PUBLISH (cache off, HGETALL): 8 clients', `authorization { cache.enable = false, sources = [{ type = redis, server = "127.0.0.1:${redis.port}", cmd = "HGETALL mqtt_acl:\${username}" }] }`, undefined, 8],
          ] as Array<[string, string, undefined, number?]>)
        : []),
    ];
    let baseline: number | undefined;
    for (const [label, conf, acl, clients] of publish) {
      const node = await startNode('authbench3@127.0.0.1', conf, acl);
      try {
        const rate = await publishRate(node.mqttPort!, ms, 100, clients);
        baseline ??= rate;
        rows.push({ name: `QoS 1 PUBLISH, ${label}`, unit: 'msg/s', ours: rate, ...(label !== 'no authorization source' ? { reference: baseline, referenceName: 'no source' } : {}), higherIsBetter: true });
      } finally {
        await node.cleanup();
      }
    }
  } finally {
    http?.child.kill();
    await redis?.stop();
  }
  return [{ title: 'Authentication and authorization', rows }];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const sections = await run({ quick: process.argv.includes('--quick') });
  for (const s of sections) for (const r of s.rows) console.log(`${r.name}: ${r.ours?.toFixed(1)} ${r.unit}${r.reference != null ? ` (reference ${r.reference.toFixed(1)})` : ''}${r.note ? ` — ${r.note}` : ''}`);
}
