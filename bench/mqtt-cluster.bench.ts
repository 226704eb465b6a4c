// The cluster as one broker: what crossing a node costs, on a three-node cluster. The same load
// generator and rows as bench/mqtt (100 pairs of 16 B messages, QoS 0 and 1; latency at a fixed
// rate), with the publishers on node 1 and the subscribers on node 2, and fan-out 1 → 1,000 with
// the subscribers dealt over all three nodes, each beside the same load on a single node in the
// same run (the reference: "advantage" below 1 is the price of the hop); the latency rows once
// more with every process on one CPU, to tell the hop from the VM's cross-CPU wake-up. A subscribe storm:
// 100,000 subscriptions on node 2, until a publish on node 1 reaches the last of them. And a
// session takeover across nodes: a persistent client that moves from node 1 to node 2, CONNECT
// until the CONNACK with its session present; and a graceful stop of node 2 with 10,000
// persistent sessions on it, until they are handed to the others. Beside the latency rows, their floor: two bare
// Node.js relays (bench/mqtt/node-floor.mjs, the first copying every PUBLISH to the second)
// against one, in the same run: what any hop between two Node.js processes costs on this machine.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, connectAsync, type MqttClient } from 'mqtt';
import { allocDistBase, createTestNode, freePort, type TestNode } from '../test/helpers/launcher.js';
import type { BenchRow, BenchSection } from './types.js';

const here = new URL('.', import.meta.url).pathname;

interface Report {
  readonly ok: boolean;
  readonly error: string | null;
  readonly received_per_s: number;
  readonly lost: number;
  readonly latency_us: { readonly p50: number; readonly p99: number };
}

/** Runs the load generator; with `cpus`, on those CPUs only (taskset). */
function gen(bin: string, args: readonly string[], timeoutMs: number, cpus?: string): Promise<Report | undefined> {
  return new Promise((resolve) => {
    const argv = [...args, '--id', `cl${process.pid}x${Math.floor(Math.random() * 1e6)}`];
    const child = cpus === undefined ? spawn(bin, argv, { stdio: ['ignore', 'pipe', 'ignore'] }) : spawn('taskset', ['-c', cpus, bin, ...argv], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', () => {
      clearTimeout(timer);
      try {
        const r = JSON.parse(out) as Report;
        resolve(r.ok ? r : undefined);
      } catch {
        resolve(undefined);
      }
    });
  });
}

/** Moves every thread of each process onto `cpus` (taskset's list syntax); throws if taskset fails. */
function pin(pids: readonly number[], cpus: string): void {
  for (const pid of pids) {
    const r = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`taskset -a -p -c ${cpus} ${pid} failed: ${r.stderr || r.error?.message}`);
  }
}

/** A node-floor process on a free loopback port (forwarding every PUBLISH to `forwardPort`), once it listens. */
async function startFloor(forwardPort?: number): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const args = [join(here, 'mqtt', 'node-floor.mjs'), '--port', String(port), ...(forwardPort !== undefined ? ['--forward-port', String(forwardPort)] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('node-floor did not listen within 10 s')), 10_000);
    child.stdout!.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => reject(new Error(`node-floor exited (${code})`)));
  });
  return { child, port };
}

const median = (xs: readonly number[]): number | null => (xs.length === 0 ? null : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!);

async function storm(pubNode: TestNode, subNode: TestNode, n: number): Promise<number | null> {
  const sub: MqttClient = await connectAsync(`mqtt://127.0.0.1:${subNode.mqttPort}`, { clientId: 'storm-sub', reconnectPeriod: 0, protocolVersion: 5 });
  const pub: MqttClient = await connectAsync(`mqtt://127.0.0.1:${pubNode.mqttPort}`, { clientId: 'storm-pub', reconnectPeriod: 0, protocolVersion: 5 });
  try {
    const last = `storm/${n - 1}/x`;
    const got = new Promise<void>((resolve) => sub.on('message', (t) => t === last && resolve()));
    const started = performance.now();
    const batch = 1000;
    // Many filters per SUBSCRIBE packet, all SUBACKs awaited: then every member knows the routes.
    const pending: Array<Promise<unknown>> = [];
    for (let i = 0; i < n; i += batch) {
      const filters = Array.from({ length: Math.min(batch, n - i) }, (_, k) => `storm/${i + k}/+`);
      pending.push(sub.subscribeAsync(filters, { qos: 0 }));
    }
    await Promise.all(pending);
    await pub.publishAsync(last, 'x', { qos: 1 });
    await Promise.race([got, new Promise((_, reject) => setTimeout(() => reject(new Error('storm: the last route never reached the other node')), 60_000))]);
    return (performance.now() - started) / 1000;
  } finally {
    await Promise.all([sub.endAsync(true), pub.endAsync(true)]);
  }
}

