// The MQTT broker side by side with mosquitto 2.0 (Debian) and aedes 1.x (npm), same clients,
// same run: throughput 1:1 (QoS 0 and 1, 100 pairs, 16 B), fan-out 1 -> 1,000, fan-in 1,000 -> 1,
// publish->deliver latency at a fixed moderate rate, connection rate, and RSS per idle connection.
// A fourth column, node-floor (bench/mqtt/node-floor.mjs), is the least a Node.js process must do
// to answer the latency, connection and idle rows (no broker work at all): what it cannot reach,
// no Node.js broker reaches on this machine.
//
// The clients are bench/mqtt/loadgen.c, compiled here with `cc -O2` into a temporary directory:
// one epoll thread writing MQTT frames by hand, so that it costs a fraction of a core where a
// broker spends a whole one. Its own CPU share is shown beside every figure, with the broker's
// (utime + stime from /proc/<pid>/stat over the measured interval only).
//
// Method: every round starts each broker afresh and runs every row against it; the order of the
// brokers rotates from round to round, so that drift of the machine (others' work, thermal,
// caches) hits all three alike. A row's figure is the median of its rounds. Each run of the
// generator has a warm-up (traffic flows, nothing is counted) before its measured interval.
//
// Our broker starts through bin/emqx (test/helpers/launcher.ts: a sandbox with its own etc/, data/
// and log/) with `listeners.tcp.default` on a free loopback port. Until it serves MQTT, its
// figures are n/a and the references are still measured.
//
// Everything runs on 127.0.0.0/8; every process started here is stopped by its PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchRow, BenchSection } from '../types.js';
import { createTestNode, freePort, ROOT, type TestNode } from '../../test/helpers/launcher.js';

const here = new URL('.', import.meta.url).pathname;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Settings. A full run: 3 rounds of 5 s per row. Environment overrides are for development
// (short runs on a shared machine), never for published figures.

interface Settings {
  readonly rounds: number;
  /** Measured seconds per run of the generator (after its warm-up). */
  readonly seconds: number;
  readonly warmup: number;
  /** Idle connections held for the RSS row. */
  readonly idle: number;
  readonly brokers: ReadonlySet<BrokerKey>;
  /** Run keys (`idle`, `qos0-pairs`, ...) to run; all when absent. */
  readonly rows: ReadonlySet<string> | undefined;
}

type BrokerKey = 'ours' | 'mosquitto' | 'aedes' | 'floor';
const REFERENCES = ['mosquitto', 'aedes', 'floor'] as const;

/** The soft open-file limit every process started here inherits (the brokers included). */
function openFileLimit(): number {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return m && m[1] !== 'unlimited' ? Number(m[1]) : 1_048_576;
}

/** Descriptors kept free in every process for what is not a client connection. */
const FD_SPARE = 1000;
/** Goal of the issue: 50,000 idle connections; a broker holds as many as its descriptors allow. */
const IDLE_GOAL = 50_000;

function settings(quick: boolean): Settings {
  const env = (k: string): number | undefined => (process.env[k] ? Number(process.env[k]) : undefined);
  const brokers = (process.env.MQTT_BENCH_BROKERS ?? 'ours,mosquitto,aedes,floor').split(',') as BrokerKey[];
  return {
    rounds: env('MQTT_BENCH_ROUNDS') ?? (quick ? 1 : 3),
    seconds: env('MQTT_BENCH_SECONDS') ?? (quick ? 1 : 5),
    warmup: quick ? 0.5 : 1,
    idle: env('MQTT_BENCH_IDLE') ?? Math.min(IDLE_GOAL, openFileLimit() - FD_SPARE),
    brokers: new Set(brokers),
    rows: process.env.MQTT_BENCH_ROWS ? new Set(process.env.MQTT_BENCH_ROWS.split(',')) : undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// Processes and /proc

const CLK_TCK = ((): number => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
})();

/** utime + stime of a process (all its threads), in seconds. */
function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK; // fields 14 and 15 of proc(5)
  } catch {
    return null;
  }
}

