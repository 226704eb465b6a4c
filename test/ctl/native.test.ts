// The native client (native/emqx_ctl.c) against the real control socket server, in-process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { CtlServer } from '../../src/ctl/server.js';
import { pointerDir, pointerKey, selectorEtcDir, writePointer } from '../../src/ctl/pointer.js';
import { skipOrFail } from '../helpers/prerequisite.js';

const ROOT = join(import.meta.dirname, '..', '..');

function runAsync(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
  });
}

test('the native client ferries arguments and a large reply byte for byte, with the exit code', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'native-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  mkdirSync(join(work, 'build'));
  mkdirSync(join(work, 'etc'));
  const bin = join(work, 'build', 'emqx_ctl');
  const cc = spawnSync(process.env.CC ?? 'cc', ['-O2', '-o', bin, join(ROOT, 'native', 'emqx_ctl.c')], { encoding: 'utf8' });
  if ((cc.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return skipOrFail(t, `no C compiler (${process.env.CC ?? 'cc'})`);
  assert.equal(cc.status, 0, `native/emqx_ctl.c does not compile: ${cc.stderr}`);

  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, XDG_RUNTIME_DIR: work, EMQX_NODE__NAME: 'native@127.0.0.1' };
  const key = pointerKey(selectorEtcDir(work, env), env);
  const big = 'x'.repeat(300_000);
  const seen: string[][] = [];
  const server = new CtlServer({
    socketPath: join(work, 's.sock'),
    logger: pino({ level: 'silent' }),
    pointerKey: key,
    handler: (req) => {
      seen.push([req.kind, ...req.args]);
      if (req.args[0] === 'split') return { code: 1, output: `${big}\n`, stderr: 'a hint for the operator\n' };
      return req.args[0] === 'big' ? { code: 7, output: `${big}\n` } : { code: 0, output: 'pong\n' };
    },
  });
  await server.listen();
  t.after(() => server.close());
  assert.equal(writePointer(pointerDir(env), key, join(work, 's.sock')), undefined);

  const r = await runAsync(bin, ['big', 'ünï', '', 'a b'], env);
  assert.equal(r.code, 7, r.stderr);
  assert.equal(r.stdout.toString(), `${big}\n`);
  assert.deepEqual(seen[0], ['C', 'big', 'ünï', '', 'a b']);

  const ping = await runAsync(bin, ['--emqx-ping'], env);
  assert.deepEqual([ping.code, ping.stdout.toString()], [0, 'pong\n']);
  assert.deepEqual(seen[1], ['P']);

  // EMQX's text on stdout, whatever its size; our hint lines on stderr.
  const split = await runAsync(bin, ['split'], env);
  assert.equal(split.code, 1);
  assert.equal(split.stdout.toString(), `${big}\n`);
  assert.equal(split.stderr, 'a hint for the operator\n');
});
