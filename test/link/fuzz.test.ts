// 10,000 hostile inputs against a live listener: every one is dropped, none disturbs the node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { encodeFrame } from '../../src/link/framing.js';
import { Kind, PROTOCOL_NAME } from '../../src/link/protocol.js';
import { distPort } from '../../src/node/name.js';
import { randomBasePort, sendRaw, startNode, waitEvent } from './fixtures.js';

const INPUTS = 10_000;
const PARALLEL = 64;

function pick<T>(xs: readonly T[]): T {
  return xs[randomInt(xs.length)]!;
}

const weird: unknown[] = [null, 0, -1, 1e308, '', 'x'.repeat(400), [], {}, true, '\u0000', 'a@b', '__proto__'];

function hostileInput(self: string): Buffer {
  switch (randomInt(5)) {
    case 0:
      return randomBytes(randomInt(0, 700));
    case 1: {
      // A plausible header with a random body.
      const body = randomBytes(randomInt(0, 520));
      const h = Buffer.alloc(4);
      h.writeUInt32BE(randomInt(0, 2) === 0 ? body.length : randomInt(0, 2 ** 32), 0);
      return Buffer.concat([h, body]);
    }
    case 2: {
      // A hello with some fields wrong in type or value.
      const hello: Record<string, unknown> = {
        proto: PROTOCOL_NAME, version: 1, from: 'f@127.0.43.1', to: self, cluster: 'testcl', nonce: 'a'.repeat(64), instance: 'i',
      };
      for (let i = randomInt(1, 4); i > 0; i--) hello[pick(Object.keys(hello))] = pick(weird);
      return encodeFrame(pick([Kind.Hello, Kind.Hello, Kind.Proof, Kind.Tick, Kind.Send, 0, 255]), Buffer.from(JSON.stringify(hello)));
    }
    case 3: {
      // Valid JSON of the wrong shape, or truncated JSON.
      const s = JSON.stringify(pick([[1, 2], 'str', 42, { proto: PROTOCOL_NAME }, { version: 1 }]));
      return encodeFrame(Kind.Hello, Buffer.from(s.slice(0, randomInt(0, s.length + 1))));
    }
    default: {
      // Several frames back to back: a hello, then a bogus proof and data frames.
      const hello = { proto: PROTOCOL_NAME, version: 1, from: 'f@127.0.43.1', to: self, cluster: 'testcl', nonce: randomBytes(32).toString('hex'), instance: 'i' };
      return Buffer.concat([
        encodeFrame(Kind.Hello, Buffer.from(JSON.stringify(hello))),
        encodeFrame(Kind.Proof, Buffer.from(JSON.stringify({ mac: randomBytes(32).toString('hex') }))),
        encodeFrame(Kind.Send, randomBytes(randomInt(0, 100))),
      ]);
    }
  }
}

test(`${INPUTS} hostile inputs are dropped without disturbing an existing link`, async (t) => {
  const base = randomBasePort();
  const a = await startNode(t, 'a1@127.0.43.1', { basePort: base, handshakeTimeoutMs: 2000 });
  const b = await startNode(t, 'b2@127.0.43.2', { basePort: base });
  a.handle('e', (_f, p) => p);
  const linked = waitEvent(a, 'nodeup');
  await b.connect(a.self);
  await linked;
  let ups = 0;
  a.on('nodeup', () => ups++);
  let refused = 0;
  a.on('refused', () => refused++);
  const port = distPort(a.self, base);
  const started = Date.now();
  let next = 0;
  let pings = 0;
  const worker = async (w: number): Promise<void> => {
    while (next < INPUTS) {
      const i = ++next;
      await sendRaw('127.0.43.1', port, hostileInput(a.self), `127.0.43.${10 + (w % 50)}`, 4000);
      if (i % 1000 === 0) {
        assert.equal(await b.call(a.self, 'e', i), i);
        pings++;
      }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, (_, w) => worker(w)));
  const took = Date.now() - started;
  t.diagnostic(`${INPUTS} inputs in ${took} ms, ${refused} refusals logged`);
  assert.equal(ups, 0, 'no hostile input made a link');
  assert.ok(pings >= 9, 'the existing link answered throughout');
  assert.ok(refused > INPUTS / 2, `most inputs were refused with a reason (${refused})`);
  assert.deepEqual(a.nodes(), [b.self]);
  assert.equal(await b.call(a.self, 'e', 'after'), 'after');
});
