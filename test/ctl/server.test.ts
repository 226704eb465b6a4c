import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { CtlServer, CtlServerError, socketIsLive } from '../../src/ctl/server.js';
import { ctlRequest, CtlUnreachableError } from '../../src/ctl/client.js';
import { RequestKind } from '../../src/ctl/protocol.js';

const logger = pino({ level: 'silent' });

function sandbox(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ctl-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('request/response over the socket, mode 0600, removed on close', async (t) => {
  const path = join(sandbox(t), 's.sock');
  const server = new CtlServer({ socketPath: path, logger, handler: (req) => ({ code: req.args.length, output: `${req.kind}:${req.args.join(',')}\n` }) });
  await server.listen();
  t.after(() => server.close());
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const r = await ctlRequest(path, { kind: RequestKind.command, args: ['a', 'b'] });
  assert.deepEqual([r.code, r.output.toString()], [2, 'C:a,b\n']);
  await server.close();
  assert.ok(!existsSync(path));
  await assert.rejects(ctlRequest(path, { kind: RequestKind.ping, args: [] }), CtlUnreachableError);
});

test('the socket is a lock: a live holder refuses a second server, a stale file is replaced', async (t) => {
  const path = join(sandbox(t), 's.sock');
  const a = new CtlServer({ socketPath: path, logger, handler: () => ({ code: 0, output: 'a\n' }) });
  await a.listen();
  t.after(() => a.close());
  const b = new CtlServer({ socketPath: path, logger, handler: () => ({ code: 0, output: 'b\n' }) });
  await assert.rejects(b.listen(), (e: unknown) => e instanceof CtlServerError && e.code === 'already_running');
  assert.equal(await socketIsLive(path), true);

  // A socket file nobody listens on: what `kill -9` leaves behind. Made exactly that way.
  const stalePath = join(sandbox(t), 'stale.sock');
  const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stalePath)}, () => console.log('up'))`]);
  t.after(() => holder.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    holder.stdout.once('data', () => resolve());
    setTimeout(() => reject(new Error('holder did not start')), 5000).unref();
  });
  const gone = new Promise((r) => holder.once('exit', r));
  holder.kill('SIGKILL');
  await gone;
  assert.ok(existsSync(stalePath));
  assert.equal(await socketIsLive(stalePath), false);
  const c = new CtlServer({ socketPath: stalePath, logger, handler: () => ({ code: 0, output: 'c\n' }) });
  await c.listen();
  t.after(() => c.close());
  assert.equal((await ctlRequest(stalePath, { kind: RequestKind.ping, args: [] })).output.toString(), 'c\n');
});

test('a path longer than a Unix socket allows is refused with the numbers', async (t) => {
  const path = join(sandbox(t), 'x'.repeat(120), 's.sock');
  const s = new CtlServer({ socketPath: path, logger, handler: () => ({ code: 0, output: '' }) });
  await assert.rejects(s.listen(), /too long for a Unix socket \(\d+ bytes, the limit is 107\)/);
});

test('a client that never finishes its request is answered with an error after the timeout', async (t) => {
  const path = join(sandbox(t), 's.sock');
  const s = new CtlServer({ socketPath: path, logger, requestTimeoutMs: 100, handler: () => ({ code: 0, output: '' }) });
  await s.listen();
  t.after(() => s.close());
  const reply = await new Promise<string>((resolve, reject) => {
    const c = createConnection(path);
    let out = '';
    c.on('connect', () => c.write('ECT'));
    c.on('data', (d) => (out += d.toString('latin1')));
    c.on('close', () => resolve(out));
    c.on('error', reject);
    setTimeout(() => reject(new Error('no reply')), 3000).unref();
  });
  assert.equal(reply.slice(0, 5), 'ECTR\u0002');
  assert.match(reply.slice(5), /^Error: bad request on the control socket: timed out/);
  // Still serving.
  assert.equal((await ctlRequest(path, { kind: RequestKind.ping, args: [] })).code, 0);
});

test('a handler that throws becomes an error reply', async (t) => {
  const path = join(sandbox(t), 's.sock');
  const s = new CtlServer({ socketPath: path, logger, handler: () => Promise.reject(new Error('nope')) });
  await s.listen();
  t.after(() => s.close());
  const r = await ctlRequest(path, { kind: RequestKind.command, args: [] });
  assert.deepEqual([r.code, r.output.toString()], [1, 'Error: nope\n']);
});

test('a request meant for another node (stale pointer) is refused unrun and reads as unreachable', async (t) => {
  const path = join(sandbox(t), 's.sock');
  let ran = 0;
  const s = new CtlServer({ socketPath: path, logger, pointerKey: 'aaaa', handler: () => ({ code: 0, output: `${++ran}\n` }) });
  await s.listen();
  t.after(() => s.close());
  await assert.rejects(ctlRequest(path, { kind: RequestKind.command, args: ['x'], expectedKey: 'bbbb' }), CtlUnreachableError);
  assert.equal(ran, 0);
  assert.equal((await ctlRequest(path, { kind: RequestKind.command, args: ['x'], expectedKey: 'aaaa' })).output.toString(), '1\n');
  assert.equal((await ctlRequest(path, { kind: RequestKind.command, args: ['x'] })).output.toString(), '2\n');
});

test('a client that sends a large bad request and closes leaves no connection behind', async (t) => {
  const path = join(sandbox(t), 's.sock');
  const s = new CtlServer({ socketPath: path, logger, handler: () => ({ code: 0, output: '' }) });
  await s.listen();
  t.after(() => s.close());
  const fds = (): number => readdirSync('/proc/self/fd').length;
  const before = fds();
  for (let i = 0; i < 5; i++) {
    await new Promise<void>((resolve) => {
      const c = createConnection(path);
      c.on('error', () => undefined);
      c.on('connect', () => {
        const header = Buffer.from('ECTLC\0\0\0\0', 'latin1');
        header.writeUInt32BE(300_000, 5);
        // Written without waiting for the reply, as a client that sends garbage and leaves.
        c.write(Buffer.concat([header, Buffer.alloc(300_000, 0x41)]));
        setTimeout(() => {
          c.destroy();
          resolve();
        }, 100);
      });
    });
  }
  const end = Date.now() + 3000;
  while (fds() > before && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.equal(fds(), before, 'the server kept connections of clients that had closed');
  assert.equal((await ctlRequest(path, { kind: RequestKind.ping, args: [] })).code, 0);
});
