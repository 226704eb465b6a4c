// `cluster join` with what a busy cluster holds, between two real daemons (bin/emqx): a seed whose
// database holds 100,000 retained messages (16 B .. 64 KiB, PAYLOAD_MIX), 10,000 built-in-database
// users, bans and API keys, and a subscriber on the seed holding 100,000 subscriptions; and the
// 100,000-administrators case of the earlier join rows. Reported against two ceilings measured in
// the same run: one TCP connection between two processes over loopback, and the disk (write +
// fdatasync), since a join is durable before it is committed. The joiner's and the seed's RSS are
// sampled every 10 ms during the join.
import { spawn } from 'node:child_process';
import { open, rm } from 'node:fs/promises';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import type { BenchRow, BenchSection } from './types.js';
import { allocDistBase, createTestNode, type TestNode } from '../test/helpers/launcher.js';
import { mnesiaDir } from '../src/node/dirs.js';
import { hashPassword } from '../src/auth/authn/password-hash.js';
import { BUSY_CLUSTER, adminBatches, datasetBatches, retainedTopic, writeDataset, type LoginUser } from '../test/db/support/cluster-dataset.js';
import type { DbRecord } from '../src/db/record.js';

const AUTH_CONF = `authentication = [{
  mechanism = password_based
  backend = built_in_database
  user_id_type = username
  password_hash_algorithm { name = pbkdf2, mac_fun = sha256, iterations = 4096 }
}]
`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One connection between two processes: a child writes `totalMB` from one reused 1 MiB buffer. */
async function tcpCeilingMBps(totalMB: number): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const received = new Promise<number>((resolve) => {
    server.once('connection', (s) => {
      let n = 0;
      let t0 = 0;
      s.on('data', (d: Buffer) => {
        if (n === 0) t0 = performance.now();
        n += d.length;
        if (n >= totalMB * 1048576) {
          resolve(n / (1 << 20) / ((performance.now() - t0) / 1000));
          s.destroy();
        }
      });
    });
  });
  const src = `const s=require('net').connect(${port},'127.0.0.1');const b=Buffer.alloc(1<<20,7);let i=0;` + `const go=()=>{while(i<${totalMB}){i++;if(!s.write(b))return s.once('drain',go);}};s.on('connect',go);s.on('error',()=>{});s.on('close',()=>process.exit(0));`;
  const child = spawn(process.execPath, ['-e', src], { stdio: 'ignore' });
  try {
    return await received;
  } finally {
    child.kill();
    server.close();
  }
}

