// Links between two node processes on loopback, against two Erlang nodes (OTP distribution) doing
// the same work in the same run, and a raw Node.js TCP stream as the ceiling for bulk transfer.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { makeCa, makeNodeCert, writeSslDistConf } from '../test/helpers/certs.js';
import { DistProcess } from '../test/dist/node-process.js';
import { percentile, type BenchRow, type BenchSection } from './types.js';

const ERL_SRC = fileURLToPath(new URL('./erlang/distbench.erl', import.meta.url));
// Counts bytes and answers one byte when all have arrived (argv: host port total).
const RAW_SINK = `
const [host, port, total] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
require('node:net').createServer((s) => {
  let got = 0;
  s.on('data', (c) => { got += c.length; if (got >= total) s.write(Buffer.from([1])); });
  s.on('error', () => undefined);
}).listen(port, host, () => console.log('listening'));`;
type Transport = 'inet_tcp' | 'inet_tls';

interface Sizes {
  connects: number;
  rtts: number;
  n100: number;
  n64k: number;
}

interface Figures {
  connectMs: number;
  rttP50: number;
  rttP99: number;
  msgs100: number;
  mb100: number;
  msgs64k: number;
  mb64k: number;
  killMs: number;
  silentMs: number;
}

const median = (xs: readonly number[]): number => percentile(xs, 50);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Ours

