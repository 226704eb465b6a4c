// Refused incoming connections cannot flood the log: 200 idle connections used to write 200
// `link refused` lines; now a few, then one line with the count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { createDist } from '../../src/link/index.js';
import { distPort } from '../../src/node/name.js';
import { capturingLogger, randomBasePort, until } from './fixtures.js';

const base = randomBasePort();
const A = 'a1@127.0.45.1';

async function idleConnections(n: number, port: number): Promise<Socket[]> {
  return Promise.all(
    Array.from({ length: n }, () => new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: '127.0.45.1', port, localAddress: '127.0.45.2' });
      s.on('error', () => undefined);
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    })),
  );
}

test('200 idle connections: ten refusal lines, then one line counting the rest', async (t) => {
  const cap = capturingLogger(A);
  const a = createDist({ self: A, cookie: 'c', clusterName: 'testcl', protoDist: 'inet_tcp', netTicktimeMs: 4000, basePort: base, logger: cap.logger, handshakeTimeoutMs: 300 });
  await a.start();
  let stopped = false;
  t.after(() => (stopped ? undefined : a.stop()));
  let refused = 0;
  a.on('refused', () => void refused++);
  const sockets = await idleConnections(200, distPort(A, base));
  t.after(() => sockets.forEach((s) => s.destroy()));
  await until(() => refused === 200, 5000, 'every connection refused');
  // The summary comes at the end of its window, or when the node stops.
  await a.stop();
  stopped = true;
  const lines = cap.records().filter((r) => r.msg === 'link refused');
  const summaries = cap.records().filter((r) => typeof r.msg === 'string' && r.msg.includes('more incoming links refused'));
  assert.equal(lines.length, 10);
  assert.equal(summaries.length, 1);
  assert.equal(summaries[0]!.refused, 190);
  assert.deepEqual(summaries[0]!.reasons, { timeout: 190 });
});

test('the count is written when its window ends', async (t) => {
  const cap = capturingLogger(A);
  const a = createDist({
    self: A, cookie: 'c', clusterName: 'testcl', protoDist: 'inet_tcp', netTicktimeMs: 4000, basePort: base + 1, logger: cap.logger,
    handshakeTimeoutMs: 200, inboundRefusalLog: { lines: 2, windowMs: 600 },
  });
  await a.start();
  t.after(() => a.stop());
  const sockets = await idleConnections(5, distPort(A, base + 1));
  t.after(() => sockets.forEach((s) => s.destroy()));
  await until(() => cap.records().some((r) => r.refused === 3), 3000, 'the window\'s count');
  assert.equal(cap.records().filter((r) => r.msg === 'link refused').length, 2);
});
