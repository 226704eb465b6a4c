// Links between two node processes on loopback, against two Erlang nodes (OTP distribution) doing
// the same work in the same run, and a raw Node.js TCP stream as the ceiling for bulk transfer.
//
// Fairness: both sides are warmed up first (Erlang needs no JIT, we do; a long-running node is
// warm), then the workloads run in interleaved rounds (Erlang, ours, ours, Erlang, ...) so that a
// change in the machine's load hits both alike. Our nodes run compiled JavaScript on plain node
// with the environment bin/emqx gives a node (bin/node-env.sh), as the product does, not through
// the TypeScript loader the tests use; the raw Node.js references get the same environment.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { makeCa, makeNodeCert, writeSslDistConf } from '../test/helpers/certs.js';
import { DistProcess } from '../test/link/node-process.js';
import { percentile, type BenchRow, type BenchSection } from './types.js';

const ERL_SRC = fileURLToPath(new URL('./erlang/distbench.erl', import.meta.url));
const HARNESS_TSCONFIG = fileURLToPath(new URL('./tsconfig.harness.json', import.meta.url));
const HARNESS = fileURLToPath(new URL('../node_modules/.cache/emqx-bench/test/helpers/dist-node.js', import.meta.url));
const NODE_ENV_SH = fileURLToPath(new URL('../bin/node-env.sh', import.meta.url));
// Counts bytes and answers one byte when all have arrived (argv: host port total).
const RAW_SINK = `
const [host, port, total] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
require('node:net').createServer((s) => {
  let got = 0;
  s.on('data', (c) => { got += c.length; if (got >= total) s.write(Buffer.from([1])); });
  s.on('error', () => undefined);
}).listen(port, host, () => console.log('listening'));`;
// A bare socket echo (argv: host port) and its client, which answers `rtt N` on stdin with the
// round trips of N 64-byte messages: the floor under any call round trip on this machine.
const RAW_ECHO = `
require('node:net').createServer((s) => {
  s.setNoDelay(true);
  s.on('data', (d) => s.write(d));
  s.on('error', () => undefined);
}).listen(Number(process.argv[2]), process.argv[1], () => console.log('listening'));`;
const RAW_ECHO_CLIENT = `
const s = require('node:net').connect({ host: process.argv[1], port: Number(process.argv[2]), localAddress: process.argv[3], noDelay: true }, () => console.log('ready'));
const msg = Buffer.alloc(64, 1);
require('node:readline').createInterface({ input: process.stdin }).on('line', async (l) => {
  const xs = [];
  for (let i = 0, n = Number(l.split(' ')[1]); i < n; i++) {
    const t0 = performance.now();
    s.write(msg);
    await new Promise((r) => s.once('data', r));
    xs.push((performance.now() - t0) * 1000);
  }
  console.log(JSON.stringify({ rtt_us: xs }));
});`;
type Transport = 'inet_tcp' | 'inet_tls';

/** Per round, except kills and silences (samples in all). */
interface Sizes {
  rounds: number;
  connects: number;
  rtts: number;
  n100: number;
  n64k: number;
  kills: number;
  silences: number;
}

interface Figures {
  samples: Samples;
  connectMs: number;
  rttP50: number;
  rttP99: number;
  /** CPU time of both processes per call round trip, µs (median of the rounds). */
  rttCpuUs: number;
  msgs100: number;
  msgs64k: number;
  killMs: number;
  silentMs: number;
}

/** One side of the comparison, driven the same way. */
interface Side {
  connects(n: number): Promise<number[]>;
  rtts(n: number): Promise<number[]>;
  /** The PIDs of the two processes the round trips run between (for their CPU time). */
  rttPids(): number[];
  /** Milliseconds to deliver n messages of `size` bytes. */
  flood(size: number, n: number): Promise<number>;
  /** SIGKILL of a freshly linked peer until nodedown, in ms. */
  killed(i: number): Promise<number>;
  /** SIGSTOP of a freshly linked peer (ticktime 1 s) until nodedown, in ms. */
  silent(i: number): Promise<number>;
  close(): Promise<void>;
}

