import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/daemon/logger.js';

test('JSON lines in <log_dir>/emqx.log with the node name; secrets redacted wherever they sit', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = await createLogger({ logDir: join(dir, 'log'), mode: 'daemon', nodeName: 'emqx@127.0.0.1' });
  log.logger.info({ cookie: 'c00kie', node: { cookie: 'c00kie2' }, cfg: { etcd: { ssl: { password: 'pw' } } }, user: 'admin' }, 'hello');
  log.logger.child({ part: 'x' }).warn({ token: 'tk' }, 'child');
  const text = readFileSync(join(dir, 'log', 'emqx.log'), 'utf8');
  for (const secret of ['c00kie', 'c00kie2', '"pw"', '"tk"']) assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  const [first, second] = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(first!.msg, 'hello');
  assert.equal(first!.cookie, '******');
  assert.equal(first!.user, 'admin');
  assert.equal(first!.level, 30);
  assert.equal(second!.part, 'x');
  assert.equal(second!.node, 'emqx@127.0.0.1');
  assert.equal(log.logFile, join(dir, 'log', 'emqx.log'));
});

test("the file handler writes from its own level; the handlers port changes it, and stops and starts it", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'emqx.log');
  // Primary debug (say, log.console.level = debug), the file at warning.
  const log = await createLogger({ mode: 'daemon', nodeName: 'emqx@h', level: 'debug', file: { level: 'warning', path, rotationSize: null, rotationCount: 1, formatter: 'json' } });
  assert.deepEqual(log.handlers.list(), [{ id: 'default', destination: path, started: true }]);
  const msgs = (): string[] => readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { msg: string }).msg);
  log.logger.debug('d1');
  log.logger.info('i1');
  log.logger.warn('w1');
  assert.ok(log.handlers.setLevel('default', 'debug'));
  log.logger.debug('d2');
  assert.ok(log.handlers.setStarted('default', false));
  log.logger.error('e-stopped');
  assert.ok(log.handlers.setStarted('default', true));
  log.logger.info('i3');
  assert.equal(log.handlers.setLevel('console', 'debug'), false, 'no console handler in daemon mode');
  assert.deepEqual(msgs(), ['w1', 'd2', 'i3']);
});