/** ms from CONNECT on `to` until CONNACK with the session (made on `from`) present; the median of `n` moves. */
async function takeover(from: TestNode, to: TestNode, n: number): Promise<number | null> {
  const times: number[] = [];
  const opts = { clientId: 'mover', clean: false, reconnectPeriod: 0, protocolVersion: 5 as const, properties: { sessionExpiryInterval: 300 } };
  const open = (node: TestNode): Promise<{ client: MqttClient; present: boolean }> =>
    new Promise((resolve, reject) => {
      const client = connect(`mqtt://127.0.0.1:${node.mqttPort}`, opts);
      client.once('connect', (ack) => resolve({ client, present: ack.sessionPresent }));
      client.once('error', reject);
    });
  let at = from;
  let current = (await open(at)).client;
  await current.subscribeAsync('mover/#', { qos: 1 });
  for (let i = 0; i < n; i++) {
    await current.endAsync();
    at = at === from ? to : from;
    const t0 = performance.now();
    const next = await open(at);
    const ms = performance.now() - t0;
    current = next.client;
    // A move that lost the session would not be a takeover: not counted.
    if (next.present) times.push(ms);
  }
  await current.endAsync(true);
  return times.length === n ? median(times) : null;
}

/**
 * `n` persistent sessions on `stopping` (one QoS 1 subscription each, then away), `queued`
 * QoS 1 messages for each from `publishing`; then `emqx stop` on `stopping`: the seconds its log
 * says the hand-over to the members that stay took, null unless every session moved.
 */
async function evacuation(publishing: TestNode, stopping: TestNode, n: number, queued: number): Promise<number | null> {
  for (let i = 0; i < n; i += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, n - i) }, async (_, k) => {
        const id = `ev${i + k}`;
        const c = await connectAsync(`mqtt://127.0.0.1:${stopping.mqttPort}`, { clientId: id, clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 }, reconnectPeriod: 0 });
        await c.subscribeAsync(`ev/${id}`, { qos: 1 });
        await c.endAsync();
      }),
    );
  }
  const pub = await connectAsync(`mqtt://127.0.0.1:${publishing.mqttPort}`, { clientId: 'ev-pub', reconnectPeriod: 0 });
  const payload = Buffer.alloc(64);
  for (let q = 0; q < queued; q++) await Promise.all(Array.from({ length: n }, (_, i) => pub.publishAsync(`ev/ev${i}`, payload, { qos: 1 })));
  await pub.endAsync();
  if ((await stopping.stop()).code !== 0) return null;
  const line = stopping
    .logText()
    .split('\n')
    .find((l) => l.includes('handed to the members that stay'));
  const m = line ? (JSON.parse(line) as { moved?: number; left?: number; ms?: number }) : undefined;
  // At least ours: the takeover row leaves its persistent client on node 2 as well.
  return m?.moved !== undefined && m.moved >= n && m.left === 0 && typeof m.ms === 'number' ? m.ms / 1000 : null;
}

