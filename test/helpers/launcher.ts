/**
 * Run real nodes through the real launchers (bin/emqx, bin/emqx_ctl), each in its own sandbox.
 *
 * Every integration test of the project starts its nodes through this file. A node gets a fresh
 * temporary directory holding its own etc/, data/ and log/, selected with EMQX_ETC_DIR,
 * EMQX_NODE__DATA_DIR and EMQX_LOG_DIR, so any number of tests (and nodes) run side by side from
 * the one install. Inherited EMQX_* variables are removed so the developer's shell cannot leak in.
 *
 *   import { createTestNode, allocDistBase } from '../helpers/launcher.js';
 *
 *   test('two nodes', async (t) => {
 *     const base = await allocDistBase(['emqx1@127.0.0.1', 'emqx2@127.0.0.1']);
 *     const n1 = await createTestNode(t, { name: 'emqx1@127.0.0.1', distBasePort: base });
 *     const n2 = await createTestNode(t, { name: 'emqx2@127.0.0.1', distBasePort: base, conf: 'cluster.discovery_strategy = manual' });
 *     await n1.startOk();                           // throws with the launcher's output on failure
 *     await n2.startOk();
 *     const r = await n2.ctl(['cluster', 'join', 'emqx1@127.0.0.1']);
 *     assert.equal(r.code, 0, r.stdout + r.stderr);
 *   });                                            // t.after: both nodes stopped by PID, dirs removed
 *
 * - The node's settings: `name`, `cookie` (default: a per-test random one, so the default-cookie
 *   warning stays out of the way unless a test asks for it), `distBasePort`, plus free `conf`
 *   text appended to etc/emqx.conf and `env` overrides (a value of `undefined` unsets a variable).
 *   name, data dir, cookie and base port are passed as EMQX_* variables (env beats the file).
 * - Every process is bounded in time (`timeoutMs`, default 30 s) and killed by PID when it overruns.
 * - Cleanup (registered with t.after, or call `cleanup()`): SIGTERM to every daemon PID this node
 *   had, and to any process still running with its sandbox and name in its environment (a daemon
 *   that hung before it could report its PID), checked against each process's start time so a
 *   reused PID is never hit; SIGKILL after 5 s; then the sandbox is removed (kept when
 *   EMQX_TEST_KEEP=1, for post-mortems).
 * - `createTestNodes(t, names)` makes several nodes with one shared port base. `spec.dir` reuses a
 *   sandbox (e.g. the same data dir under another name); only the node that created it removes it.
 * - `spawnForeground('console' | 'foreground')` runs a node as a child of the test (its logs on the
 *   child's stdout); a SIGKILLed child is reaped by the test, unlike a detached daemon, whose zombie
 *   can linger where PID 1 does not reap (this machine).
 * - `npm test` builds first; when developing run `npm run build` yourself (assertBuilt() says so).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { distPort } from '../../src/node/name.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
export const BIN_EMQX = join(ROOT, 'bin', 'emqx');
export const BIN_EMQX_CTL = join(ROOT, 'bin', 'emqx_ctl');
export const NATIVE_CTL = join(ROOT, 'build', 'emqx_ctl');

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Kill the process (by PID) after this long; default 30 s. */
  readonly timeoutMs?: number;
  readonly input?: string;
}

/** Throws a helpful error when the launchers have nothing to run. */
export function assertBuilt(): void {
  if (!existsSync(join(ROOT, 'build', 'cli', 'main.js'))) {
    throw new Error(`${ROOT}/build/cli/main.js is missing: run 'npm run build' before the integration tests`);
  }
}

/** The current environment minus every EMQX_* variable (and our internals). */
/**
 * Every node a test starts has its default MQTT listeners off: they would all want 0.0.0.0:1883
 * (and 8883, 8083, 8084). A test that wants MQTT asks for it (`mqtt` in the node's spec), which
 * binds them to loopback ports of its own; `extra` can switch them back on too.
 */
export const NO_MQTT_LISTENERS: Readonly<NodeJS.ProcessEnv> = {
  EMQX_LISTENERS__TCP__DEFAULT__ENABLE: 'false',
  EMQX_LISTENERS__SSL__DEFAULT__ENABLE: 'false',
  EMQX_LISTENERS__WS__DEFAULT__ENABLE: 'false',
  EMQX_LISTENERS__WSS__DEFAULT__ENABLE: 'false',
};

/**
 * Nor a dashboard listener: every node would want 0.0.0.0:18083. A test that wants the HTTP API
 * asks for it (`dashboard` in the node's spec), which binds it to a loopback port of its own.
 */
