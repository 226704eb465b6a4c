/**
 * MQTT clients for the broker's integration tests (test/mqtt/*.test.ts):
 *
 * - `open(port, opts)`: an mqtt.js client (v3.1, v3.1.1 or v5), connected, never reconnecting,
 *   with an `Inbox` of the messages it receives; `closeAll()` ends every client opened here.
 * - `RawClient`: bytes over node:net, packets parsed with mqtt-packet, for a client that must not
 *   acknowledge, must stop reading, or must see exactly what the broker sent (DUP, DISCONNECT).
 * - `startMqttNode(spec)`: one running node with MQTT listeners, to start in a `before` and stop
 *   (`node.cleanup()`) in an `after`.
 *
 * Every wait here is bounded and names what it waited for when it gives up.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions, type IClientPublishOptions, type ISubscriptionMap, type MqttClient } from 'mqtt';
import mqttPacket, { type IConnackPacket, type IConnectPacket, type IPublishPacket, type Packet } from 'mqtt-packet';
import { createTestNode, type RunResult, type TestNode, type TestNodeSpec } from './launcher.js';

/** A short random suffix: client ids and topics of one test never meet another's. */
export const uniq = (): string => randomBytes(4).toString('hex');

/** Rejects after `ms` naming `what` (a string, or a function read when the time is up); clears its timer either way. */
export async function within<T>(p: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` every `everyMs` until it returns a value other than undefined (bounded). */
export async function poll<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Starts a node for one test file; the caller stops it with `node.cleanup()` in its `after`. Its
 * ports are free when chosen, but another process may take one before the node binds it (the
 * kernel hands out ephemeral ports from the same range): then it is tried again on new ports.
 */
export async function startMqttNode(spec: TestNodeSpec): Promise<TestNode> {
  for (let attempt = 1; ; attempt++) {
    const node = await createTestNode(undefined, spec);
    try {
      await node.startOk();
      return node;
    } catch (err) {
      await node.cleanup();
      if (attempt >= 3 || !/ is in use/.test(String(err))) throw err;
    }
  }
}

/**
 * Replaces the node's emqx.conf with `text` and reloads (`emqx ctl conf reload`). The node also
 * watches the file and may apply it first (the command then says "no change"), so with `key`
 * this waits until `conf show <key>` prints `value`. Returns the command's result.
 */
export async function applyConf(node: TestNode, text: string, key?: string, value?: string): Promise<RunResult> {
  node.writeConf(`# written by a test\n${text}\n`);
  const r = await node.ctl(['conf', 'reload']);
  if (key !== undefined && value !== undefined) {
    await poll(async () => {
      const shown = await node.ctl(['conf', 'show', key]);
      return shown.stdout.trim().replace(/^.* = "?|"$/g, '') === value ? true : undefined;
    }, 10_000, `conf show ${key} to print ${value}`);
  }
  return r;
}

// ---- mqtt.js ----

/** The SUBACK's code for `filter` (mqtt.js rejects a v5 failure code, with the SUBACK attached). */
export async function subackCode(c: MqttClient, filter: string, qos: 0 | 1 | 2 = 1): Promise<number> {
  try {
    return (await c.subscribeAsync(filter, { qos }))[0]!.qos;
  } catch (err) {
    const granted = (err as { packet?: { granted?: number[] } }).packet?.granted;
    if (!granted) throw err;
    return granted[0]!;
  }
}

export interface Received {
  readonly topic: string;
  readonly payload: Buffer;
  readonly packet: IPublishPacket;
}

/** The messages one client received, in order, with bounded waits on them. */
export class Inbox {
  readonly messages: Received[] = [];
  readonly #waiters = new Set<() => void>();

