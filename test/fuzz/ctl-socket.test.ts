// Garbage against a real daemon's control socket: random bytes, mutated and truncated requests,
// huge length headers, oversized bodies and slowloris clients. Each connection is answered
// with an error (or, for a request that is still valid after mutation, with its result) and
// closed; the daemon keeps serving `emqx ctl status` during and after, and holds no more file
// descriptors afterwards than before. Node address: 127.0.95.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { encodeRequest, HEADER_LENGTH, MAX_BODY_LENGTH, parseRequest, type CtlRequest } from '../../src/ctl/protocol.js';
import { exchange } from '../helpers/exchange.js';
import { createTestNode } from '../helpers/launcher.js';
import { prng } from './mutate.js';
import { mutateBytes, type Rnd } from './wire-inputs.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0xc7150c);
const INPUTS = Number(process.env.FUZZ_CTL_INPUTS ?? 20_000);
const PARALLEL = 32;
const SLOWLORIS = 48;
const REQUEST_TIMEOUT_MS = 5000;

const SAMPLES: readonly CtlRequest[] = [
  { kind: 'C', args: ['status'] },
  { kind: 'C', args: ['cluster', 'status'] },
  { kind: 'C', args: ['cluster', 'status', '--json'] },
  { kind: 'P', args: [] },
  { kind: 'I', args: [] },
  { kind: 'C', args: ['status'], expectedKey: 'not-this-nodes-key' },
];

/** A mutated request is only sent as it is when it stays harmless (it might parse as `stop`). */
function harmless(b: Buffer): boolean {
  const r = parseRequest(b);
  if (r.status !== 'ok') return true;
  const { kind, args } = r.request;
  if (kind === 'P' || kind === 'I') return true;
  return kind === 'C' && ['status', 'cluster'].includes(args[0] ?? '') && [undefined, 'status', '--json'].includes(args[1]) && args.length <= 3;
}

function input(i: number): Buffer {
  const rnd: Rnd = prng(SEED + i);
  const int = (n: number): number => Math.floor(rnd() * n);
  const sample = encodeRequest(SAMPLES[int(SAMPLES.length)]!);
  switch (int(6)) {
    case 0: { // random bytes, sometimes behind the right magic
      const b = Buffer.from(Array.from({ length: int(300) }, () => int(256)));
      return rnd() < 0.5 ? Buffer.concat([Buffer.from('ECTL'), b]) : b;
    }
    case 1: // a valid request cut short
      return sample.subarray(0, int(sample.length));
    case 2: { // a huge or wrong length header
      const b = Buffer.from(sample);
      b.writeUInt32BE([MAX_BODY_LENGTH + 1, 0x7fffffff, 0xffffffff, 2 ** 20][int(4)]!, 5);
      return b;
    }
    case 3: { // a body at the size limit that is not NUL-terminated
      const b = Buffer.alloc(HEADER_LENGTH + MAX_BODY_LENGTH, 0x41);
      b.write('ECTLC', 0, 'latin1');
      b.writeUInt32BE(MAX_BODY_LENGTH, 5);
      return b;
    }
    default: {
      const m = mutateBytes(sample, rnd);
      return harmless(m) ? m : m.subarray(0, 4);
    }
  }
}

/** Sends bytes, half-closes, and resolves with everything the daemon wrote before closing. */
const send = (path: string, bytes: Buffer, timeoutMs: number): Promise<Buffer> =>
  exchange(createConnection({ path, allowHalfOpen: true }), bytes, timeoutMs, 'the daemon (control socket)');

const fdCount = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

