// The command line's costs, side by side with EMQX's in the same run:
// - `emqx_ctl status` against a running node (native fast path, and the Node.js fallback),
//   versus what every `emqx ctl` call costs EMQX: a hidden Erlang node booting, connecting to the
//   running node over Erlang distribution (TCP, then TLS), doing one rpc:call, and halting;
// - `emqx start` boot-to-ready and `emqx stop`, with a bare Erlang VM boot as the floor EMQX's own
//   start cannot go below.
// Everything runs on loopback; every process started here is stopped by PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentile, type BenchRow, type BenchSection } from './types.js';
import { BIN_EMQX, BIN_EMQX_CTL, ROOT, createTestNode, freePort, type TestNode } from '../test/helpers/launcher.js';
import { makeCa, makeNodeCert, writeSslDistConf } from '../test/helpers/certs.js';
import { pointerDir, pointerKey, selectorEtcDir } from '../src/ctl/pointer.js';

const ERLANG = 'Erlang/OTP hidden node + rpc:call';

/** Wall time of one process run to completion, in ms; throws if it failed. */
function timeRun(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, expect?: RegExp): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 30_000 });
  const ms = performance.now() - t0;
  if (r.status !== 0 || (expect && !expect.test(r.stdout))) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}): ${r.stdout}${r.stderr}`);
  }
  return ms;
}

function sample(n: number, f: (i: number) => number): number[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

const p50 = (s: readonly number[]): number => percentile(s, 50);
const p99 = (s: readonly number[]): number => percentile(s, 99);

/** Waits (bounded) for a line matching `re` on the child's stdout. */
function waitFor(child: ChildProcess, re: RegExp, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what}: not ready after ${timeoutMs} ms: ${out}`)), timeoutMs);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (re.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before it was ready: ${out}`));
    });
  });
}

function stopByPid(child: ChildProcess | undefined): void {
  if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

interface ErlangSetup {
  readonly env: NodeJS.ProcessEnv;
  readonly distArgs: readonly string[];
  /** Host part of the node names (resolves to 127.0.0.1). */
  readonly host: string;
}

/** Per-call cost of EMQX's ctl path: a hidden node that boots, connects, does one rpc, halts. */
async function erlangRpcSample(n: number, setup: ErlangSetup, tag: string): Promise<number[]> {
  const cookie = 'benchcookie';
  const target = `ctltarget${tag}@${setup.host}`;
  const node = spawn('erl', ['-noshell', '-name', target, '-setcookie', cookie, '-kernel', 'inet_dist_use_interface', '{127,0,0,1}', ...setup.distArgs, '-eval', 'io:format("ready~n").'], {
    env: setup.env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await waitFor(node, /ready/, 20_000, `erl ${target}`);
    const call = `R = rpc:call('${target}', erlang, system_info, [otp_release]), io:format("~p~n", [R]), halt().`;
    // The first call warms the page cache for the VM's files, as a long-running host would have.
    timeRun('erl', ['-noshell', '-hidden', '-name', `ctlwarm${tag}@${setup.host}`, '-setcookie', cookie, '-kernel', 'inet_dist_use_interface', '{127,0,0,1}', ...setup.distArgs, '-eval', call], setup.env, /"\d+"/);
    return sample(n, (i) =>
      timeRun('erl', ['-noshell', '-hidden', '-name', `ctl${tag}${i}@${setup.host}`, '-setcookie', cookie, '-kernel', 'inet_dist_use_interface', '{127,0,0,1}', ...setup.distArgs, '-eval', call], setup.env, /"\d+"/),
    );
  } finally {
    stopByPid(node);
  }
}

export async function run({ quick }: { quick: boolean }): Promise<BenchSection[]> {
  const nCtl = quick ? 40 : 300;
  const nFallback = quick ? 10 : 60;
  const nErl = quick ? 5 : 25;
  const nBoot = quick ? 3 : 10;
  const work = mkdtempSync(join(tmpdir(), 'ctl-bench-'));
  let node: TestNode | undefined;
  let epmd: ChildProcess | undefined;
  try {
    node = await createTestNode(undefined, { name: 'emqxbench1@127.0.0.1' });
    const env = node.env;

    // Boot-to-ready and stop, through the launcher as an operator runs them.
    const boot: number[] = [];
    const stop: number[] = [];
    for (let i = 0; i < nBoot; i++) {
      boot.push(timeRun(BIN_EMQX, ['start'], env, /is started successfully/));
      stop.push(timeRun(BIN_EMQX, ['stop'], env, /^ok$/m));
    }
    const vmFloor = sample(nBoot, () => timeRun('erl', ['-noshell', '-eval', 'halt().'], {}, /^$/));

    await node.startOk();
    const fast = sample(nCtl, () => timeRun(BIN_EMQX_CTL, ['status'], env, /is started/));
    const ping = sample(nCtl, () => timeRun(BIN_EMQX, ['ping'], env, /^pong$/m));
    // The Node.js client, as bin/emqx_ctl runs it without the native binary (it finds the pointer).
    const mainJs = join(ROOT, 'build', 'cli', 'main.js');
    const fallback = sample(nFallback, () => timeRun(process.execPath, [mainJs, 'ctl', 'status'], env, /is started/));
    // ...and through the launcher when the pointer is missing (native client → exec node, which
    // then has to resolve the configuration).
    unlinkSync(join(pointerDir(env), pointerKey(selectorEtcDir(ROOT, env), env)));
    const viaFallback = sample(nFallback, () => timeRun(BIN_EMQX_CTL, ['status'], env, /is started/));

    // EMQX's side: epmd and a target node on loopback, then one hidden node per call.
    const epmdPort = await freePort();
    const erlEnv = { ...process.env, ERL_EPMD_PORT: String(epmdPort), ERL_EPMD_ADDRESS: '127.0.0.1' };
    epmd = spawn('epmd', ['-port', String(epmdPort)], { env: erlEnv, stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 200));
    const erlTcp = await erlangRpcSample(nErl, { env: erlEnv, distArgs: [], host: '127.0.0.1' }, 't');
    let erlTls: number[] | undefined;
    let tlsNote = '';
    try {
      // OTP checks the peer's host name against the certificate and cannot match an IP address
      // there, so the TLS nodes use a name that Erlang's own resolver maps to 127.0.0.1.
      const host = 'ctl.bench.test';
      const inetrc = join(work, 'inetrc');
      writeFileSync(inetrc, `{host, {127,0,0,1}, ["${host}"]}.\n{lookup, [file]}.\n`);
      const ca = await makeCa(join(work, 'ca'));
      const cert = await makeNodeCert(ca, join(work, 'certs'), `node@${host}`, { hosts: [host] });
      const conf = join(work, 'ssl_dist.conf');
      await writeSslDistConf(conf, { certfile: cert.certFile, keyfile: cert.keyFile, cacertfile: ca.certFile });
      const tlsEnv = { ...erlEnv, ERL_INETRC: inetrc };
      erlTls = await erlangRpcSample(nErl, { env: tlsEnv, distArgs: ['-proto_dist', 'inet_tls', '-ssl_dist_optfile', conf], host }, 's');
    } catch (err) {
      tlsNote = `TLS reference failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
    }

    const ctlRows: BenchRow[] = [
      { name: '`emqx_ctl status`, p50 (native client; vs EMQX ctl over inet_tcp)', unit: 'ms', ours: p50(fast), reference: p50(erlTcp), referenceName: `${ERLANG} (inet_tcp)`, higherIsBetter: false },
      { name: '`emqx_ctl status`, p99 (native client; vs EMQX ctl over inet_tcp)', unit: 'ms', ours: p99(fast), reference: p99(erlTcp), referenceName: `${ERLANG} (inet_tcp)`, higherIsBetter: false },
      {
        name: '`emqx_ctl status`, p50 (native client; vs EMQX ctl over inet_tls)',
        unit: 'ms',
        ours: p50(fast),
        reference: erlTls ? p50(erlTls) : null,
        referenceName: `${ERLANG} (inet_tls)`,
        higherIsBetter: false,
        ...(tlsNote ? { note: tlsNote } : {}),
      },
      {
        name: '`emqx_ctl status`, p99 (native client; vs EMQX ctl over inet_tls)',
        unit: 'ms',
        ours: p99(fast),
        reference: erlTls ? p99(erlTls) : null,
        referenceName: `${ERLANG} (inet_tls)`,
        higherIsBetter: false,
      },
      { name: '`emqx ping`, p50 (native client)', unit: 'ms', ours: p50(ping), reference: p50(erlTcp), referenceName: `${ERLANG} (inet_tcp)`, higherIsBetter: false },
      { name: '`emqx ctl status`, p50 (Node.js client, no native binary)', unit: 'ms', ours: p50(fallback), reference: p50(erlTcp), referenceName: `${ERLANG} (inet_tcp)`, higherIsBetter: false },
      { name: '`emqx_ctl status`, p50 (no pointer: native → Node.js, config resolved)', unit: 'ms', ours: p50(viaFallback), reference: p50(erlTcp), referenceName: `${ERLANG} (inet_tcp)`, higherIsBetter: false },
    ];
    const lifeRows: BenchRow[] = [
      { name: '`emqx start` until ready, p50', unit: 'ms', ours: p50(boot), reference: p50(vmFloor), referenceName: 'bare Erlang VM boot + halt (a floor for EMQX start)', higherIsBetter: false },
      { name: '`emqx start` until ready, max', unit: 'ms', ours: Math.max(...boot), higherIsBetter: false },
      { name: '`emqx stop` until the process is gone, p50', unit: 'ms', ours: p50(stop), higherIsBetter: false },
    ];
    return [
      { title: `Command line: one ctl call (${nCtl} native / ${nFallback} Node.js / ${nErl} Erlang runs)`, rows: ctlRows },
      { title: `Daemon life cycle (${nBoot} start/stop cycles)`, rows: lifeRows },
    ];
  } finally {
    await node?.cleanup();
    stopByPid(epmd);
    rmSync(work, { recursive: true, force: true });
  }
}
