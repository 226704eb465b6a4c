// Link sockets over plain TCP read into buffers the frame decoder chooses (Node's `onread`), on
// both ends: dialled sockets by option, accepted ones through the listener's accept callback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo, Server, Socket } from 'node:net';
import { encodeFrame } from '../../src/link/framing.js';
import { inputOf, readsDirectly } from '../../src/link/input.js';
import { createListener, dialSocket, listen } from '../../src/link/transport.js';

async function pair(): Promise<{ server: Server; accepted: Socket; dialled: Socket }> {
  let onSocket!: (s: Socket) => void;
  const accepted = new Promise<Socket>((r) => (onSocket = r));
  const server = createListener(undefined, 5000, { onSocket, onTlsRejected: () => undefined, onTlsError: () => undefined });
  await listen(server, '127.0.0.1', 0);
  const { port } = server.address() as AddressInfo;
  const d = dialSocket('127.0.0.1', port, '127.0.0.1', undefined, '127.0.0.1');
  const [dialled, acc] = await Promise.all([d.ready, accepted]);
  return { server, accepted: acc, dialled };
}

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref())]);

test('plain TCP link sockets read directly on both ends', async () => {
  const { server, accepted, dialled } = await pair();
  try {
    assert.ok(readsDirectly(accepted), 'accepted socket');
    assert.ok(readsDirectly(dialled), 'dialled socket');
  } finally {
    accepted.destroy();
    dialled.destroy();
    server.close();
  }
});

test('frames of every size cross a direct socket pair intact, both ways; a FIN still ends the stream', async () => {
  const { server, accepted, dialled } = await pair();
  try {
    const sizes = [0, 100, 70_000, 1 << 20, 5, 3 * 65_536, 64];
    const bodies = sizes.map((n, i) => Buffer.from(Array.from({ length: n }, (_, j) => (i * 13 + j) & 0xff)));
    for (const [from, to] of [[dialled, accepted], [accepted, dialled]] as const) {
      const input = inputOf(to);
      input.decoder.maxFrame = 2 << 20;
      const got: Buffer[] = [];
      let all!: () => void;
      const done = new Promise<void>((r) => (all = r));
      input.start({
        onBytes: () => true,
        onFrame: (b) => {
          got.push(b);
          if (got.length === bodies.length) all();
        },
        onError: (e) => assert.fail(e),
      });
      for (const [i, b] of bodies.entries()) from.write(encodeFrame(i, b));
      await within(done, 10_000, 'all frames');
      got.forEach((g, i) => {
        assert.equal(g[0], i);
        assert.ok(g.subarray(1).equals(bodies[i]!), `frame ${i} (${sizes[i]} bytes) intact`);
      });
    }
    const ended = once(accepted, 'end');
    dialled.end();
    await within(ended, 5000, "the peer's FIN");
  } finally {
    accepted.destroy();
    dialled.destroy();
    server.close();
  }
});

test('closing the listener still waits for the connections it accepted', async () => {
  const { server, accepted, dialled } = await pair();
  try {
    let closed = false;
    const done = new Promise<void>((r) => server.close(() => {
      closed = true;
      r();
    }));
    // A frame across the open connection: the listener's close has had every chance to finish.
    const across = new Promise<void>((r) => inputOf(dialled).start({ onBytes: () => true, onFrame: () => r(), onError: (e) => assert.fail(e) }));
    accepted.write(encodeFrame(1, Buffer.from('x')));
    await within(across, 5000, 'a frame across');
    assert.equal(closed, false);
    accepted.destroy();
    dialled.destroy();
    await within(done, 5000, 'close after the last connection');
  } finally {
    accepted.destroy();
    dialled.destroy();
  }
});