function rssMiB(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

function openFiles(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** SIGTERM by PID, SIGKILL after `graceMs`; resolves once the child has exited. */
async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.pid === undefined || !alive(child)) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.pid !== undefined && alive(child)) process.kill(child.pid, 'SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

/** The last `max` characters a stream wrote (for error messages), without holding everything. */
function tail(stream: NodeJS.ReadableStream | null, max = 2000): () => string {
  let text = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (d: string) => {
    text = (text + d).slice(-max);
  });
  return () => text.trim();
}

/** A CONNECT (MQTT 3.1.1, clean session) answered by a CONNACK within `timeoutMs`. */
function answersMqtt(port: number, timeoutMs: number): Promise<boolean> {
  const id = Buffer.from(`bench-probe-${process.pid}`);
  const body = Buffer.concat([Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 30, 0, id.length]), id]);
  const frame = Buffer.concat([Buffer.from([0x10, body.length]), body]);
  return new Promise((resolve) => {
    const sock = connect({ port, host: '127.0.0.1' });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('connect', () => sock.write(frame));
    sock.once('data', (d: Buffer) => done(d[0] === 0x20 && d.length >= 4 && d[3] === 0));
    sock.once('error', () => done(false));
    sock.once('close', () => done(false));
  });
}

async function untilMqtt(port: number, timeoutMs: number, gone: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !gone()) {
    if (await answersMqtt(port, Math.min(1000, Math.max(100, deadline - Date.now())))) return true;
    await sleep(50);
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Brokers

interface RunningBroker {
  readonly pid: number;
  readonly port: number;
  stop(): Promise<void>;
}

interface BrokerDef {
  readonly key: BrokerKey;
  label: string;
  /** A running broker, or why there is none. */
  start(work: string): Promise<RunningBroker | string>;
}

function mosquittoVersion(): string {
  const r = spawnSync('mosquitto', ['-h'], { encoding: 'utf8' });
  const m = /mosquitto version (\S+)/.exec(`${r.stdout}${r.stderr}`);
  return m ? `mosquitto ${m[1]}` : 'mosquitto';
}

function aedesVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'aedes', 'package.json'), 'utf8')) as { version: string };
    return `aedes ${pkg.version}`;
  } catch {
    return 'aedes';
  }
}

/** A broker that is a child process of ours, ready once it answers MQTT. */
async function startChild(cmd: string, args: readonly string[], port: number, what: string): Promise<RunningBroker | string> {
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT });
  } catch (err) {
    return `${what}: ${String(err)}`;
  }
  const out = tail(child.stdout);
  const err = tail(child.stderr);
  child.once('error', () => undefined); // reported through alive() and the output below
  if (!(await untilMqtt(port, 10_000, () => !alive(child))) || child.pid === undefined) {
    await stopChild(child);
    return `${what} did not answer MQTT on 127.0.0.1:${port}: ${out()} ${err()}`.trim();
  }
  return { pid: child.pid, port, stop: () => stopChild(child) };
}

const mosquitto: BrokerDef = {
  key: 'mosquitto',
  label: mosquittoVersion(),
  async start(work) {
    const port = await freePort();
    const conf = join(work, `mosquitto-${port}.conf`);
    // Defaults otherwise: queue and inflight limits as shipped. Nagle off as EMQX's listeners
    // (tcp_options.nodelay) and aedes here, so latency rows compare brokers, not Nagle.
    writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'set_tcp_nodelay true', 'log_dest stderr', 'log_type error', ''].join('\n'));
    return startChild('mosquitto', ['-c', conf], port, 'mosquitto');
  },
};

const aedes: BrokerDef = {
  key: 'aedes',
  label: aedesVersion(),
  async start() {
    const port = await freePort();
    return startChild(process.execPath, [join(here, 'aedes-server.mjs'), '--port', String(port)], port, 'aedes');
  },
};