test(`${INPUTS} garbage inputs and ${SLOWLORIS} slowloris clients against a daemon's control socket`, async (t) => {
  const node = await createTestNode(t, { name: 'cf@127.0.95.1' });
  await node.startOk();
  const pid = node.pid!;
  const path = join(node.dataDir, 'emqx_ctl.sock');
  // Let the boot settle (log files, discovery) before counting descriptors.
  assert.equal((await node.ctl(['status'])).code, 0);
  const fds0 = fdCount(pid);

  // Slowloris: a valid header trickled one byte every 200 ms, never finished.
  const slow: Socket[] = [];
  const slowReplies = Array.from({ length: SLOWLORIS }, () =>
    new Promise<Buffer>((resolve) => {
      const s = createConnection({ path, allowHalfOpen: true });
      slow.push(s);
      const got: Buffer[] = [];
      const req = encodeRequest({ kind: 'C', args: ['status'] });
      let sent = 0;
      const trickle = setInterval(() => {
        if (sent < req.length - 1 && !s.destroyed) s.write(req.subarray(sent, ++sent));
      }, 200);
      s.on('data', (c: Buffer) => got.push(c));
      s.on('error', () => undefined);
      // The daemon ended its side with the reply: end ours, so the connection closes.
      s.on('end', () => s.end());
      s.on('close', () => {
        clearInterval(trickle);
        resolve(Buffer.concat(got));
      });
    }),
  );
  t.after(() => slow.forEach((s) => s.destroy()));

  const started = Date.now();
  let fuzzing = true;
  const statusDuring: number[] = [];
  const prober = (async () => {
    while (fuzzing) {
      const r = await node.ctl(['status'], { timeoutMs: 10_000 });
      assert.equal(r.code, 0, `ctl status during the fuzz: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /is started/);
      statusDuring.push(r.durationMs);
      await new Promise((res) => setTimeout(res, 100));
    }
  })();

  // ok: a request still valid after mutation ran (any exit code, e.g. usage for a bad command).
  const replies = { error: 0, ok: 0, mismatch: 0, probe: 0 };
  let next = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < INPUTS) {
        const i = next++;
        const bytes = input(i);
        const reply = await send(path, bytes, REQUEST_TIMEOUT_MS + 5000);
        const what = `input ${i} (seed ${SEED}): ${bytes.subarray(0, 24).toString('hex')}`;
        const magic = reply.toString('latin1', 0, 4);
        if (reply.length === 0) {
          // Only a bare connect-and-close (a liveness probe) goes unanswered.
          assert.equal(bytes.length, 0, `${what}: closed without a reply`);
          replies.probe++;
        } else if (magic === 'ECTM') {
          replies.mismatch++;
        } else {
          assert.equal(magic, 'ECTR', `${what}: reply ${reply.subarray(0, 40).toString('hex')}`);
          if (startsWithRequest(bytes)) replies.ok++;
          else {
            assert.equal(reply[4], 2, `${what}: ${reply.toString('utf8', 5)}`);
            assert.match(reply.toString('utf8', 5), /^Error: bad request on the control socket: /);
            replies.error++;
          }
        }
      }
    }),
  );
  const took = Date.now() - started;

  // Every slowloris client is cut off at the request deadline with an error.
  for (const r of await Promise.all(slowReplies)) {
    assert.equal(r.toString('latin1', 0, 4), 'ECTR');
    assert.match(r.toString('utf8', 5), /timed out waiting for the request/);
  }
  const slowTook = Date.now() - started;
  fuzzing = false;
  await prober;

  const after = await node.ctl(['status']);
  assert.equal(after.code, 0, after.stdout + after.stderr);
  let fds1 = fdCount(pid);
  for (let i = 0; i < 50 && fds1 > fds0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    fds1 = fdCount(pid);
  }
  t.diagnostic(
    `${INPUTS} inputs in ${took} ms (${Math.round((INPUTS * 1000) / took)}/s): ${JSON.stringify(replies)}; ` +
      `slowloris cut off after ${slowTook} ms; ctl status during: ${statusDuring.length} runs, ` +
      `max ${Math.max(...statusDuring).toFixed(0)} ms; fds ${fds0} -> ${fds1}`,
  );
  assert.ok(replies.error > INPUTS / 2, 'most inputs were answered with an error');
  assert.ok(statusDuring.length >= 2, 'ctl status ran during the fuzz');
  assert.ok(fds1 <= fds0, `descriptors: ${fds0} before, ${fds1} after`);
  assert.ok(existsAlive(pid), 'the daemon is still running');
});

/** The bytes begin with a complete valid request, which the daemon may run (and then answer). */
function startsWithRequest(b: Buffer): boolean {
  if (b.length < HEADER_LENGTH) return false;
  return parseRequest(b.subarray(0, HEADER_LENGTH + b.readUInt32BE(5))).status === 'ok';
}

function existsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