const median = (xs: readonly number[]): number => percentile(xs, 50);
/**
 * CPU time the processes have run, in µs: the first field of each thread's schedstat (ns on a
 * CPU), summed over all threads (Erlang works in scheduler threads, Node.js in its main thread).
 */
const cpuUs = (pids: readonly number[]): number => {
  let ns = 0;
  for (const pid of pids) {
    for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  }
  return ns / 1000;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Wall-clock ms with sub-ms precision; the nodes report `at` on the same clock. */
const wallMs = (): number => performance.timeOrigin + performance.now();

function compileHarness(): string {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', HARNESS_TSCONFIG], { stdio: 'inherit' });
  return HARNESS;
}

// ---------------------------------------------------------------------------------------------
// Ours

/** The environment bin/emqx gives a node (bin/node-env.sh), so the nodes here run as the product's do. */
function productEnv(): NodeJS.ProcessEnv {
  const out = execFileSync('sh', ['-c', `. "${NODE_ENV_SH}" && env -0`], { env: process.env });
  return Object.fromEntries(out.toString('utf8').split('\0').filter((kv) => kv.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

/** The linked pair the round trips, floods and connects run between, and flags for both. */
interface Pair {
  readonly a: string;
  readonly b: string;
  readonly args?: readonly string[];
}

const MAIN_PAIR: Pair = { a: 'a1@127.0.0.2', b: 'b2@127.0.0.3' };

async function oursSide(base: number, args: (n: string) => Promise<string[]>, script: string, nodeEnv: NodeJS.ProcessEnv, pair = MAIN_PAIR): Promise<Side> {
  const procs = new Set<DistProcess>();
  const start = async (name: string, extra: string[] = []): Promise<DistProcess> => {
    const p = await DistProcess.start(name, ['--base', String(base), '--no-gossip', ...(await args(name)), ...extra], { script, env: nodeEnv });
    procs.add(p);
    return p;
  };
  const stop = async (p: DistProcess): Promise<void> => {
    p.kill();
    await p.exit;
    procs.delete(p);
  };
  const a = await start(pair.a, [...(pair.args ?? [])]);
  const b = await start(pair.b, [...(pair.args ?? [])]);
  await a.cmd('connect', { node: b.name });
  return {
    connects: (n) => a.cmd<number[]>('connectLoop', { node: b.name, count: n }, 60_000),
    rtts: async (n) => a.cmd<number[]>('pingpong', { node: b.name, count: n }, 120_000),
    rttPids: () => [a.pid, b.pid],
    flood: async (size, n) => (await a.cmd<{ ms: number }>('flood', { node: b.name, size, count: n }, 300_000)).ms,
    async killed(i) {
      const k = await start(`k${3 + i * 10}@127.0.0.4`);
      await a.cmd('connect', { node: k.name });
      await sleep(200);
      const from = a.events.length;
      const killedAt = wallMs();
      k.signal('SIGKILL');
      const down = await a.waitFor((e) => e.event === 'nodedown' && e.node === k.name, 10_000, from);
      await a.cmd('disconnect', { node: k.name }); // no reconnect attempts to the dead node
      await stop(k);
      return down.at! - killedAt;
    },
    async silent(i) {
      const w = await start(`w${5 + i * 10}@127.0.0.5`, ['--ticktime', '1000']);
      const s = await start(`s${6 + i * 10}@127.0.0.6`, ['--ticktime', '1000']);
      await w.cmd('connect', { node: s.name });
      // Stopped at a random point of the tick cycle.
      await sleep(300 + Math.random() * 1000);
      const from = w.events.length;
      const stoppedAt = wallMs();
      s.signal('SIGSTOP');
      const down = await w.waitFor((e) => e.event === 'nodedown' && e.node === s.name, 10_000, from);
      await Promise.all([stop(w), stop(s)]);
      return down.at! - stoppedAt;
    },
    async close() {
      await Promise.all([...procs].map(stop));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Erlang

class Proc {
  readonly lines: string[] = [];
  private waiters = new Set<() => void>();
  readonly exit: Promise<number | null>;
  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      this.lines.push(l);
      for (const w of [...this.waiters]) w();
    });
    this.exit = new Promise((r) => child.once('exit', (code) => {
      for (const w of [...this.waiters]) w();
      r(code);
    }));
  }
  waitLine(re: RegExp, timeoutMs: number, from = 0): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const l = this.lines.slice(from).find((x) => re.test(x));
        if (l !== undefined) {
          done();
          resolve(l);
        } else if (this.child.exitCode !== null) {
          done();
          reject(new Error(`erl exited (${this.child.exitCode}) before printing ${re}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`erl did not print ${re} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }
  /** One command line to a `serve` client, its JSON answer back. */
  async ask<T>(line: string, key: string, timeoutMs: number): Promise<T> {
    const from = this.lines.length;
    this.child.stdin!.write(`${line}\n`);
    return JSON.parse(await this.waitLine(new RegExp(`^\\{"${key}"`), timeoutMs, from)) as T;
  }
  kill(sig: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      try {
        process.kill(this.child.pid!, 'SIGCONT');
        process.kill(this.child.pid!, sig);
      } catch {
        // gone
      }
    }
  }
}

async function erlangSide(transport: Transport, work: string, epmdPort: number, sslConf: (n: string) => Promise<string>): Promise<Side> {
  const env = { ...process.env, ERL_EPMD_PORT: String(epmdPort), ERL_EPMD_ADDRESS: '127.0.0.1', ERL_CRASH_DUMP: join(work, 'erl_crash.dump') };
  const procs = new Set<Proc>();
  const erl = async (name: string, args: string[], ticktime?: number): Promise<Proc> => {
    const tls = transport === 'inet_tls' ? ['-proto_dist', 'inet_tls', '-ssl_dist_optfile', await sslConf(name)] : [];
    const tick = ticktime ? ['-kernel', 'net_ticktime', String(ticktime)] : [];
    const p = new Proc(spawn('erl', ['-noshell', '-name', name, '-setcookie', 'benchcookie', '-kernel', 'inet_dist_use_interface', '{127,0,0,1}', '-pa', work, ...tls, ...tick, ...args], {
      env, stdio: ['pipe', 'pipe', 'inherit'],
    }));
    procs.add(p);
    return p;
  };
  const stop = async (p: Proc): Promise<void> => {
    p.kill();
    await p.exit;
    procs.delete(p);
  };
  // A linked pair: `peer` runs the echo and sink processes, `client` runs `mode` against it.
  const pair = async (peerName: string, clientName: string, mode: string, ready: RegExp, ticktime?: number): Promise<[Proc, Proc]> => {
    const peer = await erl(peerName, ['-s', 'distbench', 'peer'], ticktime);
    await peer.waitLine(/ready/, 20_000);
    const client = await erl(clientName, ['-hidden', '-s', 'distbench', 'client', peerName, mode], ticktime);
    await client.waitLine(ready, 20_000);
    return [peer, client];
  };
  const [eb, ea] = await pair('eb@127.0.0.1', 'ea@127.0.0.1', 'serve', /ready/);
  return {
    connects: async (n) => (await ea.ask<{ connect_ms: number[] }>(`connect ${n}`, 'connect_ms', 60_000)).connect_ms,
    rtts: async (n) => (await ea.ask<{ rtt_us: number[] }>(`rtt ${n}`, 'rtt_us', 120_000)).rtt_us,
    // erl execs the emulator (beam.smp) in its own process.
    rttPids: () => [ea.child.pid!, eb.child.pid!],
    flood: async (size, n) => (await ea.ask<{ flood_ms: number }>(`flood ${size} ${n}`, 'flood_ms', 300_000)).flood_ms,
    async killed(i) {
      const [k, w] = await pair(`ek${i}@127.0.0.1`, `ew${i}@127.0.0.1`, 'watch', /monitoring/);
      await sleep(200);
      const killedAt = wallMs();
      k.kill();
      const at = (JSON.parse(await w.waitLine(/nodedown/, 20_000)) as { at: number }).at;
      await Promise.all([stop(k), stop(w)]);
      return at - killedAt;
    },
    async silent(i) {
      // net_ticktime is whole seconds; 1 is the lowest Erlang accepts.
      const [s, w] = await pair(`es${i}@127.0.0.1`, `ex${i}@127.0.0.1`, 'watch', /monitoring/, 1);
      await sleep(300 + Math.random() * 1000);
      const stoppedAt = wallMs();
      s.kill('SIGSTOP');
      const at = (JSON.parse(await w.waitLine(/nodedown/, 20_000)) as { at: number }).at;
      await Promise.all([stop(s), stop(w)]);
      return at - stoppedAt;
    },
    async close() {
      await Promise.all([...procs].map(stop));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The comparison

interface Samples {
  connect: number[];
  rtt: number[];
  /** CPU µs per round trip, one figure per round. */
  rttCpu: number[];
  msgs100: number[];
  msgs64k: number[];
  kill: number[];
  silent: number[];
}

const emptySamples = (): Samples => ({ connect: [], rtt: [], rttCpu: [], msgs100: [], msgs64k: [], kill: [], silent: [] });

/** A third party in the round-trip rounds: a bare socket echo, or our nodes with busy polling off. */
type Extra = Pick<Side, 'rtts' | 'rttPids'>;

/** Round trips and their CPU per call (µs, one figure per round) of one side or extra. */
interface RttSample {
  rtt: number[];
  rttCpu: number[];
}

async function rttRound(s: Extra, n: number, into: RttSample): Promise<void> {
  const pids = s.rttPids();
  const before = cpuUs(pids);
  into.rtt.push(...(await s.rtts(n)));
  into.rttCpu.push((cpuUs(pids) - before) / n);
}

/**
 * Runs every workload on both sides, alternating which goes first, and the extras' round trips
 * in the same rounds. Returns [ours, erlang, the extras' round trips by name].
 */
async function compare(ours: Side, erl: Side, sizes: Sizes, extras: Record<string, Extra>): Promise<[Figures, Figures, Record<string, RttSample>]> {
  const extraRtts = Object.fromEntries(Object.keys(extras).map((k) => [k, { rtt: [], rttCpu: [] } as RttSample]));
  const sides = [ours, erl] as const;
  const samples = [emptySamples(), emptySamples()] as const;
  // Warm-up until steady state, the same for both sides: a fresh node process needs a few thousand
  // calls (JIT) and about 2 GB of bulk traffic (its first rounds page-fault on memory its allocators
  // have not reached yet) before its figures stop climbing; a long-running node is past that.
  for (const s of sides) {
    await s.connects(sizes.connects);
    await s.rtts(Math.max(3000, sizes.rtts));
    await s.flood(100, sizes.n100);
    for (let i = 0; i < 3; i++) await s.flood(65536, sizes.n64k);
  }
  for (const e of Object.values(extras)) await e.rtts(Math.max(3000, sizes.rtts));
  const extraRound = async (): Promise<void> => {
    for (const [k, e] of Object.entries(extras)) await rttRound(e, sizes.rtts, extraRtts[k]!);
  };
  const order = (r: number): readonly (0 | 1)[] => (r % 2 === 0 ? [1, 0] : [0, 1]);
  for (let r = 0; r < sizes.rounds; r++) {
    for (const i of order(r)) samples[i].connect.push(...(await sides[i].connects(sizes.connects)));
    if (r % 2 === 0) await extraRound();
    for (const i of order(r)) await rttRound(sides[i], sizes.rtts, samples[i]);
    if (r % 2 === 1) await extraRound();
    for (const i of order(r)) samples[i].msgs100.push((sizes.n100 * 1000) / (await sides[i].flood(100, sizes.n100)));
    for (const i of order(r)) samples[i].msgs64k.push((sizes.n64k * 1000) / (await sides[i].flood(65536, sizes.n64k)));
  }
  for (let k = 0; k < sizes.kills; k++) for (const i of order(k)) samples[i].kill.push(await sides[i].killed(k));
  for (let k = 0; k < sizes.silences; k++) for (const i of order(k)) samples[i].silent.push(await sides[i].silent(k));
  const figures = (s: Samples): Figures => ({
    samples: s,
    connectMs: median(s.connect),
    rttP50: percentile(s.rtt, 50),
    rttP99: percentile(s.rtt, 99),
    rttCpuUs: median(s.rttCpu),
    msgs100: median(s.msgs100),
    msgs64k: median(s.msgs64k),
    killMs: median(s.kill),
    silentMs: median(s.silent),
  });
  return [figures(samples[0]), figures(samples[1]), extraRtts];
}

/** A bare socket echo between two processes on the addresses our nodes use. */
async function rawEcho(port: number, env: NodeJS.ProcessEnv): Promise<Extra & { close(): Promise<void> }> {
  const server = new Proc(spawn(process.execPath, ['-e', RAW_ECHO, '127.0.0.3', String(port)], { stdio: ['ignore', 'pipe', 'inherit'], env }));
  await server.waitLine(/listening/, 10_000);
  const client = new Proc(spawn(process.execPath, ['-e', RAW_ECHO_CLIENT, '127.0.0.3', String(port), '127.0.0.2'], { stdio: ['pipe', 'pipe', 'inherit'], env }));
  await client.waitLine(/ready/, 10_000);
  return {
    rtts: async (n) => (await client.ask<{ rtt_us: number[] }>(`rtt ${n}`, 'rtt_us', 120_000)).rtt_us,
    rttPids: () => [client.child.pid!, server.child.pid!],
    async close() {
      for (const p of [client, server]) p.kill();
      await Promise.all([client.exit, server.exit]);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Raw TCP ceiling: the same bytes, message-sized writes, no framing, no codec.

export async function rawTcpMBps(size: number, count: number, port: number, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const sink = new Proc(spawn(process.execPath, ['-e', RAW_SINK, '127.0.0.3', String(port), String(size * count)], { stdio: ['ignore', 'pipe', 'inherit'], env }));
  try {
    await sink.waitLine(/listening/, 10_000);
    const { connect } = await import('node:net');
    const sock = connect({ host: '127.0.0.3', port, localAddress: '127.0.0.2', noDelay: true });
    await new Promise<void>((r, j) => sock.once('connect', r).once('error', j));
    const msg = Buffer.alloc(size, 7);
    const t0 = performance.now();
    const done = new Promise<void>((r) => sock.once('data', () => r()));
    for (let i = 0; i < count; i++) {
      if (i % 256 === 0) sock.cork();
      const ok = sock.write(msg);
      if (i % 256 === 255) sock.uncork();
      if (!ok) {
        sock.uncork();
        await new Promise((r) => sock.once('drain', r));
      }
    }
    sock.uncork();
    await done;
    const ms = performance.now() - t0;
    sock.destroy();
    return (size * count * 1000) / ms / 1e6;
  } finally {
    sink.kill();
    await sink.exit;
  }
}

async function rawMedian(size: number, count: number, runs: number, env: NodeJS.ProcessEnv): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) xs.push(await rawTcpMBps(size, count, 15_000 + Math.floor(Math.random() * 2000), env));
  return median(xs);
}

// ---------------------------------------------------------------------------------------------

function spawnEpmd(port: number): ChildProcess {
  return spawn('epmd', ['-port', String(port)], { env: { ...process.env, ERL_EPMD_ADDRESS: '127.0.0.1' }, stdio: 'ignore' });
}

export async function run({ quick }: { quick: boolean }): Promise<BenchSection[]> {
  // Plain TCP runs closer to Erlang, so it gets more and longer rounds: a round of 64 KiB messages
  // that lasts a fifth of a second swings by ±30% on a shared VM. Over TLS, Erlang moves 64 KiB
  // messages at ~100 MB/s, and a longer round there would only cost minutes.
  const sizesFor = (transport: Transport): Sizes => quick
    ? { rounds: 2, connects: 10, rtts: 1000, n100: 50_000, n64k: 2000, kills: 3, silences: 2 }
    : transport === 'inet_tcp'
      ? { rounds: 6, connects: 40, rtts: 10_000, n100: 500_000, n64k: 30_000, kills: 11, silences: 5 }
      : { rounds: 4, connects: 40, rtts: 10_000, n100: 500_000, n64k: 10_000, kills: 9, silences: 5 };
  const script = compileHarness();
  const nodeEnv = productEnv();
  const work = await mkdtemp(join(tmpdir(), 'dist-bench-'));
  const epmdPort = 14_000 + Math.floor(Math.random() * 1000);
  const epmd = spawnEpmd(epmdPort);
  try {
    execFileSync('erlc', ['-o', work, ERL_SRC]);
    await sleep(300);
    const ca = await makeCa(join(work, 'ca'));
    const certFor = async (name: string): Promise<{ certFile: string; keyFile: string }> => makeNodeCert(ca, join(work, 'certs'), name);
    const sslConf = async (name: string): Promise<string> => {
      const c = await certFor(name);
      const f = join(work, `${name}.ssl_dist.conf`);
      await writeSslDistConf(f, { certfile: c.certFile, keyfile: c.keyFile, cacertfile: ca.certFile });
      // OTP 25's TLS dist client checks the peer's host as a DNS name, which an IP-only certificate
      // cannot satisfy (and ssl_dist.conf cannot carry a match fun): the Erlang client skips its
      // check of the server, the server still verifies the client (fail_if_no_peer_cert).
      const text = await readFile(f, 'utf8');
      const at = text.lastIndexOf('{verify, verify_peer}');
      await writeFile(f, `${text.slice(0, at)}{verify, verify_none}${text.slice(at + '{verify, verify_peer}'.length)}`);
      return f;
    };
    let erlVersion = 'Erlang/OTP';
    try {
      erlVersion = `Erlang/OTP ${execFileSync('erl', ['-noshell', '-eval', 'io:format("~s",[erlang:system_info(otp_release)]), halt().']).toString().trim()}`;
    } catch {
      // keep the generic name
    }
    const sections: BenchSection[] = [];
    for (const transport of ['inet_tcp', 'inet_tls'] as const) {
      const sizes = sizesFor(transport);
      const tlsArgs = async (n: string): Promise<string[]> => {
        if (transport !== 'inet_tls') return [];
        const c = await certFor(n);
        return ['--proto', 'inet_tls', '--cert', c.certFile, '--key', c.keyFile, '--ca', ca.certFile];
      };
      const base = 20_000 + Math.floor(Math.random() * 120) * 100;
      const erlSide = await erlangSide(transport, work, epmdPort, sslConf);
      const echo = transport === 'inet_tcp' ? await rawEcho(17_000 + Math.floor(Math.random() * 1000), nodeEnv) : undefined;
      let oursF: Figures;
      let erlF: Figures;
      let extraRtts: Record<string, RttSample>;
      try {
        const oursS = await oursSide(base, tlsArgs, script, nodeEnv);
        // The same nodes with busy polling off (docs/links.md), on ports of their own.
        const noPoll = await oursSide(base, tlsArgs, script, nodeEnv, { a: 'n91@127.0.0.7', b: 'n92@127.0.0.8', args: ['--busy-poll-us', '0'] });
        try {
          [oursF, erlF, extraRtts] = await compare(oursS, erlSide, sizes, echo ? { echo, noPoll } : { noPoll });
        } finally {
          await Promise.all([oursS.close(), noPoll.close()]);
        }
      } finally {
        await Promise.all([erlSide.close(), echo?.close()]);
      }
      const off = extraRtts.noPoll!;
      const ref = { referenceName: `${erlVersion} dist` };
      const rounds = `median of ${sizes.rounds} interleaved rounds`;
      const mb = (msgs: number, size: number): number => (msgs * size) / 1e6;
      const perRound = (ours: number[], erl: number[], size: number): BenchRow['rounds'] => ({ ours: ours.map((x) => mb(x, size)), reference: erl.map((x) => mb(x, size)) });
      const rows: BenchRow[] = [
        { name: `connect+handshake (${transport})`, unit: 'ms', ours: oursF.connectMs, reference: erlF.connectMs, ...ref, higherIsBetter: false, note: `median of ${sizes.rounds * sizes.connects}; Erlang includes its epmd lookup` },
        { name: `call round trip p50, 64 B (${transport})`, unit: 'µs', ours: oursF.rttP50, reference: erlF.rttP50, ...ref, higherIsBetter: false, note: `${sizes.rounds * sizes.rtts} calls` },
        { name: `call round trip p99, 64 B (${transport})`, unit: 'µs', ours: oursF.rttP99, reference: erlF.rttP99, ...ref, higherIsBetter: false },
        { name: `CPU per call round trip, both processes (${transport})`, unit: 'µs', ours: oursF.rttCpuUs, reference: erlF.rttCpuUs, ...ref, higherIsBetter: false, note: 'median of the rounds; user + system time' },
        { name: `call round trip p50, busy polling off (${transport})`, unit: 'µs', ours: percentile(off.rtt, 50), reference: erlF.rttP50, ...ref, higherIsBetter: false, note: 'busyPollUs 0' },
        { name: `call round trip p99, busy polling off (${transport})`, unit: 'µs', ours: percentile(off.rtt, 99), reference: erlF.rttP99, ...ref, higherIsBetter: false },
        { name: `CPU per call round trip, busy polling off (${transport})`, unit: 'µs', ours: median(off.rttCpu), reference: erlF.rttCpuUs, ...ref, higherIsBetter: false },
        { name: `one-way 100 B messages (${transport})`, unit: 'msg/s', ours: oursF.msgs100, reference: erlF.msgs100, ...ref, higherIsBetter: true, note: rounds },
        { name: `one-way 100 B messages (${transport})`, unit: 'MB/s', ours: mb(oursF.msgs100, 100), reference: mb(erlF.msgs100, 100), ...ref, higherIsBetter: true, rounds: perRound(oursF.samples.msgs100, erlF.samples.msgs100, 100) },
        { name: `one-way 64 KiB messages (${transport})`, unit: 'msg/s', ours: oursF.msgs64k, reference: erlF.msgs64k, ...ref, higherIsBetter: true, note: rounds },
        { name: `one-way 64 KiB messages (${transport})`, unit: 'MB/s', ours: mb(oursF.msgs64k, 65536), reference: mb(erlF.msgs64k, 65536), ...ref, higherIsBetter: true, rounds: perRound(oursF.samples.msgs64k, erlF.samples.msgs64k, 65536) },
        { name: `killed peer detected (${transport})`, unit: 'ms', ours: oursF.killMs, reference: erlF.killMs, ...ref, higherIsBetter: false, note: `median of ${sizes.kills}`, rounds: { ours: oursF.samples.kill, reference: erlF.samples.kill } },
        { name: `silent peer detected (${transport})`, unit: 'ms', ours: oursF.silentMs, reference: erlF.silentMs, ...ref, higherIsBetter: false, note: `median of ${sizes.silences}; ticktime 1 s on both (Erlang net_ticktime 1, its lowest); our default 4 s detects in 3–4 s` },
      ];
      if (transport === 'inet_tls') rows[0] = { ...rows[0]!, note: `${rows[0]!.note!}; its client does not verify the server (see docs/links.md)` };
      if (transport === 'inet_tcp') {
        const raw64k = await rawMedian(65536, sizes.n64k, sizes.rounds, nodeEnv);
        const raw100 = await rawMedian(100, sizes.n100, sizes.rounds, nodeEnv);
        rows.push(
          { name: 'call round trip p50, 64 B, vs a bare Node.js socket echo', unit: 'µs', ours: oursF.rttP50, reference: percentile(extraRtts.echo!.rtt, 50), referenceName: 'raw Node.js TCP echo', higherIsBetter: false, note: 'a bare echo sleeps between messages: two wake-ups per round trip' },
          { name: 'call round trip p99, 64 B, vs a bare Node.js socket echo', unit: 'µs', ours: oursF.rttP99, reference: percentile(extraRtts.echo!.rtt, 99), referenceName: 'raw Node.js TCP echo', higherIsBetter: false },
          { name: 'CPU per call round trip vs a bare Node.js socket echo', unit: 'µs', ours: oursF.rttCpuUs, reference: median(extraRtts.echo!.rttCpu), referenceName: 'raw Node.js TCP echo', higherIsBetter: false },
          { name: 'one-way 64 KiB messages vs raw TCP stream', unit: 'MB/s', ours: mb(oursF.msgs64k, 65536), reference: raw64k, referenceName: 'raw Node.js TCP', higherIsBetter: true, note: 'ceiling' },
          { name: 'one-way 100 B messages vs raw TCP stream', unit: 'MB/s', ours: mb(oursF.msgs100, 100), reference: raw100, referenceName: 'raw Node.js TCP', higherIsBetter: true, note: 'ceiling' },
        );
      }
      sections.push({ title: `Links between nodes: ${transport}`, rows });
    }
    return sections;
  } finally {
    epmd.kill('SIGKILL');
    await rm(work, { recursive: true, force: true });
  }
}