const floor: BrokerDef = {
  key: 'floor',
  label: `node-floor (Node.js ${process.version})`,
  async start() {
    const port = await freePort();
    return startChild(process.execPath, [join(here, 'node-floor.mjs'), '--port', String(port)], port, 'node-floor');
  },
};

let ourSeq = 0;
const ours: BrokerDef = {
  key: 'ours',
  label: 'ours',
  async start() {
    const port = await freePort();
    let node: TestNode | undefined;
    try {
      // The launcher turns the default listeners off through the environment: this one back on.
      node = await createTestNode(undefined, {
        name: `mqttbench${++ourSeq}@127.0.0.1`,
        conf: `listeners.tcp.default { bind = "127.0.0.1:${port}" }`,
        env: { EMQX_LISTENERS__TCP__DEFAULT__ENABLE: 'true' },
      });
      const r = await node.start({ timeoutMs: 60_000 });
      if (r.code !== 0 || node.pid === undefined) throw new Error(`emqx start failed (exit ${r.code}): ${(r.stdout + r.stderr).trim().slice(0, 500)}`);
      const pid = node.pid;
      if (!(await untilMqtt(port, 3000, () => false))) throw new Error(`nothing answered MQTT on 127.0.0.1:${port} (listeners.tcp.default) after emqx start`);
      const n = node;
      return { pid, port, stop: () => n.cleanup() };
    } catch (err) {
      await node?.cleanup();
      return err instanceof Error ? err.message : String(err);
    }
  },
};

// ---------------------------------------------------------------------------------------------
// The load generator

interface GenReport {
  readonly ok: boolean;
  readonly error: string | null;
  readonly seconds: number;
  readonly sent_per_s: number;
  readonly received_per_s: number;
  readonly lost: number;
  readonly stalls: number;
  readonly late: number;
  readonly connects_per_s: number;
  readonly connect_errors: number;
  readonly connected: number;
  readonly latency_us: { readonly count: number; readonly p50: number; readonly p99: number; readonly max: number };
  readonly cpu_seconds: number;
  readonly cpu_user_seconds: number;
  readonly cpu_share: number;
}

/** One run of the generator against one broker, with the broker's CPU over the same interval. */
interface GenRun {
  readonly report: GenReport | null;
  readonly brokerCpuShare: number | null;
  readonly brokerRssMiB: number | null;
  readonly error: string | null;
}

function buildLoadgen(dir: string): string {
  const bin = join(dir, 'loadgen');
  const r = spawnSync('cc', ['-O2', '-Wall', '-o', bin, join(here, 'loadgen.c')], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`cc -O2 bench/mqtt/loadgen.c failed: ${r.error?.message ?? ''}${r.stderr}`);
  return bin;
}

let genSeq = 0;
/** Client ids and topics unique per run, so that nothing meets a leftover of an earlier run. */
const genId = (): string => `b${process.pid % 100000}r${++genSeq}`;

function runGen(bin: string, args: readonly string[], brokerPid: number, timeoutMs: number): Promise<GenRun> {
  return new Promise((resolve) => {
    const child = spawn(bin, [...args, '--id', genId()], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let cpu0: number | null = null;
    let t0 = 0;
    let brokerCpuShare: number | null = null;
    let brokerRssMiB: number | null = null;
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      // the measured interval, as the generator sees it: the broker's CPU is read at its edges
      if (cpu0 === null && stderr.includes('measure-start')) {
        cpu0 = cpuSeconds(brokerPid);
        t0 = performance.now();
      }
      if (brokerCpuShare === null && cpu0 !== null && stderr.includes('measure-end')) {
        const cpu1 = cpuSeconds(brokerPid);
        const secs = (performance.now() - t0) / 1000;
        brokerCpuShare = cpu1 === null || secs <= 0 ? null : (cpu1 - cpu0) / secs;
        brokerRssMiB = rssMiB(brokerPid);
      }
    });
    const timer = setTimeout(() => {
      if (child.pid !== undefined && alive(child)) process.kill(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ report: null, brokerCpuShare: null, brokerRssMiB: null, error: err.message });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      let report: GenReport | null = null;
      try {
        report = JSON.parse(stdout) as GenReport;
      } catch {
        /* no report: the error below says why */
      }
      const error = report?.ok ? null : (report?.error ?? `load generator exited (${signal ?? code}) without a report: ${stderr.slice(-500)}`);
      resolve({ report, brokerCpuShare, brokerRssMiB, error });
    });
  });
}

