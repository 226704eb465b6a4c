/**
 * The broker the conformance tests talk to: our node (`emqx`, the target) or mosquitto (the
 * reference, which proves the tests themselves right). Every test of this directory starts its
 * broker through this file, so the same test runs against both:
 *
 *   MQTT_BROKER_UNDER_TEST=mosquitto node --import tsx --test test/mqtt-conformance/paho.test.ts
 *
 * (default: `emqx`). Both kinds listen on loopback only, on ports chosen free at start.
 *
 * - `emqx`: a node started with test/helpers/launcher.ts (its own sandbox, stopped by PID in
 *   t.after), whose etc/emqx.conf gets the listener keys the broker reads:
 *     listeners.tcp.default { bind = "127.0.0.1:<port>" }
 *     listeners.ws.default { bind = "127.0.0.1:<wsPort>" }
 *   plus `listeners.ssl.default.enable = false` and `listeners.wss.default.enable = false` (EMQX
 *   starts those on 0.0.0.0:8883/8084 by default, which parallel tests cannot share) and the
 *   `mqtt.*` keys for the options below.
 * - `mosquitto`: a generated mosquitto.conf (`listener <port> 127.0.0.1`, `allow_anonymous true`,
 *   optionally a websockets listener), run as a child process and stopped by PID in t.after.
 *
 * A missing prerequisite (mosquitto, python3, ...) skips the test on a developer machine and fails
 * it under CI=true (see `requireTools`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, constants as fsConstants, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createTestNode, freePort } from '../helpers/launcher.js';

export type BrokerKind = 'emqx' | 'mosquitto';

export interface BrokerOptions {
  /** Also listen for MQTT over WebSocket (path /mqtt) on another loopback port. */
  readonly websockets?: boolean;
  /**
   * How long a connection may stay without a CONNECT before the broker closes it, in seconds.
   * emqx: `mqtt.idle_timeout`. mosquitto has no such setting (see `BrokerUnderTest.connectTimeoutS`).
   */
  readonly idleTimeoutS?: number;
  /** The largest packet the broker accepts (bytes). emqx: `mqtt.max_packet_size`; mosquitto: `max_packet_size`. */
  readonly maxPacketSize?: number;
  /** Cap on the client's keep alive, announced to v5 clients as Server Keep Alive. emqx: `mqtt.server_keepalive`; mosquitto: `max_keepalive`. */
  readonly serverKeepAlive?: number;
  /**
   * Topic filters every client is refused to subscribe to. mosquitto: its dynamic security plugin
   * (SUBACK 0x80 for v3.1.1, 0x87 for v5). emqx: rules `{deny, all, subscribe, [...]}` and
   * `{allow, all}` in the node's etc/acl.conf, the file of EMQX's default authorization source
   * (SUBACK 0x80 for v3.1.1, 0x87 for v5, as EMQX).
   */
  readonly denySubscribe?: readonly string[];
  /** emqx: an acl.conf copied to the node's etc/ (the default authorization source reads it). */
  readonly aclFile?: string;
  /** Extra lines for mosquitto.conf (mosquitto kind only). */
  readonly mosquittoConf?: string;
  /** Extra HOCON for etc/emqx.conf (emqx kind only). */
  readonly emqxConf?: string;
  /** Node name of the emqx kind (default `mqtt@127.0.0.1`). */
  readonly nodeName?: string;
}

export interface BrokerUnderTest {
  readonly kind: BrokerKind;
  readonly host: string;
  readonly port: number;
  readonly wsPort?: number;
  readonly pid: number;
  /** The configuration text the broker was started with (for failure messages). */
  readonly config: string;
  /**
   * Seconds after which the broker closes a connection that never sent CONNECT: emqx
   * `mqtt.idle_timeout` (15 s unless set); mosquitto 2.0 has no setting for it and closes such a
   * connection after 90 s (1.5 times the 60 s keep alive it assumes before a CONNECT; measured).
   */
  readonly connectTimeoutS: number;
  /** Stops the broker by PID (TERM, KILL after 5 s). Idempotent; also registered with t.after. */
  stop(): Promise<void>;
  /** Resident set size of the broker process, KiB (0 once gone). */
  rssKiB(): number;
  /** Peak virtual memory size of the broker process (VmPeak), KiB. */
  vmPeakKiB(): number;
  /** Open file descriptors of the broker process (-1 once gone). */
  openFds(): number;
  /** true while the broker process exists and is not a zombie. */
  alive(): boolean;
  /** The broker's own log, last part (for failure messages). */
  logTail(): string;
}