/** Sequential writes of `totalMB` (4 MiB at a time, one buffer) then one fdatasync, as a staged join writes. */
async function diskCeilingMBps(dir: string, totalMB: number): Promise<number> {
  const file = join(dir, 'disk-ceiling');
  const buf = Buffer.alloc(4 << 20, 3);
  const fh = await open(file, 'w');
  const t0 = performance.now();
  try {
    for (let off = 0; off < totalMB * 1048576; off += buf.length) await fh.write(buf, 0, buf.length, off);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  const mbps = totalMB / ((performance.now() - t0) / 1000);
  await rm(file, { force: true });
  return mbps;
}

function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** CPU time (user + system) a process has used, in ms (from /proc, in clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** Samples RSS of `pids` every 10 ms until stopped: the largest seen per pid. */
function rssSampler(pids: readonly number[]): { stop(): number[] } {
  const peak = pids.map(rssMiB);
  const timer = setInterval(() => pids.forEach((p, i) => (peak[i] = Math.max(peak[i]!, rssMiB(p)))), 10);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

async function subscribeMany(c: MqttClient, n: number): Promise<void> {
  const pending: Array<Promise<unknown>> = [];
  for (let i = 0; i < n; i += 1000) {
    const filters = Array.from({ length: Math.min(1000, n - i) }, (_, k) => `bench/route/${i + k}/+`);
    pending.push(c.subscribeAsync(filters, { qos: 0 }));
  }
  await Promise.all(pending);
}

/**
 * The joiner serves a client when a client logs in with a user the join brought, is handed a
 * retained message the join brought, and its publish reaches the subscriber on the seed through
 * the seed's routes. Resolves when all three hold.
 */
async function firstClientServed(joiner: TestNode, login: LoginUser, sub: MqttClient, lastRoute: number, retainedKey: string): Promise<void> {
  for (;;) {
    let c: MqttClient | undefined;
    try {
      c = await connectAsync(`mqtt://127.0.0.1:${joiner.mqttPort}`, { clientId: `probe-${Date.now()}`, username: login.userId, password: login.password, reconnectPeriod: 0, protocolVersion: 5, connectTimeout: 5000 });
      const retained = new Promise<void>((resolve) => c!.on('message', (t) => t === retainedKey && resolve()));
      await c.subscribeAsync(retainedKey, { qos: 0 });
      await Promise.race([retained, sleep(5000).then(() => Promise.reject(new Error('no retained message')))]);
      const topic = `bench/route/${lastRoute}/x`;
      const delivered = new Promise<void>((resolve) => sub.on('message', (t) => t === topic && resolve()));
      // Routes arrive when the link comes up as members: publish until one is delivered.
      for (let i = 0; ; i++) {
        await c.publishAsync(topic, 'hello', { qos: 0 });
        const got = await Promise.race([delivered.then(() => true), sleep(20).then(() => false)]);
        if (got) return;
        if (i > 1000) throw new Error('the publish never reached the subscriber on the seed');
      }
    } catch (err) {
      if (err instanceof Error && /never reached/.test(err.message)) throw err;
      await sleep(20);
    } finally {
      await c?.endAsync(true).catch(() => undefined);
    }
  }
}

/** A directory (in `work`) holding a `node` that runs this Node.js with `flags`. */
function flaggedNode(work: string, flags: string): string {
  const bin = join(work, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'node'), `#!/bin/sh\nexec ${process.execPath} ${flags} "$@"\n`, { mode: 0o755 });
  return bin;
}

interface Copied {
  readonly ms: number;
  readonly waitMs: number;
  readonly stageMs: number;
  readonly commitMs: number;
  readonly mbps: number;
}

/** The joiner's log line about the copy (db.ts replaceFrom): how its time was spent. */
function copiedLine(n: TestNode): Copied | undefined {
  for (const line of n.logText().split('\n').reverse()) {
    if (!line.includes("copied the cluster's database")) continue;
    try {
      return JSON.parse(line) as Copied;
    } catch {
      const num = (k: string): number => Number(new RegExp(`${k}[=:]\\s*"?(\\d+)`).exec(line)?.[1] ?? NaN);
      return { ms: num('ms'), waitMs: num('waitMs'), stageMs: num('stageMs'), commitMs: num('commitMs'), mbps: num('mbps') };
    }
  }
  return undefined;
}

interface JoinCase {
  readonly label: string;
  readonly batches: (node: string, login: LoginUser) => Iterable<DbRecord[]>;
  /** Subscriptions held on the seed (routes the joiner must have before it serves its first client). */
  readonly routes: number;
  readonly mqtt: boolean;
  readonly retainedKey?: string;
}

async function runCase(c: JoinCase, rows: BenchRow[], tcp: number, disk: number, quick: boolean, work: string): Promise<void> {
  const names = [`jseed@127.0.86.1`, `jnew@127.0.86.2`];
  const base = await allocDistBase(names, '127.0.86.1');
  const nodes: TestNode[] = [];
  let sub: MqttClient | undefined;
  try {
    // JOIN_BENCH_NODE_FLAGS: flags for both daemons' node, e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`
    // (a profile each when stopped) or `--trace-gc` (with EMQX_TEST_KEEP=1 to keep their output).
    // The join's window on the monotonic clock (as in the profiles) is printed, to cut them to it.
    // Node refuses such flags in NODE_OPTIONS, so a `node` first on the PATH adds them.
    const prof = process.env.JOIN_BENCH_NODE_FLAGS;
    const env = prof ? { PATH: `${flaggedNode(work, prof)}:${process.env.PATH ?? ''}` } : undefined;
    for (const name of names) nodes.push(await createTestNode(undefined, { name, distBasePort: base, mqtt: c.mqtt, conf: c.mqtt ? AUTH_CONF : '', ...(env ? { env } : {}) }));
    const [seed, joiner] = nodes as [TestNode, TestNode];
    const login: LoginUser = { userId: 'bench-client', password: 'bench-Passw0rd', stored: await hashPassword({ name: 'pbkdf2', mac_fun: 'sha256', iterations: 4096 }, 'bench-Passw0rd') };
    const seeded = await writeDataset(mnesiaDir(seed.dataDir, seed.name), c.batches(seed.name, login));
    await Promise.all(nodes.map((n) => n.startOk({ timeoutMs: 120_000 })));
    if (c.routes > 0) {
      sub = await connectAsync(`mqtt://127.0.0.1:${seed.mqttPort}`, { clientId: 'route-holder', username: login.userId, password: login.password, reconnectPeriod: 0, protocolVersion: 5 });
      await subscribeMany(sub, c.routes);
    }
    await sleep(quick ? 200 : 1000);
    const before = [rssMiB(seed.pid!), rssMiB(joiner.pid!)];
    const sampler = rssSampler([seed.pid!, joiner.pid!]);
    const cpu0 = [cpuMs(seed.pid!), cpuMs(joiner.pid!)];
    const t0 = performance.now();
    const mono0 = process.hrtime.bigint() / 1000n;
    const r = await joiner.ctl(['cluster', 'join', seed.name], { timeoutMs: 600_000 });
    const joinMs = performance.now() - t0;
    const cpu = [cpuMs(seed.pid!) - cpu0[0]!, cpuMs(joiner.pid!) - cpu0[1]!];
    if (prof) process.stderr.write(`join ${c.label}: monotonic µs ${mono0} .. ${process.hrtime.bigint() / 1000n}; seed pid ${seed.pid} (${seed.dir}), joiner pid ${joiner.pid} (${joiner.dir})\n`);
    if (r.code !== 0) throw new Error(`join failed: ${r.stdout}${r.stderr}`);
    let servedMs: number | undefined;
    if (c.mqtt && sub && c.retainedKey) {
      await firstClientServed(joiner, login, sub, c.routes - 1, c.retainedKey);
      servedMs = performance.now() - t0;
    }
    const peak = sampler.stop();
    const copied = copiedLine(joiner);
    await sleep(500);
    const after = [rssMiB(seed.pid!), rssMiB(joiner.pid!)];
    const mb = seeded.bytes / (1 << 20);
    const speed = mb / (joinMs / 1000);
    const label = c.label;
    rows.push({ name: `join: ${label} (${seeded.records.toLocaleString('en')} records, ${mb.toFixed(0)} MB)`, unit: 'ms', ours: joinMs, note: 'ctl cluster join until it returns' });
    rows.push({ name: `join transfer speed, ${label}`, unit: 'MB/s', ours: speed, reference: tcp, referenceName: 'loopback TCP, two processes', higherIsBetter: true, note: `${((speed / tcp) * 100).toFixed(0)}% of the TCP ceiling, ${((speed / disk) * 100).toFixed(0)}% of the disk's` });
    rows.push({ name: `join records/s, ${label}`, unit: 'records/s', ours: seeded.records / (joinMs / 1000), higherIsBetter: true });
    rows.push({ name: `CPU time during the join, seed + joiner, ${label}`, unit: 'ms', ours: cpu[0]! + cpu[1]!, note: `seed ${cpu[0]} ms, joiner ${cpu[1]} ms (user + system); ${((cpu[0]! + cpu[1]!) / mb).toFixed(1)} ms per MB` });
    if (copied) rows.push({ name: `of which the copy itself, ${label}`, unit: 'ms', ours: copied.ms, note: `joiner's log: waiting for chunks ${copied.waitMs} ms, staging ${copied.stageMs} ms, commit ${copied.commitMs} ms; ${copied.mbps} MB/s` });
    if (servedMs !== undefined) rows.push({ name: `join until the joiner serves its first client, ${label}`, unit: 'ms', ours: servedMs, note: `login with a copied user, a copied retained message, a publish reaching the seed's subscriber through its ${c.routes.toLocaleString('en')} routes` });
    rows.push({ name: `seed RSS during the join (before → peak → after), ${label}`, unit: 'MiB', ours: peak[0]! - before[0]!, note: `${before[0]!.toFixed(0)} → ${peak[0]!.toFixed(0)} → ${after[0]!.toFixed(0)} MiB; ours = peak − before` });
    rows.push({ name: `joiner RSS during the join (before → peak → after), ${label}`, unit: 'MiB', ours: peak[1]! - after[1]!, note: `${before[1]!.toFixed(0)} → ${peak[1]!.toFixed(0)} → ${after[1]!.toFixed(0)} MiB; ours = peak − after (the copy itself stays)` });
  } finally {
    await sub?.endAsync(true).catch(() => undefined);
    for (const n of nodes) await n.cleanup().catch(() => undefined);
  }
}

export async function run({ quick }: { quick: boolean }): Promise<BenchSection[]> {
  const work = mkdtempSync(join(tmpdir(), 'join-bench-'));
  const rows: BenchRow[] = [];
  try {
    // This machine's loopback swings from one second to the next: the median of rounds.
    const rounds: number[] = [];
    for (let i = 0; i < (quick ? 1 : 5); i++) rounds.push(await tcpCeilingMBps(quick ? 512 : 1024));
    const tcp = [...rounds].sort((a, b) => a - b)[Math.floor(rounds.length / 2)]!;
    rows.push({ name: 'loopback TCP ceiling (two processes, one connection)', unit: 'MB/s', ours: tcp, higherIsBetter: true, note: `raw socket, same run; median of ${rounds.map((r) => r.toFixed(0)).join(', ')}` });
    const disk = await diskCeilingMBps(work, quick ? 128 : 512);
    rows.push({ name: 'disk ceiling (sequential 4 MiB writes, one fdatasync)', unit: 'MB/s', ours: disk, higherIsBetter: true, note: 'same run, same filesystem' });
    // JOIN_BENCH_SCALE=2: twice the busy cluster's data (to see what the RSS bounds depend on).
    const k = (quick ? 10 : 1) / Number(process.env.JOIN_BENCH_SCALE ?? 1);
    const busy = { retained: Math.round(BUSY_CLUSTER.retained / k), users: Math.round(BUSY_CLUSTER.users / k), banned: Math.round(BUSY_CLUSTER.banned / k), apiKeys: BUSY_CLUSTER.apiKeys, admins: BUSY_CLUSTER.admins };
    await runCase(
      {
        label: 'busy cluster',
        batches: (node, login) => datasetBatches({ ...busy, seed: 20, node }, 1000, login),
        routes: Math.round(100_000 / k),
        mqtt: true,
        retainedKey: retainedTopic(busy.retained - 1),
      },
      rows,
      tcp,
      disk,
      quick,
      work,
    );
    const admins = Math.round(100_000 / k);
    await runCase({ label: `${admins.toLocaleString('en')} admins`, batches: (node) => adminBatches(admins, 21, node), routes: 0, mqtt: false }, rows, tcp, disk, quick, work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return [{ title: 'Cluster join with a busy cluster\'s data (two daemons)', rows }];
}
