import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { awaitReadiness, sendReadiness } from '../../src/daemon/readiness.js';

test('the readiness line is read whole even when it arrives in pieces', async () => {
  const s = new PassThrough();
  const p = awaitReadiness(s, 2000);
  s.write('{"ok":true,"pid":4');
  s.write('2,"warnings":["w"]}\n');
  assert.deepEqual(await p, { ok: true, pid: 42, warnings: ['w'] });
});

test('EOF without a line means the daemon died first; silence is bounded; garbage is reported', async () => {
  const eof = new PassThrough();
  const p1 = awaitReadiness(eof, 2000);
  eof.end();
  assert.deepEqual(await p1, { ok: false, eof: true });
  assert.deepEqual(await awaitReadiness(new PassThrough(), 50), { timeout: true });
  const junk = new PassThrough();
  const p3 = awaitReadiness(junk, 2000);
  junk.write('Segmentation fault\n');
  const r = await p3;
  assert.ok('ok' in r && !r.ok && 'error' in r && typeof r.error === 'string' && /unreadable readiness report: Segmentation fault/.test(r.error));
});

test('sendReadiness writes one JSON line and closes the descriptor', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ready-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const f = join(dir, 'r');
  const fd = openSync(f, 'w');
  sendReadiness(fd, { ok: false, error: 'port 4370 is in use' });
  assert.equal(readFileSync(f, 'utf8'), '{"ok":false,"error":"port 4370 is in use"}\n');
});