export async function oursFigures(transport: Transport, sizes: Sizes, base: number, tlsArgs: (n: string) => Promise<string[]>): Promise<Figures> {
  const procs: DistProcess[] = [];
  const start = async (name: string, extra: string[] = []): Promise<DistProcess> => {
    const p = await DistProcess.start(name, ['--base', String(base), '--no-gossip', ...(await tlsArgs(name)), ...extra]);
    procs.push(p);
    return p;
  };
  try {
    const a = await start('a1@127.0.0.2');
    const b = await start('b2@127.0.0.3');
    await a.cmd('connect', { node: b.name });
    const connects = await a.cmd<number[]>('connectLoop', { node: b.name, count: sizes.connects }, 60_000);
    await a.cmd('pingpong', { node: b.name, count: 500 });
    const rtt = await a.cmd<number[]>('pingpong', { node: b.name, count: sizes.rtts }, 120_000);
    const f100 = await a.cmd<{ msgsPerSec: number; mbPerSec: number }>('flood', { node: b.name, size: 100, count: sizes.n100 }, 300_000);
    const f64k = await a.cmd<{ msgsPerSec: number; mbPerSec: number }>('flood', { node: b.name, size: 65536, count: sizes.n64k }, 300_000);

    const kills: number[] = [];
    for (let i = 0; i < 3; i++) {
      const k = await start(`k${3 + i * 10}@127.0.0.4`);
      await a.cmd('connect', { node: k.name });
      const from = a.events.length;
      const killedAt = Date.now();
      k.signal('SIGKILL');
      const kd = await a.waitFor((e) => e.event === 'nodedown' && e.node === k.name, 10_000, from);
      kills.push(kd.at! - killedAt);
    }

    // Silent peer at a 1 s ticktime on both sides (the same setting as the Erlang row), stopped at
    // a random point of the tick cycle; median of three.
    const silences: number[] = [];
    for (let i = 0; i < 3; i++) {
      const w = await start(`w${5 + i * 10}@127.0.0.5`, ['--ticktime', '1000']);
      const s = await start(`s${6 + i * 10}@127.0.0.6`, ['--ticktime', '1000']);
      await w.cmd('connect', { node: s.name });
      await sleep(300 + Math.random() * 1000);
      const from = w.events.length;
      const stoppedAt = Date.now();
      s.signal('SIGSTOP');
      const sd = await w.waitFor((e) => e.event === 'nodedown' && e.node === s.name, 10_000, from);
      s.signal('SIGCONT');
      silences.push(sd.at! - stoppedAt);
      w.kill();
      s.kill();
    }
    return {
      connectMs: median(connects),
      rttP50: percentile(rtt, 50),
      rttP99: percentile(rtt, 99),
      msgs100: f100.msgsPerSec,
      mb100: f100.mbPerSec,
      msgs64k: f64k.msgsPerSec,
      mb64k: f64k.mbPerSec,
      killMs: median(kills),
      silentMs: median(silences),
    };
  } finally {
    for (const p of procs) p.kill();
    await Promise.all(procs.map((p) => p.exit));
  }
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
  waitLine(re: RegExp, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const l = this.lines.find((x) => re.test(x));
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

export async function erlangFigures(transport: Transport, sizes: Sizes, work: string, epmdPort: number, sslConf: (n: string) => Promise<string>): Promise<Figures> {
  const env = { ...process.env, ERL_EPMD_PORT: String(epmdPort), ERL_EPMD_ADDRESS: '127.0.0.1', ERL_CRASH_DUMP: join(work, 'erl_crash.dump') };
  const procs: Proc[] = [];
  const erl = async (name: string, args: string[], ticktime?: number): Promise<Proc> => {
    const tls = transport === 'inet_tls' ? ['-proto_dist', 'inet_tls', '-ssl_dist_optfile', await sslConf(name)] : [];
    const tick = ticktime ? ['-kernel', 'net_ticktime', String(ticktime)] : [];
    const p = new Proc(spawn('erl', ['-noshell', '-name', name, '-setcookie', 'benchcookie', '-kernel', 'inet_dist_use_interface', '{127,0,0,1}', '-pa', work, ...tls, ...tick, ...args], {
      env, stdio: ['ignore', 'pipe', 'inherit'],
    }));
    procs.push(p);
    return p;
  };
  try {
    const b = await erl('eb@127.0.0.1', ['-s', 'distbench', 'peer']);
    await b.waitLine(/ready/, 20_000);
    const a = await erl('ea@127.0.0.1', ['-hidden', '-s', 'distbench', 'client', 'eb@127.0.0.1', 'perf',
      String(sizes.connects), String(sizes.rtts), String(sizes.n100), String(sizes.n64k)]);
    const line = await a.waitLine(/connect_ms/, 300_000);
    const r = JSON.parse(line) as { connect_ms: number[]; rtt_us: number[]; flood100_ms: number; flood64k_ms: number };
    b.kill();

    const kills: number[] = [];
    for (let i = 0; i < 3; i++) {
      const k = await erl(`ek${i}@127.0.0.1`, ['-s', 'distbench', 'peer']);
      await k.waitLine(/ready/, 20_000);
      const wk = await erl(`ew${i}@127.0.0.1`, ['-hidden', '-s', 'distbench', 'client', `ek${i}@127.0.0.1`, 'watch']);
      await wk.waitLine(/monitoring/, 20_000);
      const killedAt = Date.now();
      k.kill();
      kills.push((JSON.parse(await wk.waitLine(/nodedown/, 20_000)) as { at: number }).at - killedAt);
    }

    // net_ticktime is whole seconds; 1 is the lowest Erlang accepts. Random phase, median of three.
    const silences: number[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await erl(`es${i}@127.0.0.1`, ['-s', 'distbench', 'peer'], 1);
      await s.waitLine(/ready/, 20_000);
      const ws = await erl(`ex${i}@127.0.0.1`, ['-hidden', '-s', 'distbench', 'client', `es${i}@127.0.0.1`, 'watch'], 1);
      await ws.waitLine(/monitoring/, 20_000);
      await sleep(300 + Math.random() * 1000);
      const stoppedAt = Date.now();
      s.kill('SIGSTOP');
      silences.push((JSON.parse(await ws.waitLine(/nodedown/, 20_000)) as { at: number }).at - stoppedAt);
      s.kill();
    }
    return {
      connectMs: median(r.connect_ms),
      rttP50: percentile(r.rtt_us, 50),
      rttP99: percentile(r.rtt_us, 99),
      msgs100: (sizes.n100 * 1000) / r.flood100_ms,
      mb100: (sizes.n100 * 100 * 1000) / r.flood100_ms / 1e6,
      msgs64k: (sizes.n64k * 1000) / r.flood64k_ms,
      mb64k: (sizes.n64k * 65536 * 1000) / r.flood64k_ms / 1e6,
      killMs: median(kills),
      silentMs: median(silences),
    };
  } finally {
    for (const p of procs) p.kill();
    await Promise.all(procs.map((p) => p.exit));
  }
}

// ---------------------------------------------------------------------------------------------
// Raw TCP ceiling: the same bytes, message-sized writes, no framing, no codec.

export async function rawTcpMBps(size: number, count: number, port: number): Promise<number> {
  const sink = new Proc(spawn(process.execPath, ['-e', RAW_SINK, '127.0.0.3', String(port), String(size * count)], { stdio: ['ignore', 'pipe', 'inherit'] }));
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

// ---------------------------------------------------------------------------------------------

function spawnEpmd(port: number): ChildProcess {
  return spawn('epmd', ['-port', String(port)], { env: { ...process.env, ERL_EPMD_ADDRESS: '127.0.0.1' }, stdio: 'ignore' });
}

export async function run({ quick }: { quick: boolean }): Promise<BenchSection[]> {
  const sizes: Sizes = quick
    ? { connects: 20, rtts: 2000, n100: 100_000, n64k: 2000 }
    : { connects: 100, rtts: 20_000, n100: 1_000_000, n64k: 10_000 };
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
      const tlsArgs = async (n: string): Promise<string[]> => {
        if (transport !== 'inet_tls') return [];
        const c = await certFor(n);
        return ['--proto', 'inet_tls', '--cert', c.certFile, '--key', c.keyFile, '--ca', ca.certFile];
      };
      const base = 20_000 + Math.floor(Math.random() * 120) * 100;
      const erl = await erlangFigures(transport, sizes, work, epmdPort, sslConf);
      const ours = await oursFigures(transport, sizes, base, tlsArgs);
      const ref = { referenceName: `${erlVersion} dist` };
      const rows: BenchRow[] = [
        { name: `connect+handshake (${transport})`, unit: 'ms', ours: ours.connectMs, reference: erl.connectMs, ...ref, higherIsBetter: false, note: 'median; Erlang includes its epmd lookup' },
        { name: `call round trip p50, 64 B (${transport})`, unit: 'µs', ours: ours.rttP50, reference: erl.rttP50, ...ref, higherIsBetter: false },
        { name: `call round trip p99, 64 B (${transport})`, unit: 'µs', ours: ours.rttP99, reference: erl.rttP99, ...ref, higherIsBetter: false },
        { name: `one-way 100 B messages (${transport})`, unit: 'msg/s', ours: ours.msgs100, reference: erl.msgs100, ...ref, higherIsBetter: true },
        { name: `one-way 100 B messages (${transport})`, unit: 'MB/s', ours: ours.mb100, reference: erl.mb100, ...ref, higherIsBetter: true },
        { name: `one-way 64 KiB messages (${transport})`, unit: 'msg/s', ours: ours.msgs64k, reference: erl.msgs64k, ...ref, higherIsBetter: true },
        { name: `one-way 64 KiB messages (${transport})`, unit: 'MB/s', ours: ours.mb64k, reference: erl.mb64k, ...ref, higherIsBetter: true },
        { name: `killed peer detected (${transport})`, unit: 'ms', ours: ours.killMs, reference: erl.killMs, ...ref, higherIsBetter: false, note: 'median of 3' },
        { name: `silent peer detected (${transport})`, unit: 'ms', ours: ours.silentMs, reference: erl.silentMs, ...ref, higherIsBetter: false, note: 'median of 3; ticktime 1 s on both (Erlang net_ticktime 1, its lowest); our default 4 s detects in 3–4 s' },
      ];
      if (transport === 'inet_tls') rows[0] = { ...rows[0]!, note: 'median; Erlang includes its epmd lookup; its client does not verify the server (see docs/links.md)' };
      if (transport === 'inet_tcp') {
        const raw64k = await rawTcpMBps(65536, sizes.n64k, 15_000 + Math.floor(Math.random() * 1000));
        const raw100 = await rawTcpMBps(100, sizes.n100, 16_000 + Math.floor(Math.random() * 1000));
        rows.push(
          { name: 'one-way 64 KiB messages vs raw TCP stream', unit: 'MB/s', ours: ours.mb64k, reference: raw64k, referenceName: 'raw Node.js TCP', higherIsBetter: true, note: 'ceiling' },
          { name: 'one-way 100 B messages vs raw TCP stream', unit: 'MB/s', ours: ours.mb100, reference: raw100, referenceName: 'raw Node.js TCP', higherIsBetter: true, note: 'ceiling' },
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
