// Direct reads on accepted sockets (src/base/accept-onread.ts with src/mqtt/direct-read.ts), over
// real loopback connections: every byte arrives in order in chunks of their own, pause() stops the
// reads, the peer's end and the server's close behave as on a plain accepted socket.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { acceptWithOnread } from '../../src/base/accept-onread.js';
import { directReadsOf, MqttReads } from '../../src/mqtt/direct-read.js';

const WAIT_MS = 5000;

function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${WAIT_MS} ms: ${what}`)), WAIT_MS);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

interface Accepted {
  readonly socket: Socket;
  readonly chunks: Buffer[];
  /** Resolves once `bytes` bytes have been read in all. */
  until(bytes: number): Promise<void>;
}

/** A server whose accepted sockets read directly, as MQTT's TCP listeners' do. */
async function serve(): Promise<{ server: Server; port: number; accepted: Promise<Accepted> }> {
  let resolveAccepted!: (a: Accepted) => void;
  const accepted = new Promise<Accepted>((r) => (resolveAccepted = r));
  const server = createServer((socket) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const waiters: { bytes: number; resolve: () => void }[] = [];
    const reads = directReadsOf(socket);
    assert.ok(reads, 'the accepted socket reads directly');
    reads.target = (chunk) => {
      chunks.push(chunk);
      total += chunk.length;
      for (const w of waiters.filter((x) => total >= x.bytes)) w.resolve();
    };
    resolveAccepted({
      socket,
      chunks,
      until: (bytes) => (total >= bytes ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ bytes, resolve }))),
    });
  });
  let installed = false;
  server.on('listening', () => (installed = acceptWithOnread(server, () => new MqttReads(), { pauseOnCreate: false })));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  assert.ok(installed, "the server's accept was taken over");
  return { server, port: (server.address() as AddressInfo).port, accepted };
}

async function closed(server: Server): Promise<void> {
  await within(new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))), 'server.close()');
}

/** A served connection and its client, closed (client, then server) when the test ends. */
async function connection(t: TestContext): Promise<{ a: Accepted; client: Socket; port: number }> {
  const { server, port, accepted } = await serve();
  const client = connect(port, '127.0.0.1');
  t.after(async () => {
    client.destroy();
    await closed(server);
  });
  return { a: await within(accepted, 'the connection'), client, port };
}

describe('direct reads on an accepted socket', () => {
  test('every byte arrives in order, in chunks that later reads do not overwrite', async (t) => {
    const { a, client } = await connection(t);
    // Writes spaced by a round trip each arrive as reads of their own: the shared read buffer
    // is written again for each, so a chunk that were a view into it would change.
    const sent: Buffer[] = [];
    for (let i = 0; i < 50; i++) {
      const b = Buffer.alloc(1 + (i % 7) * 300, i);
      sent.push(b);
      client.write(b);
      await within(a.until(sent.reduce((n, x) => n + x.length, 0)), `write ${i}`);
    }
    const big = Buffer.alloc(300_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    sent.push(big);
    client.write(big);
    const expected = Buffer.concat(sent);
    await within(a.until(expected.length), 'the large write');
    assert.ok(a.chunks.length >= 51, `${a.chunks.length} reads`);
    assert.ok(Buffer.concat(a.chunks).equals(expected), 'the bytes read are the bytes sent, in order');
    // The socket writes back as any other.
    a.socket.write('pong');
    const [reply] = (await within(once(client, 'data'), 'the reply')) as [Buffer];
    assert.equal(reply.toString(), 'pong');
    assert.ok(a.socket.remoteAddress === '127.0.0.1' && a.socket.remotePort === client.localPort);
  });

  test('pause() stops the reads until resume()', async (t) => {
    const { a, client, port } = await connection(t);
    client.write('a');
    await within(a.until(1), 'the first byte');
    a.socket.pause();
    client.write('b');
    // Server and client share this process: 'b' is in the kernel before the probe connects, so
    // the turns of the event loop that see the probe connect would have read it, had reads gone on.
    const probe = connect(port, '127.0.0.1');
    await within(once(probe, 'connect'), 'a second connection');
    probe.destroy();
    await new Promise((r) => setImmediate(r));
    assert.equal(Buffer.concat(a.chunks).toString(), 'a', 'nothing read while paused');
    a.socket.resume();
    await within(a.until(2), 'the byte sent while paused');
    assert.equal(Buffer.concat(a.chunks).toString(), 'ab');
  });

  test("the peer's end ends the socket, and the server's close waits for it", async () => {
    const { server, port, accepted } = await serve();
    const client = connect(port, '127.0.0.1');
    const a = await within(accepted, 'the connection');
    let serverClosed = false;
    const closing = closed(server).then(() => (serverClosed = true));
    client.end('bye');
    await within(once(a.socket, 'end'), "the socket's end");
    assert.equal(Buffer.concat(a.chunks).toString(), 'bye');
    assert.equal(serverClosed, false, 'server.close() waits for the connection');
    a.socket.destroy();
    await within(closing, 'server.close() once the connection is gone');
  });
});