export async function run({ quick }: { quick: boolean }): Promise<BenchSection[]> {
  const work = mkdtempSync(join(tmpdir(), 'mqtt-cluster-bench-'));
  const bin = join(work, 'loadgen');
  const cc = spawnSync('cc', ['-O2', '-Wall', '-o', bin, join(here, 'mqtt', 'loadgen.c')], { encoding: 'utf8', timeout: 60_000 });
  if (cc.status !== 0) throw new Error(`cc bench/mqtt/loadgen.c failed: ${cc.stderr}`);
  const names = ['clb1@127.0.0.1', 'clb2@127.0.0.2', 'clb3@127.0.0.3'];
  const base = await allocDistBase(names);
  const nodes: TestNode[] = [];
  try {
    for (const name of names) nodes.push(await createTestNode(undefined, { name, distBasePort: base, mqtt: true }));
    for (const n of nodes) await n.startOk({ timeoutMs: 60_000 });
    const [n1, n2, n3] = nodes as [TestNode, TestNode, TestNode];
    for (const n of [n2, n3]) {
      const join = await n.ctl(['cluster', 'join', names[0]!]);
      if (join.code !== 0) throw new Error(`join failed: ${join.stdout}${join.stderr}`);
    }
    const seconds = quick ? 1 : 5;
    const rounds = quick ? 1 : 3;
    const single = (extra: readonly string[]): string[] => ['--port', String(n1.mqttPort), '--seconds', String(seconds), ...extra];
    const cross = (extra: readonly string[]): string[] => [...single(extra), '--sub-host', '127.0.0.1', '--sub-port', String(n2.mqttPort)];
    const rows: BenchRow[] = [];
    const spread = (extra: readonly string[]): string[] => [...single(extra), '--sub-host', '127.0.0.1', '--sub-port', nodes.map((n) => String(n.mqttPort)).join(',')];
    /** Rows read from the same runs (p50 and p99 of one latency run, say), each with its own pick. */
    interface Pick {
      readonly label: string;
      readonly pick: (r: Report) => number;
      readonly unit: string;
      readonly higherIsBetter: boolean;
    }
    const measureAll = async (picks: readonly Pick[], extra: string[], across = cross, n = rounds, cpus?: string, alone = single, referenceName = 'the same on one node'): Promise<void> => {
      const ours: Report[] = [];
      const ref: Report[] = [];
      for (let i = 0; i < n; i++) {
        // Interleaved, so that the machine's drift hits both alike.
        const c = await gen(bin, across(extra), (seconds + 30) * 1000, cpus);
        if (c) ours.push(c);
        const s = await gen(bin, alone(extra), (seconds + 30) * 1000, cpus);
        if (s) ref.push(s);
      }
      for (const p of picks) {
        const o = ours.map(p.pick);
        const r = ref.map(p.pick);
        rows.push({ name: p.label, unit: p.unit, ours: median(o), reference: median(r), referenceName, higherIsBetter: p.higherIsBetter, rounds: { ours: o, reference: r } });
      }
    };
    const measure = (label: string, extra: string[], pick: (r: Report) => number, unit: string, higherIsBetter: boolean, across = cross): Promise<void> =>
      measureAll([{ label, pick, unit, higherIsBetter }], extra, across);
    await measure('QoS 0, 100 pairs, 16 B, publishers on node 1, subscribers on node 2', ['--mode', 'pairs', '--clients', '100', '--qos', '0'], (r) => r.received_per_s, 'msg/s', true);
    await measure('QoS 1, 100 pairs, 16 B, across nodes (PUBACK once node 2 holds it)', ['--mode', 'pairs', '--clients', '100', '--qos', '1'], (r) => r.received_per_s, 'msg/s', true);
    // p50 and p99 from the same runs, and more of them: on this 2-core VM one run's p99 moves by
    // 2–4× from run to run (a wake-up of an idle vCPU now and then), its p50 by a few %.
    const latency = (where: string, cpus?: string): Promise<void> =>
      measureAll(
        (['p50', 'p99'] as const).map((p) => ({ label: `publish→deliver ${p} at 2,000 msg/s, across nodes${where}`, pick: (r: Report) => r.latency_us[p], unit: 'µs', higherIsBetter: false })),
        ['--mode', 'latency', '--clients', '10', '--rate', '2000'],
        cross,
        quick ? 1 : 7,
        cpus,
      );
    await latency('');
    // The floor of the rows above: the same runs through two bare Node.js relays and through one.
    const floors: Array<{ child: ChildProcess; port: number }> = [];
    try {
      const second = await startFloor();
      floors.push(second);
      const first = await startFloor(second.port);
      floors.push(first);
      const alone = await startFloor();
      floors.push(alone);
      const lat = ['--mode', 'latency', '--clients', '10', '--rate', '2000', '--seconds', String(seconds)];
      await measureAll(
        (['p50', 'p99'] as const).map((p) => ({ label: `publish→deliver ${p} at 2,000 msg/s, through two node-floor processes (the floor of the rows above)`, pick: (r: Report) => r.latency_us[p], unit: 'µs', higherIsBetter: false })),
        [],
        () => ['--port', String(first.port), '--sub-host', '127.0.0.1', '--sub-port', String(second.port), ...lat],
        quick ? 1 : 7,
        undefined,
        () => ['--port', String(alone.port), ...lat],
        'one node-floor process',
      );
    } finally {
      for (const f of floors) f.child.kill('SIGTERM');
    }
    // The same with the three nodes and the load generator on one CPU. Waking a process that
    // sleeps on the other vCPU costs this VM tens of µs (an interrupt through the hypervisor); a
    // hop between nodes adds such a wake-up to the path, one node alone mostly does not (Linux
    // wakes the broker on the CPU of the client that wrote to it). On one CPU neither path
    // crosses, and the rows show what the hop itself costs. Moderate rate: the CPU is mostly idle.
    const pids = nodes.map((n) => n.pid!);
    pin(pids, '0');
    try {
      await latency(', every process on one CPU', '0');
    } finally {
      pin(pids, `0-${availableParallelism() - 1}`);
    }
    await measure(
      'fan-out 1 → 1,000, QoS 0, 16 B, publisher on node 1, subscribers dealt over the 3 nodes',
      ['--mode', 'fanout', '--clients', '1000', '--qos', '0', '--payload', '16', '--window', '20'],
      (r) => r.received_per_s,
      'deliveries/s',
      true,
      spread,
    );
    const stormN = quick ? 10_000 : 100_000;
    const s = await storm(n1, n2, stormN).catch(() => null);
    rows.push({ name: `subscribe storm: ${stormN.toLocaleString('en')} subscriptions on node 2 until a publish on node 1 reaches the last`, unit: 's', ours: s, higherIsBetter: false });
    const moves = quick ? 5 : 50;
    const t = await takeover(n1, n2, moves).catch(() => null);
    rows.push({ name: `session takeover across nodes: a persistent client moving between node 1 and node 2, CONNECT → CONNACK with its session (median of ${moves})`, unit: 'ms', ours: t, higherIsBetter: false });
    // Last: it stops node 2.
    const evacN = quick ? 1_000 : 10_000;
    const e = await evacuation(n1, n2, evacN, 10).catch(() => null);
    rows.push({ name: `graceful stop: node 2 hands ${evacN.toLocaleString('en')} persistent sessions (10 queued QoS 1 messages of 64 B each) to nodes 1 and 3`, unit: 's', ours: e, higherIsBetter: false });
    return [{ title: 'The cluster as one broker (three nodes)', rows }];
  } finally {
    for (const n of nodes) await n.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
}
