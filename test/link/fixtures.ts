// Shared helpers of the link-layer tests: in-process nodes on their own loopback addresses.
import type { TestContext } from 'node:test';
import { randomInt } from 'node:crypto';
import { Writable } from 'node:stream';
import { connect as netConnect, type Socket } from 'node:net';
import pino from 'pino';
import { dialerHandshake } from '../../src/link/handshake-io.js';
import { distPort } from '../../src/node/name.js';
import { createDist, type Dist, type DistOptions } from '../../src/link/index.js';
import { exchange } from '../helpers/exchange.js';

export const silent = pino({ level: 'silent' });

/**
 * A base port per test file, so files running in parallel do not collide; below Linux's
 * ephemeral range (32768+) so no outgoing connection holds it.
 */
export function randomBasePort(): number {
  return 20_000 + randomInt(0, 120) * 100;
}

export async function startNode(t: TestContext, self: string, opts: Partial<DistOptions> & { basePort: number }): Promise<Dist> {
  const d = createDist({
    self, cookie: 'secret-cookie', clusterName: 'testcl', protoDist: 'inet_tcp', netTicktimeMs: 4000, logger: silent, ...opts,
  });
  await d.start();
  t.after(() => d.stop());
  return d;
}

/** Resolves with the arguments of the first matching event; rejects after timeoutMs. */
export function waitEvent<A extends unknown[]>(
  emitter: { on(e: string, f: (...a: A) => void): unknown; off(e: string, f: (...a: A) => void): unknown },
  event: string,
  pred: (...a: A) => boolean = () => true,
  timeoutMs = 5000,
): Promise<A> {
  return new Promise((resolve, reject) => {
    const f = (...a: A): void => {
      if (!pred(...a)) return;
      clearTimeout(timer);
      emitter.off(event, f);
      resolve(a);
    };
    const timer = setTimeout(() => {
      emitter.off(event, f);
      reject(new Error(`no ${event} event within ${timeoutMs} ms`));
    }, timeoutMs);
    emitter.on(event, f);
  });
}

/** Polls `cond` every 20 ms until true, failing after timeoutMs. */
export async function until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A hand-driven dialer that completes a real handshake, then lets the test misbehave. */
export async function rawLink(
  target: string,
  basePort: number,
  self: string,
  opts: { cookie?: string; cluster?: string; localAddress?: string } = {},
): Promise<Socket> {
  const { cookie = 'secret-cookie', cluster = 'testcl', localAddress = self.slice(self.indexOf('@') + 1) } = opts;
  const host = target.slice(target.indexOf('@') + 1);
  const socket = netConnect({ host, port: distPort(target, basePort), localAddress });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  await dialerHandshake(socket, { self, cookie, cluster, instance: 'raw', tls: false, dialed: target });
  return socket;
}

/** Sends raw bytes from `localAddress` and resolves when the listener has closed the connection. */
export function sendRaw(host: string, port: number, bytes: Buffer, localAddress: string, timeoutMs = 5000): Promise<Buffer> {
  return exchange(netConnect({ host, port, localAddress }), bytes, timeoutMs, 'the listener');
}

/** A logger as the daemon's (the writer's name in `node`) whose JSON lines the test can read. */
export function capturingLogger(self: string): { lines: string[]; records(): Array<Record<string, unknown>>; logger: pino.Logger } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      done();
    },
  });
  return {
    lines,
    records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    logger: pino({ level: 'debug', base: { node: self } }, sink),
  };
}