export const NO_DASHBOARD_LISTENER: Readonly<NodeJS.ProcessEnv> = {
  EMQX_DASHBOARD__LISTENERS__HTTP__ENABLE: 'false',
};

export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...NO_MQTT_LISTENERS, ...NO_DASHBOARD_LISTENER };
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EMQX_')) env[k] = v;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Runs a command to completion, bounded by timeoutMs; never rejects for a non-zero exit. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { env: opts.env ?? cleanEnv(), cwd: opts.cwd ?? ROOT, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    if (child.stdin) {
      // A command that exits without reading its input is not an error of the test.
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    }
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      if (child.pid !== undefined) child.kill('SIGKILL');
      stderr += `\n[launcher helper: killed after ${timeoutMs} ms]`;
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, durationMs: performance.now() - started });
    });
  });
}

/** true when nothing listens on 127.0.0.1:port right now. */
export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * The lowest port the kernel hands out to outgoing connections (net.ipv4.ip_local_port_range).
 * Ports for listeners are taken below it: a port the kernel picked (listen on port 0) may be given
 * to any outgoing connection (a CLI's, a link's) before the node binds it.
 */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 11000 ? low : 32768;
  } catch {
    return 32768;
  }
}
const PORT_FLOOR = 10000;

/** A free TCP port on 127.0.0.1 below the ephemeral range (random, bounded tries; else the kernel's). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const low = ephemeralLow();
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = PORT_FLOOR + Math.floor(Math.random() * (low - PORT_FLOOR));
    if (await portIsFree(port, host)) return port;
  }
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ port: 0, host }, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * A `node.dist_base_port` under which the distribution port of every given node name is free,
 * so tests running at the same time do not collide. Random below the ephemeral range (see
 * freePort), bounded tries.
 */
export async function allocDistBase(names: readonly string[], host = '127.0.0.1'): Promise<number> {
  const low = ephemeralLow();
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = PORT_FLOOR + Math.floor(Math.random() * (low - PORT_FLOOR));
    const ports = names.map((n) => distPort(n, base));
    if (ports.some((p) => p >= low)) continue;
    let free = true;
    for (const p of ports) if (!(await portIsFree(p, host))) free = false;
    if (free) return base;
  }
  throw new Error('no free distribution port range found after 50 tries');
}

export interface TestNodeSpec {
  /** Node name, e.g. `emqx1@127.0.0.1` (loopback only). */
  readonly name: string;
  /** Default: a random cookie shared by every node of the same test file (see TEST_COOKIE). */
  readonly cookie?: string;
  /** node.dist_base_port (see allocDistBase); default: one allocated for this node alone. */
  readonly distBasePort?: number;
  /** Extra HOCON appended to the node's etc/emqx.conf. */
  readonly conf?: string;
  /** Extra environment (wins over everything the helper sets); `undefined` unsets. */
  readonly env?: NodeJS.ProcessEnv;
  /** Reuse this sandbox directory (e.g. to restart a node on the same data) instead of a new one. */
  readonly dir?: string;
  /**
   * MQTT listeners on loopback ports of their own: `tcp:default` (mqttPort) and, with `ws`,
   * `ws:default` (wsPort). Without it the node opens no MQTT listener (NO_MQTT_LISTENERS).
   */
  readonly mqtt?: boolean | { readonly ws?: boolean };
  /** The dashboard's HTTP listener on a loopback port of its own (dashboardPort). Without it: none. */
  readonly dashboard?: boolean;
}

/** One cookie per test process: nodes of a test can talk to each other by default. */
export const TEST_COOKIE = `test-${randomBytes(12).toString('hex')}`;