/** Idle row: connections spread over generator processes and 127.0.0.x source addresses. */
async function runIdle(
  bin: string,
  broker: RunningBroker,
  total: number,
): Promise<{ kibPerConn: number | null; connected: number; genCpuShare: number | null; error: string | null; brokerFds: number | null; baselineMiB: number | null; rssMiB: number | null }> {
  const baseline = rssMiB(broker.pid);
  // Each generator process holds at most what its own descriptors allow.
  const perGen = Math.max(1, openFileLimit() - FD_SPARE);
  const gens = Math.ceil(total / perGen);
  // ~28,000 ephemeral ports per source address: 16 addresses per generator leave ample room.
  const SOURCES = 16;
  const children: ChildProcess[] = [];
  const readies: Promise<number>[] = [];
  const reports: Promise<string>[] = [];
  for (let g = 0; g < gens; g++) {
    const n = Math.min(perGen, total - g * perGen);
    const child = spawn(
      bin,
      ['--mode', 'idle', '--port', String(broker.port), '--clients', String(n), '--keepalive', '3600', '--seconds', '120', '--timeout', '60', '--concurrency', '256', '--src-base', String(2 + g * SOURCES), '--src-count', String(SOURCES), '--id', genId()],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    reports.push(new Promise((r) => child.once('close', () => r(out))));
    readies.push(
      new Promise((resolve) => {
        let err = '';
        child.stderr!.setEncoding('utf8').on('data', (d: string) => {
          err += d;
          const m = /ready (\d+)/.exec(err);
          if (m) resolve(Number(m[1]));
        });
        child.once('close', () => resolve(0));
      }),
    );
  }
  try {
    const connected = (await Promise.all(readies)).reduce((a, b) => a + b, 0);
    // Let the broker finish what it allocates per connection (buffers, timers) before reading RSS.
    await sleep(2000);
    const rss = rssMiB(broker.pid);
    const brokerFds = openFiles(broker.pid);
    await Promise.all(children.map((c) => stopChild(c)));
    const parsed = (await Promise.all(reports)).map((s) => {
      try {
        return JSON.parse(s) as GenReport;
      } catch {
        return null;
      }
    });
    const error = parsed.find((p) => p?.error)?.error ?? (connected < total ? `${connected} of ${total} connections held` : null);
    const cpu = parsed.reduce((a, p) => a + (p?.cpu_seconds ?? 0), 0);
    const secs = Math.max(...parsed.map((p) => p?.seconds ?? 0));
    return {
      kibPerConn: connected > 0 && rss !== null && baseline !== null ? ((rss - baseline) * 1024) / connected : null,
      connected,
      genCpuShare: secs > 0 ? cpu / secs : null,
      error,
      brokerFds,
      baselineMiB: baseline,
      rssMiB: rss,
    };
  } finally {
    await Promise.all(children.map((c) => stopChild(c, 2000)));
  }
}

// ---------------------------------------------------------------------------------------------
// Rows

interface Measure {
  readonly name: string;
  readonly unit: string;
  readonly higherIsBetter: boolean;
  readonly pick: (r: GenReport) => number | null;
}

interface RunDef {
  readonly key: string;
  /** Generator arguments (port and id are added). */
  readonly args: readonly string[];
  readonly measures: readonly Measure[];
  /**
   * Brokers this row is not run against: node-floor runs the latency, connection and idle rows
   * only, where doing least is the floor (its one write per message is no floor for throughput).
   */
  readonly skip?: readonly BrokerKey[];
}

const LATENCY_RATE = 2000;
const CONNECT_CONCURRENCY = 64;

function runDefs(): RunDef[] {
  const perSecond = (r: GenReport): number | null => (r.received_per_s > 0 ? r.received_per_s : null);
  return [
    {
      key: 'qos0-pairs',
      args: ['--mode', 'pairs', '--clients', '100', '--qos', '0', '--payload', '16', '--window', '100'],
      measures: [{ name: 'QoS 0 throughput, 100 pairs, 16 B', unit: 'msg/s', higherIsBetter: true, pick: perSecond }],
      skip: ['floor'],
    },
    {
      key: 'qos1-pairs',
      args: ['--mode', 'pairs', '--clients', '100', '--qos', '1', '--payload', '16', '--window', '100', '--inflight', '64'],
      measures: [{ name: 'QoS 1 throughput, 100 pairs, 16 B', unit: 'msg/s', higherIsBetter: true, pick: perSecond }],
      skip: ['floor'],
    },
    {
      key: 'fanout',
      // 20 messages outstanding per subscriber: within every broker's per-client queue
      args: ['--mode', 'fanout', '--clients', '1000', '--qos', '0', '--payload', '16', '--window', '20'],
      measures: [{ name: 'fan-out 1 → 1,000 subscribers, QoS 0, 16 B', unit: 'deliveries/s', higherIsBetter: true, pick: perSecond }],
      skip: ['floor'],
    },
    {
      key: 'fanin',
      // one message outstanding per publisher: 1,000 at most queued for the one subscriber
      args: ['--mode', 'fanin', '--clients', '1000', '--qos', '0', '--payload', '16', '--window', '1'],
      measures: [{ name: 'fan-in 1,000 → 1, QoS 0, 16 B', unit: 'msg/s', higherIsBetter: true, pick: perSecond }],
      skip: ['floor'],
    },
    {
      key: 'latency',
      args: ['--mode', 'latency', '--clients', '10', '--qos', '0', '--payload', '16', '--rate', String(LATENCY_RATE)],
      measures: [
        { name: `publish→deliver latency at ${LATENCY_RATE.toLocaleString('en')} msg/s (10 pairs, QoS 0), p50`, unit: 'µs', higherIsBetter: false, pick: (r) => (r.latency_us.count > 0 ? r.latency_us.p50 : null) },
        { name: `publish→deliver latency at ${LATENCY_RATE.toLocaleString('en')} msg/s (10 pairs, QoS 0), p99`, unit: 'µs', higherIsBetter: false, pick: (r) => (r.latency_us.count > 0 ? r.latency_us.p99 : null) },
      ],
    },
    {
      key: 'connect',
      // Source addresses of their own (127.0.0.128+), away from the idle row's: the TIME_WAIT
      // sockets that closing thousands of connections a second leaves behind stay out of its way.
      args: ['--mode', 'connect', '--clients', String(CONNECT_CONCURRENCY), '--src-base', '128', '--src-count', '64'],
      measures: [{ name: `connection rate (CONNECT, CONNACK, DISCONNECT; ${CONNECT_CONCURRENCY} at once)`, unit: 'connects/s', higherIsBetter: true, pick: (r) => (r.connects_per_s > 0 ? r.connects_per_s : null) }],
    },
  ];
}

/** What one broker did in one round of one run. */
interface Sample {
  readonly values: readonly (number | null)[];
  readonly generatorCpu: number | null;
  readonly brokerCpu: number | null;
  readonly brokerRssMiB: number | null;
  readonly detail: Record<string, unknown>;
  readonly error: string | null;
}

function median(xs: readonly (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

const pct = (x: number | null): string => (x === null ? 'n/a' : `${Math.round(x * 100)} %`);
/** `mosquitto 2.0.11` -> `mosquitto`: the table's notes name brokers briefly. */
const short = (label: string): string => label.split(' ')[0]!;

interface MqttRow extends BenchRow {
  /** Per broker: the median, each round's figure, and CPU of broker and generator in each. */
  readonly brokers: Record<string, { median: number | null; rounds: (number | null)[]; brokerCpu: (number | null)[]; generatorCpu: (number | null)[]; brokerRssMiB: (number | null)[]; errors: string[]; detail: Record<string, unknown>[] }>;
}

export async function run({ quick }: { quick: boolean }): Promise<BenchSection[]> {
  const cfg = settings(quick);
  const work = mkdtempSync(join(tmpdir(), 'emqx-mqtt-bench-'));
  try {
    const bin = buildLoadgen(work);
    const defs = runDefs().filter((d) => !cfg.rows || cfg.rows.has(d.key));
    const runIdleRow = !cfg.rows || cfg.rows.has('idle');
    const brokers = [ours, mosquitto, aedes, floor].filter((b) => cfg.brokers.has(b.key));
    const idleName = `RSS per idle connection (${cfg.idle.toLocaleString('en')} connections from 127.0.0.x)`;
    const idleMeasure: Measure = { name: idleName, unit: 'KiB', higherIsBetter: false, pick: () => null };
    // samples[run key][broker key] = one Sample per round
    const samples = new Map<string, Map<BrokerKey, Sample[]>>();
    const add = (run: string, b: BrokerKey, s: Sample): void => {
      const byBroker = samples.get(run) ?? new Map<BrokerKey, Sample[]>();
      samples.set(run, byBroker);
      byBroker.set(b, [...(byBroker.get(b) ?? []), s]);
    };
    const unavailable = new Map<BrokerKey, string>();
    const genTimeout = (cfg.warmup + cfg.seconds + 60 + 5) * 1000;
    const common = ['--seconds', String(cfg.seconds), '--warmup', String(cfg.warmup), '--timeout', '30'];

    for (let round = 0; round < cfg.rounds; round++) {
      const order = brokers.map((_, i) => brokers[(i + round) % brokers.length]!);
      for (const def of order) {
        if (unavailable.has(def.key)) continue;
        process.stderr.write(`bench: mqtt round ${round + 1}/${cfg.rounds}: ${def.label}\n`);
        const b = await def.start(work);
        if (typeof b === 'string') {
          // A broker that did not start has no figures this run (ours until it serves MQTT).
          unavailable.set(def.key, b);
          process.stderr.write(`bench: mqtt: ${def.label} n/a: ${b}\n`);
          continue;
        }
        try {
          await sleep(1000); // the baseline RSS of the idle row is that of a settled, fresh broker
          const idle = runIdleRow ? await runIdle(bin, b, cfg.idle) : undefined;
          if (idle) {
            add('idle', def.key, {
              values: [idle.kibPerConn],
              generatorCpu: idle.genCpuShare,
              brokerCpu: null,
              brokerRssMiB: idle.rssMiB,
              detail: { connected: idle.connected, brokerOpenFiles: idle.brokerFds, baselineRssMiB: idle.baselineMiB },
              error: idle.error,
            });
          }
          for (const run of defs) {
            if (run.skip?.includes(def.key)) continue;
            await sleep(300);
            const g = await runGen(bin, ['--port', String(b.port), ...run.args, ...common], b.pid, genTimeout);
            const r = g.report;
            add(run.key, def.key, {
              values: run.measures.map((m) => (r && r.ok ? m.pick(r) : null)),
              generatorCpu: r?.cpu_share ?? null,
              brokerCpu: g.brokerCpuShare,
              brokerRssMiB: g.brokerRssMiB,
              detail: r ? { generator_cpu_user_seconds: r.cpu_user_seconds, generator_cpu_seconds: r.cpu_seconds, sent_per_s: r.sent_per_s, received_per_s: r.received_per_s, lost: r.lost, stalls: r.stalls, late: r.late, connect_errors: r.connect_errors, latency_us: r.latency_us } : {},
              error: g.error,
            });
            if (g.error) process.stderr.write(`bench: mqtt: ${def.label}, ${run.key}: ${g.error}\n`);
          }
        } finally {
          await b.stop();
        }
      }
    }

    const rows: MqttRow[] = [];
    // the table: the runs in their order, then the idle row (which runs first in every round)
    const allRuns: { key: string; measures: readonly Measure[] }[] = [...defs, ...(runIdleRow ? [{ key: 'idle', measures: [idleMeasure] }] : [])];
    for (const run of allRuns) {
      run.measures.forEach((m, i) => {
        const of = (k: BrokerKey): Sample[] => samples.get(run.key)?.get(k) ?? [];
        const brokersDetail: MqttRow['brokers'] = {};
        for (const def of brokers) {
          const s = of(def.key);
          brokersDetail[def.label] = {
            median: median(s.map((x) => x.values[i] ?? null)),
            rounds: s.map((x) => x.values[i] ?? null),
            brokerCpu: s.map((x) => x.brokerCpu),
            generatorCpu: s.map((x) => x.generatorCpu),
            brokerRssMiB: s.map((x) => x.brokerRssMiB),
            errors: s.flatMap((x) => (x.error ? [x.error] : [])),
            detail: s.map((x) => x.detail),
          };
        }
        const oursVals = of('ours').map((x) => x.values[i] ?? null);
        for (const ref of REFERENCES) {
          const def = ref === 'mosquitto' ? mosquitto : ref === 'aedes' ? aedes : floor;
          if (!cfg.brokers.has(ref) || defs.find((d) => d.key === run.key)?.skip?.includes(ref)) continue;
          const refVals = of(ref).map((x) => x.values[i] ?? null);
          const gen = median([...of('ours'), ...of(ref)].map((x) => x.generatorCpu));
          const held = (k: BrokerKey): string => median(of(k).map((x) => (x.detail.connected as number | undefined) ?? null))?.toLocaleString('en') ?? 'n/a';
          const brokerCpu = (k: BrokerKey): string => pct(median(of(k).map((x) => x.brokerCpu)));
          // The generator's share beside the brokers' shows which side was the bottleneck.
          const cpuNote =
            run.key === 'idle'
              ? `connections held: ours ${held('ours')}, ${short(def.label)} ${held(ref)}`
              : `CPU of one core: generator ${pct(gen)}, ours ${brokerCpu('ours')}, ${short(def.label)} ${brokerCpu(ref)}`;
          const failed = [...of('ours'), ...of(ref)].filter((x) => x.error).length;
          // Say so when the issue's 50,000 did not fit in one broker process's descriptors.
          const limitNote = run.key === 'idle' && cfg.idle < IDLE_GOAL && !process.env.MQTT_BENCH_IDLE ? `${IDLE_GOAL.toLocaleString('en')} do not fit the open-file limit of ${openFileLimit().toLocaleString('en')} per process` : '';
          const notes = [cpuNote, limitNote, failed ? `${failed} run(s) with errors, see results.json` : ''].filter(Boolean);
          rows.push({
            name: `${m.name}, vs ${def.label}`,
            unit: m.unit,
            ours: median(oursVals),
            reference: median(refVals),
            referenceName: def.label,
            higherIsBetter: m.higherIsBetter,
            note: notes.join('; '),
            rounds: { ours: oursVals.filter((x): x is number => x !== null), reference: refVals.filter((x): x is number => x !== null) },
            brokers: brokersDetail,
          });
        }
      });
    }
    const oursNa = unavailable.get('ours');
    const title = `MQTT broker vs ${mosquitto.label}, ${aedes.label} and the Node.js floor (median of ${cfg.rounds} round${cfg.rounds === 1 ? '' : 's'} of ${cfg.seconds} s; MQTT 3.1.1)${oursNa ? ` — ours: n/a (${oursNa})` : ''}`;
    return [{ title, rows }];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
