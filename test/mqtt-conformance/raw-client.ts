/**
 * A raw MQTT connection for the conformance tests: bytes in and out over node:net, the broker's
 * answers parsed with mqtt-packet, so a test can send anything (including what no client library
 * would) and see exactly what came back and when the broker closed. Plus small byte builders for
 * packets mqtt-packet refuses to generate.
 */
import { connect as netConnect, type Socket } from 'node:net';
import mqttPacket, { type IConnackPacket, type IConnectPacket, type Packet } from 'mqtt-packet';

/** Protocol level: 3 = MQTT 3.1, 4 = 3.1.1, 5 = 5.0. */
export type Level = 3 | 4 | 5;
export const LEVELS: readonly Level[] = [3, 4, 5];
export const levelName = (v: Level): string => (v === 3 ? 'v3.1' : v === 4 ? 'v3.1.1' : 'v5');

/** mqtt-packet's generate with the right protocol version. */
export function gen(packet: Packet, level: Level): Buffer {
  return mqttPacket.generate(packet, { protocolVersion: level });
}

/** A valid CONNECT for the level (client id `clientId`, clean session/start). */
export function connectPacket(level: Level, clientId: string, extra: Partial<IConnectPacket> = {}): Buffer {
  return gen(
    {
      cmd: 'connect',
      protocolId: level === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion: level,
      clientId,
      clean: true,
      keepalive: 60,
      ...extra,
    },
    level,
  );
}

/** MQTT Variable Byte Integer. */
export function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

/** Two-byte length followed by the bytes (MQTT's string and binary data encoding). */
export function lstr(bytes: Buffer | string): Buffer {
  const b = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** A packet from its first byte and body (the remaining length computed). */
export function frame(firstByte: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([firstByte]), varint(body.length), body]);
}

/** PUBLISH with arbitrary topic bytes; v5 gets its properties block (empty unless given). */
export function rawPublish(level: Level, topic: Buffer | string, opts: { qos?: number; id?: number; props?: Buffer; payload?: Buffer | string; retain?: boolean } = {}): Buffer {
  const qos = opts.qos ?? 0;
  const parts = [lstr(topic)];
  if (qos > 0) parts.push(u16(opts.id ?? 1));
  if (level === 5) {
    const props = opts.props ?? Buffer.alloc(0);
    parts.push(varint(props.length), props);
  }
  parts.push(typeof opts.payload === 'string' ? Buffer.from(opts.payload) : (opts.payload ?? Buffer.alloc(0)));
  return frame(0x30 | (qos << 1) | (opts.retain === true ? 1 : 0), Buffer.concat(parts));
}

/** SUBSCRIBE with arbitrary filter bytes and options bytes. */
export function rawSubscribe(level: Level, entries: readonly { filter: Buffer | string; options: number }[], opts: { id?: number; firstByte?: number; props?: Buffer } = {}): Buffer {
  const parts = [u16(opts.id ?? 1)];
  if (level === 5) {
    const props = opts.props ?? Buffer.alloc(0);
    parts.push(varint(props.length), props);
  }
  for (const e of entries) parts.push(lstr(e.filter), Buffer.from([e.options]));
  return frame(opts.firstByte ?? 0x82, Buffer.concat(parts));
}

/** UNSUBSCRIBE with arbitrary filters. */
export function rawUnsubscribe(level: Level, filters: readonly (Buffer | string)[], opts: { id?: number; firstByte?: number } = {}): Buffer {
  const parts = [u16(opts.id ?? 1)];
  if (level === 5) parts.push(varint(0));
  for (const f of filters) parts.push(lstr(f));
  return frame(opts.firstByte ?? 0xa2, Buffer.concat(parts));
}

export interface RawOptions {
  readonly host: string;
  readonly port: number;
  readonly localAddress?: string;
}

/** One raw connection. Every instance is tracked so `destroyAll` can end them in t.after. */
export class RawConnection {
  /** Packets received from the broker, in order. */
  readonly received: Packet[] = [];
  /** Bytes received from the broker. */
  bytesIn = 0;
  /** The first parse error of the broker's bytes, if any (the broker sent something malformed). */
  parseError: Error | undefined;
  closed = false;
  readonly openedAt = performance.now();
  closedAt = 0;
  private readonly listeners = new Set<() => void>();
  private readonly rawIn: Buffer[] = [];