export interface TestNode {
  readonly name: string;
  /** The sandbox: etc/, data/, log/ inside. */
  readonly dir: string;
  readonly etcDir: string;
  readonly dataDir: string;
  readonly logDir: string;
  readonly confFile: string;
  readonly distBasePort: number;
  /** The node's distribution port (derived from its name and base port). */
  readonly distPort: number;
  /** The environment every command of this node runs with. */
  readonly env: NodeJS.ProcessEnv;
  /** With `mqtt` in the spec: the port of listener tcp:default on 127.0.0.1. */
  readonly mqttPort: number | undefined;
  /** With `mqtt: { ws: true }`: the port of listener ws:default on 127.0.0.1. */
  readonly wsPort: number | undefined;
  /** With `dashboard`: the port of the dashboard's HTTP listener on 127.0.0.1. */
  readonly dashboardPort: number | undefined;
  /** `bin/emqx <args>`. */
  emqx(args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** `bin/emqx_ctl <args>`. */
  ctl(args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** `bin/emqx start`; records the daemon's PID for cleanup. */
  start(opts?: RunOptions): Promise<RunResult>;
  /** `start` that throws (with the output and the log's tail) unless it succeeded. */
  startOk(opts?: RunOptions): Promise<RunResult>;
  /** `bin/emqx stop`. */
  stop(opts?: RunOptions): Promise<RunResult>;
  /** The daemon's PID as last seen (after start), if any. */
  readonly pid: number | undefined;
  /** Sends a signal to the daemon by PID (e.g. SIGKILL to simulate a crash). */
  kill(signal?: NodeJS.Signals): void;
  /** Resolves once the daemon's process is gone (bounded). */
  waitExit(timeoutMs?: number): Promise<void>;
  /** `console` / `foreground` as a child process (stop it with child.kill or by PID). */
  spawnForeground(mode: 'console' | 'foreground'): ChildProcess;
  /** The JSON log (log/emqx.log) as text ('' when absent). */
  logText(): string;
  /** Replaces etc/emqx.conf. */
  writeConf(text: string): void;
  /** Stops the daemon by PID (TERM, then KILL after 5 s) and removes the sandbox. Idempotent. */
  cleanup(): Promise<void>;
}

interface AfterHook {
  after(fn: () => Promise<void> | void): void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

/** A process's start time (clock ticks since boot): with the PID, it names one process for good. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Signals `pid` only if it is still the process we recorded (PIDs get reused). */
/**
 * Processes started with this sandbox's EMQX_ETC_DIR and this node's name in their environment: a
 * daemon the node never reported (it hung before `emqx pid` could answer) is found and stopped too.
 */
function sandboxPids(etcDir: string, name: string): number[] {
  const needles = [`\0EMQX_ETC_DIR=${etcDir}\0`, `\0EMQX_NODE__NAME=${name}\0`];
  const out: number[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const environ = `\0${readFileSync(`/proc/${pid}/environ`, 'latin1')}`;
      if (needles.every((n) => environ.includes(n))) out.push(Number(pid));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}

function signalOwn(pid: number, started: string | undefined, signal: NodeJS.Signals): boolean {
  if (started === undefined || startTimeOf(pid) !== started) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** Creates a sandboxed node (not started). With `t`, cleanup runs in t.after even if the test fails. */
export async function createTestNode(t: AfterHook | undefined, spec: TestNodeSpec): Promise<TestNode> {
  assertBuilt();
  const dir = spec.dir ?? mkdtempSync(join(tmpdir(), 'emqx-t-'));
  const etcDir = join(dir, 'etc');
  const dataDir = join(dir, 'data');
  const logDir = join(dir, 'log');
  const confFile = join(etcDir, 'emqx.conf');
  mkdirSync(etcDir, { recursive: true });
  const distBasePort = spec.distBasePort ?? (await allocDistBase([spec.name]));
  if (!existsSync(confFile) || spec.conf !== undefined) {
    writeFileSync(confFile, `# written by test/helpers/launcher.ts\n${spec.conf ?? ''}\n`);
  }
  const mqttPort = spec.mqtt ? await freePort() : undefined;
  const wsPort = typeof spec.mqtt === 'object' && spec.mqtt.ws ? await freePort() : undefined;
  const dashboardPort = spec.dashboard ? await freePort() : undefined;
  const mqttEnv: NodeJS.ProcessEnv = {
    ...(dashboardPort !== undefined ? { EMQX_DASHBOARD__LISTENERS__HTTP__ENABLE: 'true', EMQX_DASHBOARD__LISTENERS__HTTP__BIND: `"127.0.0.1:${dashboardPort}"` } : {}),
    ...(mqttPort !== undefined ? { EMQX_LISTENERS__TCP__DEFAULT__ENABLE: 'true', EMQX_LISTENERS__TCP__DEFAULT__BIND: `"127.0.0.1:${mqttPort}"` } : {}),
    ...(wsPort !== undefined ? { EMQX_LISTENERS__WS__DEFAULT__ENABLE: 'true', EMQX_LISTENERS__WS__DEFAULT__BIND: `"127.0.0.1:${wsPort}"` } : {}),
  };
  const env = cleanEnv({
    ...mqttEnv,
    EMQX_ETC_DIR: etcDir,
    EMQX_NODE__NAME: spec.name,
    EMQX_NODE__DATA_DIR: dataDir,
    EMQX_LOG_DIR: logDir,
    EMQX_NODE__COOKIE: spec.cookie ?? TEST_COOKIE,
    EMQX_NODE__DIST_BASE_PORT: String(distBasePort),
    ...spec.env,
  });
  let pid: number | undefined;
  let cleaned = false;
  /** Every process of this node we have seen, with its start time. */
  const pids = new Map<number, string | undefined>();
  const track = (p: number): void => {
    if (!pids.has(p)) pids.set(p, startTimeOf(p));
  };
  const children = new Set<ChildProcess>();

  const readPid = async (): Promise<void> => {
    const r = await run(BIN_EMQX, ['pid'], { env, timeoutMs: 10_000 });
    const n = Number(r.stdout.trim());
    if (r.code === 0 && Number.isInteger(n) && n > 0) {
      pid = n;
      track(n);
    }
  };

  const node: TestNode = {
    name: spec.name,
    mqttPort,
    wsPort,
    dashboardPort,
    dir,
    etcDir,
    dataDir,
    logDir,
    confFile,
    distBasePort,
    distPort: distPort(spec.name, distBasePort),
    env,
    async emqx(args, opts) {
      const r = await run(BIN_EMQX, args, { env, ...opts });
      if (r.code === 0 && (args[0] === 'start' || args[0] === 'restart')) await readPid();
      return r;
    },
    ctl: (args, opts) => run(BIN_EMQX_CTL, args, { env, ...opts }),
    async start(opts) {
      const r = await run(BIN_EMQX, ['start'], { env, timeoutMs: 60_000, ...opts });
      if (r.code === 0) await readPid();
      return r;
    },
    async startOk(opts) {
      const r = await node.start(opts);
      if (r.code !== 0) {
        const tail = node.logText().split('\n').slice(-20).join('\n');
        throw new Error(`emqx start of ${spec.name} failed (exit ${r.code})\nstdout: ${r.stdout}\nstderr: ${r.stderr}\nlog tail:\n${tail}`);
      }
      return r;
    },
    stop: (opts) => run(BIN_EMQX, ['stop'], { env, ...opts }),
    get pid() {
      return pid;
    },
    kill(signal = 'SIGTERM') {
      if (pid === undefined) throw new Error(`node ${spec.name} has no known PID (not started?)`);
      if (!signalOwn(pid, pids.get(pid), signal)) throw new Error(`node ${spec.name} (pid ${pid}) is not running`);
    },
    async waitExit(timeoutMs = 10_000) {
      if (pid === undefined) return;
      if (!(await waitGone(pid, timeoutMs))) throw new Error(`node ${spec.name} (pid ${pid}) still running after ${timeoutMs} ms`);
    },
    spawnForeground(mode) {
      const child = spawn(BIN_EMQX, [mode], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(child);
      if (child.pid !== undefined) track(child.pid);
      return child;
    },
    logText() {
      try {
        return readFileSync(join(logDir, 'emqx.log'), 'utf8');
      } catch {
        return '';
      }
    },
    writeConf(text) {
      writeFileSync(confFile, text);
    },
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      for (const p of sandboxPids(env.EMQX_ETC_DIR ?? etcDir, env.EMQX_NODE__NAME ?? spec.name)) track(p);
      for (const [p, started] of pids) {
        if (!isAlive(p) || !signalOwn(p, started, 'SIGTERM')) continue;
        if (!(await waitGone(p, 5000))) {
          signalOwn(p, started, 'SIGKILL');
          await waitGone(p, 2000);
        }
      }
      if (process.env.EMQX_TEST_KEEP === '1') {
        appendFileSync(join(dir, 'KEPT'), `kept for inspection by EMQX_TEST_KEEP=1\n`);
      } else if (spec.dir === undefined) {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  t?.after(() => node.cleanup());
  return node;
}

/**
 * Several sandboxed nodes (not started) sharing one distribution port base, e.g.
 * `const [n1, n2, n3] = await createTestNodes(t, ['emqx1@127.0.0.1', 'emqx2@127.0.0.1', 'emqx3@127.0.0.1'])`.
 */
export async function createTestNodes(t: AfterHook | undefined, names: readonly string[], spec: Omit<TestNodeSpec, 'name' | 'dir'> = {}): Promise<TestNode[]> {
  const distBasePort = spec.distBasePort ?? (await allocDistBase(names));
  const nodes: TestNode[] = [];
  for (const name of names) nodes.push(await createTestNode(t, { ...spec, name, distBasePort }));
  return nodes;
}

/** `createTestNodes`, started, the others joined to the first: one running cluster. */
export async function startCluster(t: AfterHook | undefined, names: readonly string[], spec: Omit<TestNodeSpec, 'name' | 'dir'> = {}): Promise<TestNode[]> {
  const nodes = await createTestNodes(t, names, spec);
  for (const n of nodes) await n.startOk();
  for (const n of nodes.slice(1)) {
    const r = await n.ctl(['cluster', 'join', nodes[0]!.name]);
    if (r.code !== 0) throw new Error(`${n.name} did not join ${nodes[0]!.name}: ${r.stdout}${r.stderr}`);
  }
  return nodes;
}