interface AfterHook {
  after(fn: () => Promise<void> | void): void;
  skip(message?: string): void;
}

export const LOOPBACK = '127.0.0.1';

/** The kind named by MQTT_BROKER_UNDER_TEST (default `emqx`). */
export function brokerKind(): BrokerKind {
  const v = process.env.MQTT_BROKER_UNDER_TEST ?? 'emqx';
  if (v !== 'emqx' && v !== 'mosquitto') throw new Error(`MQTT_BROKER_UNDER_TEST must be 'emqx' or 'mosquitto', not '${v}'`);
  return v;
}

/** Absolute path of an executable found on PATH (or in the sbin directories), or undefined. */
export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    if (d === '') continue;
    const p = join(d, name);
    try {
      accessSync(p, fsConstants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Checks that every named tool is installed. Missing: under CI=true throws (the test fails);
 * otherwise marks the test skipped with the reason and returns false.
 */
export function requireTools(t: AfterHook, names: readonly string[]): boolean {
  const missing = names.filter((n) => findExecutable(n) === undefined);
  if (missing.length === 0) return true;
  const why = `not installed: ${missing.join(', ')} (Debian: apt-get install ${missing.map(debianPackageOf).join(' ')})`;
  if (process.env.CI === 'true') throw new Error(`${why}; required under CI=true`);
  t.skip(why);
  return false;
}

function debianPackageOf(tool: string): string {
  if (tool === 'mosquitto_pub' || tool === 'mosquitto_sub') return 'mosquitto-clients';
  return tool;
}

/** mosquitto's dynamic security plugin, where Debian puts it. */
function findDynsecPlugin(): string | undefined {
  const dirs = ['/usr/lib', '/usr/local/lib'];
  for (const base of ['/usr/lib', '/usr/local/lib']) {
    try {
      for (const e of readdirSync(base, { withFileTypes: true })) if (e.isDirectory()) dirs.push(join(base, e.name));
    } catch {
      // no such directory
    }
  }
  for (const d of dirs) {
    const p = join(d, 'mosquitto_dynamic_security.so');
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** The tools a broker kind needs on this machine. */
export function toolsFor(kind: BrokerKind): string[] {
  return kind === 'mosquitto' ? ['mosquitto'] : [];
}

function procStatusKiB(pid: number, field: string): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function procAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

function procFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

/** Resolves once host:port accepts a TCP connection; rejects after timeoutMs. */
export async function waitAccepting(host: string, port: number, timeoutMs: number, isDead?: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = netConnect({ host, port });
      const done = (v: boolean): void => {
        s.destroy();
        resolve(v);
      };
      s.setTimeout(1000, () => done(false));
      s.once('connect', () => done(true));
      s.once('error', () => done(false));
    });
    if (ok) return;
    const dead = isDead?.();
    if (dead !== undefined) throw new Error(dead);
    if (Date.now() > deadline) throw new Error(`nothing accepts connections on ${host}:${port} after ${timeoutMs} ms`);
    // A refused connect returns at once; pace the retries.
    await new Promise((r) => setTimeout(r, 50));
  }
}

function procHandles(pid: () => number): Pick<BrokerUnderTest, 'rssKiB' | 'vmPeakKiB' | 'openFds' | 'alive'> {
  return {
    rssKiB: () => procStatusKiB(pid(), 'VmRSS'),
    vmPeakKiB: () => procStatusKiB(pid(), 'VmPeak'),
    openFds: () => procFds(pid()),
    alive: () => procAlive(pid()),
  };
}

/** The emqx.conf text for the emqx kind (exported for the report and the README). */
export function emqxConfText(port: number, wsPort: number, opts: BrokerOptions = {}): string {
  const lines = [
    `listeners.tcp.default { bind = "${LOOPBACK}:${port}" }`,
    `listeners.ws.default { bind = "${LOOPBACK}:${wsPort}" }`,
    'listeners.ssl.default.enable = false',
    'listeners.wss.default.enable = false',
  ];
  if (opts.idleTimeoutS !== undefined) lines.push(`mqtt.idle_timeout = ${opts.idleTimeoutS}s`);
  if (opts.maxPacketSize !== undefined) {
    const n = opts.maxPacketSize;
    lines.push(`mqtt.max_packet_size = ${n % 1024 === 0 ? `${n / 1024}KB` : n}`);
  }
  if (opts.serverKeepAlive !== undefined) lines.push(`mqtt.server_keepalive = ${opts.serverKeepAlive}`);
  if (opts.emqxConf !== undefined) lines.push(opts.emqxConf);
  return lines.join('\n') + '\n';
}

/** The mosquitto.conf text for the mosquitto kind. */
export function mosquittoConfText(port: number, wsPort: number | undefined, pluginLines: readonly string[], opts: BrokerOptions = {}): string {
  const lines = [
    'per_listener_settings false',
    'allow_anonymous true',
    'persistence false',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    'connection_messages false',
    `listener ${port} ${LOOPBACK}`,
  ];
  // mosquitto 2.0.11 (libwebsockets) binds a websockets listener on every interface whatever the
  // address given; the tests still only connect to it over loopback.
  if (wsPort !== undefined) lines.push(`listener ${wsPort} ${LOOPBACK}`, 'protocol websockets');
  if (opts.maxPacketSize !== undefined) lines.push(`max_packet_size ${opts.maxPacketSize}`);
  if (opts.serverKeepAlive !== undefined) lines.push(`max_keepalive ${opts.serverKeepAlive}`);
  lines.push(...pluginLines);
  if (opts.mosquittoConf !== undefined) lines.push(opts.mosquittoConf);
  return lines.join('\n') + '\n';
}

/** Starts the broker under test; it is stopped by PID in t.after (or by `stop()`). */
export async function startBrokerUnderTest(t: AfterHook, kind: BrokerKind, opts: BrokerOptions = {}): Promise<BrokerUnderTest> {
  return kind === 'mosquitto' ? startMosquitto(t, opts) : startEmqx(t, opts);
}

async function startEmqx(t: AfterHook, opts: BrokerOptions): Promise<BrokerUnderTest> {
  const port = await freePort(LOOPBACK);
  let wsPort = await freePort(LOOPBACK);
  while (wsPort === port) wsPort = await freePort(LOOPBACK);
  const config = emqxConfText(port, wsPort, opts);
  // The launcher turns every default listener off through the environment (which beats the
  // file): these two are switched back on, at the addresses the file gives them.
  const node = await createTestNode(t, {
    name: opts.nodeName ?? 'mqtt@127.0.0.1',
    conf: config,
    env: { EMQX_LISTENERS__TCP__DEFAULT__ENABLE: 'true', EMQX_LISTENERS__WS__DEFAULT__ENABLE: 'true' },
  });
  if (opts.aclFile !== undefined) writeFileSync(join(node.etcDir, 'acl.conf'), readFileSync(opts.aclFile));
  else if (opts.denySubscribe !== undefined && opts.denySubscribe.length > 0) {
    writeFileSync(join(node.etcDir, 'acl.conf'), `{deny, all, subscribe, [${opts.denySubscribe.map((f) => JSON.stringify(f)).join(', ')}]}.\n{allow, all}.\n`);
  }
  await node.startOk();
  const pid = node.pid;
  if (pid === undefined) throw new Error('emqx start succeeded but `emqx pid` named no process');
  const logTail = (): string => node.logText().split('\n').slice(-40).join('\n');
  try {
    await waitAccepting(LOOPBACK, port, 10_000, () => (procAlive(pid) ? undefined : `the node (pid ${pid}) exited`));
  } catch (err) {
    throw new Error(`the node started but its MQTT listener does not answer: ${(err as Error).message}\nemqx.conf:\n${config}log tail:\n${logTail()}`, { cause: err });
  }
  if (opts.websockets === true) await waitAccepting(LOOPBACK, wsPort, 10_000);
  return {
    kind: 'emqx',
    host: LOOPBACK,
    port,
    wsPort,
    pid,
    config,
    connectTimeoutS: opts.idleTimeoutS ?? 15,
    stop: () => node.cleanup(),
    ...procHandles(() => pid),
    logTail,
  };
}

async function startMosquitto(t: AfterHook, opts: BrokerOptions): Promise<BrokerUnderTest> {
  const bin = findExecutable('mosquitto');
  if (bin === undefined) throw new Error('mosquitto is not installed (Debian: apt-get install mosquitto)');
  const dir = mkdtempSync(join(tmpdir(), 'mqtt-but-'));
  // Started as root, mosquitto drops to its own user, which must still read (and its security
  // plugin write) the files here.
  chmodSync(dir, 0o755);
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = '';
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const c = child;
    if (c !== undefined && c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
      process.kill(c.pid, 'SIGTERM');
      const killer = setTimeout(() => {
        if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) process.kill(c.pid, 'SIGKILL');
      }, 5000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  t.after(stop);

  let aclLines: string[] = [];
  if (opts.denySubscribe !== undefined && opts.denySubscribe.length > 0) {
    // mosquitto's acl_file never refuses a SUBSCRIBE (it checks read access when delivering);
    // its dynamic security plugin does, for anonymous clients through the anonymous group.
    const plugin = findDynsecPlugin();
    if (plugin === undefined) throw new Error('denySubscribe needs mosquitto_dynamic_security.so (Debian: part of the mosquitto package)');
    const dynsecFile = join(dir, 'dynamic-security.json');
    const dynsec = {
      defaultACLAccess: { publishClientSend: true, publishClientReceive: true, subscribe: true, unsubscribe: true },
      clients: [],
      groups: [{ groupname: 'anonymous', roles: [{ rolename: 'refused-filters' }] }],
      roles: [{ rolename: 'refused-filters', acls: opts.denySubscribe.map((topic) => ({ acltype: 'subscribePattern', topic, allow: false })) }],
      anonymousGroup: 'anonymous',
    };
    writeFileSync(dynsecFile, JSON.stringify(dynsec, null, 2) + '\n', { mode: 0o666 });
    aclLines = [`plugin ${plugin}`, `plugin_opt_config_file ${dynsecFile}`];
  }
  // A port chosen free can be taken before mosquitto binds it: retry with new ports.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort(LOOPBACK);
    let wsPort: number | undefined;
    if (opts.websockets === true) {
      wsPort = await freePort(LOOPBACK);
      while (wsPort === port) wsPort = await freePort(LOOPBACK);
    }
    const config = mosquittoConfText(port, wsPort, aclLines, opts);
    const confFile = join(dir, 'mosquitto.conf');
    writeFileSync(confFile, config);
    log = '';
    const c = spawn(bin, ['-c', confFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    exited = new Promise((resolve) => c.once('exit', () => resolve()));
    c.stderr!.setEncoding('utf8').on('data', (d: string) => {
      log = (log + d).slice(-64 * 1024);
    });
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000);
      const onData = (): void => {
        if (/ running\b/.test(log)) finish(true);
      };
      const onExit = (): void => finish(false);
      const finish = (v: boolean): void => {
        clearTimeout(timer);
        c.stderr!.off('data', onData);
        c.off('exit', onExit);
        resolve(v);
      };
      c.stderr!.on('data', onData);
      c.once('exit', onExit);
      onData();
    });
    if (!ready) {
      const pid = c.pid;
      if (pid !== undefined && c.exitCode === null && c.signalCode === null) {
        process.kill(pid, 'SIGKILL');
        await exited;
      }
      if (attempt < 5 && /in use/i.test(log)) continue;
      throw new Error(`mosquitto did not start (attempt ${attempt}):\n${log}\nconfig:\n${config}`);
    }
    await waitAccepting(LOOPBACK, port, 5000);
    if (wsPort !== undefined) await waitAccepting(LOOPBACK, wsPort, 5000);
    const pid = c.pid!;
    return {
      kind: 'mosquitto',
      host: LOOPBACK,
      port,
      ...(wsPort !== undefined ? { wsPort } : {}),
      pid,
      config,
      connectTimeoutS: 90,
      stop,
      ...procHandles(() => pid),
      logTail: () => log.split('\n').slice(-40).join('\n'),
    };
  }
}