  add(r: Received): void {
    this.messages.push(r);
    for (const w of [...this.#waiters]) w();
  }

  /** Payloads as strings, in arrival order. */
  texts(): string[] {
    return this.messages.map((m) => m.payload.toString());
  }

  /** Resolves when `done()` holds. */
  until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return waitFor(this.#waiters, done, timeoutMs, () => `${what}; received ${this.messages.length}: ${this.messages.slice(-10).map((m) => `${m.topic}=${m.payload.toString().slice(0, 40)}`).join(', ')}`);
  }

  /** Resolves when `done()` holds, checked whenever any of `inboxes` receives a message. */
  static untilAny(inboxes: readonly Inbox[], done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const stop = (): void => {
        clearTimeout(timer);
        for (const i of inboxes) i.#waiters.delete(check);
      };
      const check = (): void => {
        if (!done()) return;
        stop();
        resolve();
      };
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received ${inboxes.map((i) => i.messages.length).join(', ')}`));
      }, timeoutMs);
      for (const i of inboxes) i.#waiters.add(check);
      check();
    });
  }

  /** Waits until `n` messages have arrived (in total) and returns them all. */
  async count(n: number, timeoutMs = 5000): Promise<Received[]> {
    await this.until(() => this.messages.length >= n, timeoutMs, `${n} messages`);
    return this.messages;
  }

  /** The first message (from the start) matching `pred`. */
  async find(pred: (r: Received) => boolean, timeoutMs = 5000, what = 'a matching message'): Promise<Received> {
    let found: Received | undefined;
    await this.until(() => (found = this.messages.find(pred)) !== undefined, timeoutMs, what);
    return found!;
  }

  /** The first message on `topic` whose payload is `payload` (or any payload). */
  get(topic: string, payload?: string, timeoutMs = 5000): Promise<Received> {
    return this.find((m) => m.topic === topic && (payload === undefined || m.payload.toString() === payload), timeoutMs, `${topic}${payload === undefined ? '' : `=${payload}`}`);
  }
}

export interface Client {
  readonly mqtt: MqttClient;
  readonly inbox: Inbox;
  /** The CONNACK of the first connection. */
  readonly connack: IConnackPacket;
  /** The DISCONNECT the broker sent, if any. */
  disconnect: Packet | undefined;
  /** Resolves once the connection is closed (by either side). */
  readonly closed: Promise<void>;
  isClosed: boolean;
  subscribe(topic: string | string[] | ISubscriptionMap, opts?: Parameters<MqttClient['subscribeAsync']>[1]): ReturnType<MqttClient['subscribeAsync']>;
  publish(topic: string, payload: string | Buffer, opts?: IClientPublishOptions): Promise<unknown>;
  /** A normal DISCONNECT (v5 reason code and properties optional). */
  end(opts?: { reasonCode?: number; properties?: Record<string, unknown> }): Promise<void>;
  /** Drops the TCP connection without DISCONNECT (an abnormal close). */
  destroy(): Promise<void>;
}

const clients = new Set<MqttClient>();

/** What a timed-out wait says about its client: connected or not, and why it was closed. */
function stateOf(c: Client): string {
  const m = c.mqtt;
  const how = c.isClosed ? 'closed' : m.connected ? 'connected' : m.reconnecting ? 'reconnecting' : 'not connected';
  const d = c.disconnect as { reasonCode?: number } | undefined;
  const queued = (m as unknown as { queue?: unknown[] }).queue?.length ?? 0;
  return `client ${m.options.clientId} ${how}${d ? `, DISCONNECT 0x${(d.reasonCode ?? 0).toString(16)} from the broker` : ''}${queued > 0 ? `, ${queued} packets queued unsent` : ''}`;
}

export type OpenOptions = IClientOptions & { readonly host?: string; readonly url?: string };

/** A connected mqtt.js client (no reconnect). Rejects on a refused CONNACK or after 10 s. */
export async function open(port: number, opts: OpenOptions = {}): Promise<Client> {
  const { host = '127.0.0.1', url, ...rest } = opts;
  const options: IClientOptions = {
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    clientId: `c-${uniq()}`,
    ...(rest.protocolVersion === 3 ? { protocolId: 'MQIsdp' } : {}),
    ...rest,
  };
  const m = mqtt.connect(url ?? `mqtt://${host.includes(':') ? `[${host}]` : host}:${port}`, options);
  clients.add(m);
  const inbox = new Inbox();
  m.on('message', (topic, payload, packet) => inbox.add({ topic, payload, packet }));
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const c: Client = {
    mqtt: m,
    inbox,
    connack: undefined as unknown as IConnackPacket,
    disconnect: undefined,
    closed,
    isClosed: false,
    subscribe: (topic, o) => within(m.subscribeAsync(topic as string, o ?? { qos: 0 }), 5000, () => `SUBACK for ${JSON.stringify(topic)} (${stateOf(c)})`),
    publish: (topic, payload, o) => within(m.publishAsync(topic, payload, o ?? {}), 5000, () => `the acknowledgement of a PUBLISH to ${topic} (${stateOf(c)})`),
    end: (o) => within(m.endAsync(false, o ?? {}), 5000, 'client end'),
    destroy: async () => {
      (m.stream as Socket).destroy();
      await within(closed, 5000, 'socket close');
    },
  };
  m.on('disconnect', (p) => (c.disconnect = p));
  m.on('close', () => {
    c.isClosed = true;
    resolveClosed();
  });
  const connack = await within(
    new Promise<IConnackPacket>((resolve, reject) => {
      m.once('connect', resolve);
      m.once('error', (err) => {
        m.end(true);
        reject(err);
      });
      m.once('close', () => reject(new Error('closed before CONNACK')));
    }),
    11_000,
    `CONNACK on port ${port}`,
  );
  (c as { connack: IConnackPacket }).connack = connack;
  m.on('error', () => undefined);
  return c;
}

/** Ends every mqtt.js client opened through `open` (for an `after` hook). */
export async function closeAll(): Promise<void> {
  const all = [...clients];
  clients.clear();
  await Promise.all(all.map((m) => new Promise<void>((resolve) => m.end(true, {}, () => resolve()))));
}

// ---- raw ----

export type Level = 3 | 4 | 5;

/** One MQTT connection over node:net: what is sent and what comes back, packet by packet. */
export class RawClient {
  readonly received: Packet[] = [];
  closed = false;
  parseError: Error | undefined;
  readonly #waiters = new Set<() => void>();
  static readonly #open = new Set<RawClient>();

  private constructor(
    readonly socket: Socket,
    readonly level: Level,
  ) {
    const parser = mqttPacket.parser({ protocolVersion: level });
    parser.on('packet', (p: Packet) => {
      this.received.push(p);
      this.#notify();
    });
    parser.on('error', (err: Error) => {
      this.parseError ??= err;
      this.#notify();
    });
    socket.on('data', (d: Buffer) => parser.parse(d));
    socket.on('error', () => undefined);
    socket.once('close', () => {
      this.closed = true;
      RawClient.#open.delete(this);
      this.#notify();
    });
    RawClient.#open.add(this);
  }

  static connect(port: number, level: Level, host = '127.0.0.1'): Promise<RawClient> {
    return within(
      new Promise((resolve, reject) => {
        const socket = netConnect({ host, port });
        socket.setNoDelay(true);
        socket.once('connect', () => {
          socket.off('error', reject);
          resolve(new RawClient(socket, level));
        });
        socket.once('error', reject);
      }),
      10_000,
      `TCP connect to ${host}:${port}`,
    );
  }

  /** Connects and completes CONNECT/CONNACK (refused CONNACK: throws). */
  static async session(port: number, level: Level, clientId: string, extra: Partial<IConnectPacket> = {}): Promise<{ raw: RawClient; connack: IConnackPacket }> {
    const raw = await RawClient.connect(port, level);
    const connack = await raw.handshake(clientId, extra);
    return { raw, connack };
  }

  static destroyAll(): void {
    for (const c of RawClient.#open) c.socket.destroy();
    RawClient.#open.clear();
  }

  #notify(): void {
    for (const w of [...this.#waiters]) w();
  }

  send(p: Packet): void {
    if (!this.socket.destroyed) this.socket.write(mqttPacket.generate(p, { protocolVersion: this.level }));
  }

  async handshake(clientId: string, extra: Partial<IConnectPacket> = {}): Promise<IConnackPacket> {
    this.send({ cmd: 'connect', protocolId: this.level === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: this.level, clientId, clean: true, keepalive: 60, ...extra } as IConnectPacket);
    const p = await this.next<IConnackPacket>((q) => q.cmd === 'connack', 5000, 'CONNACK');
    const rc = this.level === 5 ? p.reasonCode : p.returnCode;
    if (rc !== 0) throw new Error(`CONNACK refused the connection: ${rc}`);
    return p;
  }

  until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return waitFor(this.#waiters, done, timeoutMs, () => `${what}; received ${this.received.map((p) => p.cmd).join(', ') || 'nothing'}${this.closed ? ', connection closed' : ''}`);
  }

  /** The first packet received from index `from` on that matches `pred`. */
  async next<P extends Packet = Packet>(pred: (p: Packet) => boolean, timeoutMs: number, what: string, from = 0): Promise<P> {
    let found: Packet | undefined;
    await this.until(() => (found = this.received.slice(from).find(pred)) !== undefined || this.closed, timeoutMs, what);
    found ??= this.received.slice(from).find(pred);
    if (found === undefined) throw new Error(`connection closed before ${what}; received ${this.received.map((p) => p.cmd).join(', ') || 'nothing'}`);
    return found as P;
  }

  publishes(): IPublishPacket[] {
    return this.received.filter((p): p is IPublishPacket => p.cmd === 'publish');
  }

  waitClosed(timeoutMs: number, what = 'the broker to close the connection'): Promise<void> {
    return this.until(() => this.closed, timeoutMs, what);
  }

  /** Stops reading: the kernel buffers fill, then the broker's writes back up. */
  stopReading(): void {
    this.socket.pause();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * A minimal CONNECT written byte by byte (mqtt-packet refuses to write some that a broker must
 * answer: an empty client id without a clean session, protocol levels it does not know).
 */
export function connectBytes(level: number, clientId: string, opts: { clean?: boolean; keepalive?: number } = {}): Buffer {
  const name = Buffer.from(level === 3 ? 'MQIsdp' : 'MQTT');
  const id = Buffer.from(clientId);
  const body = Buffer.concat([
    Buffer.from([name.length >> 8, name.length & 0xff]),
    name,
    Buffer.from([level, opts.clean === false ? 0 : 0x02, 0, opts.keepalive ?? 60]),
    level === 5 ? Buffer.from([0]) : Buffer.alloc(0),
    Buffer.from([id.length >> 8, id.length & 0xff]),
    id,
  ]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/**
 * Whether process `pid` has a listening TCP socket on `port` (any address, IPv4 or IPv6), read
 * from /proc: unlike a connect, not fooled by another process that took the port meanwhile.
 */
export function listensOn(pid: number, port: number): boolean {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is HEX_IP:HEX_PORT, st 0A is LISTEN, the inode is the 10th field.
      if (f.length > 9 && f[3] === '0A' && parseInt(f[1]!.split(':')[1]!, 16) === port) inodes.add(f[9]!);
    }
  }
  if (inodes.size === 0) return false;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m && inodes.has(m[1]!)) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

/** Reads a `name : value` table (`broker stats|metrics`) into numbers by name. */
export function parseTable(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s*:\s*(\S+)$/.exec(line.trim());
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** Resolves once `done()` holds, checked now and whenever a member of `waiters` is called. */
function waitFor(waiters: Set<() => void>, done: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!done()) return;
      clearTimeout(timer);
      waiters.delete(check);
      resolve();
    };
    const timer = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${describe()}`));
    }, timeoutMs);
    waiters.add(check);
    check();
  });
}