  private static readonly open = new Set<RawConnection>();

  private constructor(
    readonly socket: Socket,
    readonly level: Level,
  ) {
    const parser = mqttPacket.parser({ protocolVersion: level });
    parser.on('packet', (p: Packet) => {
      this.received.push(p);
      this.notify();
    });
    parser.on('error', (err: Error) => {
      this.parseError ??= err;
      this.notify();
    });
    socket.on('data', (d: Buffer) => {
      this.bytesIn += d.length;
      if (this.rawIn.length < 64) this.rawIn.push(d);
      parser.parse(d);
    });
    // A reset or a write after the broker closed is an expected outcome here, not a failure.
    socket.on('error', () => undefined);
    socket.once('close', () => {
      this.closed = true;
      this.closedAt = performance.now();
      RawConnection.open.delete(this);
      this.notify();
    });
    RawConnection.open.add(this);
  }

  /** Connects (TCP only; nothing sent). */
  static connect(opts: RawOptions, level: Level, timeoutMs = 10_000): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: opts.host, port: opts.port, ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}) });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`TCP connect to ${opts.host}:${opts.port} took over ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        resolve(new RawConnection(socket, level));
      });
      const onError = (err: Error): void => {
        clearTimeout(timer);
        reject(err);
      };
      socket.once('error', onError);
    });
  }

  /** Destroys every connection still open (for t.after). */
  static destroyAll(): void {
    for (const c of RawConnection.open) c.socket.destroy();
    RawConnection.open.clear();
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  /** The broker's bytes so far, hex (first 64 reads), for failure messages. */
  hexIn(): string {
    return Buffer.concat(this.rawIn).subarray(0, 512).toString('hex');
  }

  /** Writes; resolves once handed to the kernel (or at once when the connection is gone). */
  write(buf: Buffer): Promise<void> {
    if (this.closed || this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.write(buf, () => resolve());
    });
  }

  /** Writes one byte at a time, each write flushed and the next one a timer turn later. */
  async writeBytewise(buf: Buffer, pauseMs = 1): Promise<void> {
    for (let i = 0; i < buf.length; i++) {
      if (this.closed) return;
      await this.write(buf.subarray(i, i + 1));
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  }

  /** Resolves when `done()` holds; rejects after timeoutMs naming `what`. */
  until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!done()) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`waited ${timeoutMs} ms for ${what}; received ${this.received.map((p) => p.cmd).join(', ') || 'nothing'}${this.closed ? ', connection closed' : ', connection open'} (bytes: ${this.hexIn() || 'none'})`));
      }, timeoutMs);
      this.listeners.add(check);
      check();
    });
  }

  /** Waits for the n-th received packet (1-based) and returns it. */
  async nth(n: number, timeoutMs: number): Promise<Packet> {
    await this.until(() => this.received.length >= n || this.closed, timeoutMs, `packet #${n}`);
    const p = this.received[n - 1];
    if (p === undefined) throw new Error(`the broker closed before sending packet #${n}; received ${this.received.map((q) => q.cmd).join(', ') || 'nothing'} (bytes: ${this.hexIn() || 'none'})`);
    return p;
  }

  /** Sends a valid CONNECT and waits for a successful CONNACK. */
  async handshake(clientId: string, extra: Partial<IConnectPacket> = {}, timeoutMs = 5000): Promise<IConnackPacket> {
    await this.write(connectPacket(this.level, clientId, extra));
    const p = await this.nth(1, timeoutMs);
    if (p.cmd !== 'connack') throw new Error(`expected CONNACK, got ${p.cmd}`);
    const rc = this.level === 5 ? p.reasonCode : p.returnCode;
    if (rc !== 0) throw new Error(`CONNACK refused the connection: ${rc}`);
    return p;
  }

  end(): void {
    this.socket.destroy();
  }
}
