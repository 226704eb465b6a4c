import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { LogLevelControl, logCommand, type LogHandlersPort } from '../../src/ctl/log.js';
import { createTestNode } from '../helpers/launcher.js';
import { waitFor } from '../helpers/cluster-status.js';

/** A logger as the node builds one (streams take every level, the logger decides), writing into `lines`. */
function capture(): { logger: pino.Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as { level: number; msg: string });
      done();
    },
  });
  return { logger: pino({ level: 'info' }, pino.multistream([{ level: 'trace', stream: sink }])), lines };
}

test('log set-level reaches the loggers parts made before the change; primary-level shows the level by its EMQX name', async () => {
  const { logger, lines } = capture();
  const part = logger.child({ part: 'mqtt' }).child({ listener: 'tcp:default' });
  const log = logCommand(new LogLevelControl(logger, 'info'));
  assert.deepEqual(await log.run(['primary-level']), { code: 0, output: 'info\n' });
  part.debug('hidden at info');
  assert.deepEqual(await log.run(['set-level', 'debug']), { code: 0, output: 'debug\n' });
  part.debug('shown at debug');
  assert.deepEqual(await log.run(['primary-level']), { code: 0, output: 'debug\n' });
  assert.deepEqual(
    lines.map((l) => l.msg),
    ['log level set to debug (emqx ctl log)', 'shown at debug'],
  );

  // notice is pino's info: shown as the operator named it.
  assert.deepEqual(await log.run(['primary-level', 'notice']), { code: 0, output: 'notice\n' });
  assert.deepEqual(await log.run(['primary-level']), { code: 0, output: 'notice\n' });

  // A level that hides info lines: the change is logged before it takes effect.
  lines.length = 0;
  assert.deepEqual(await log.run(['set-level', 'warning']), { code: 0, output: 'warning\n' });
  part.info('hidden at warning');
  part.warn('shown at warning');
  assert.deepEqual(
    lines.map((l) => l.msg),
    ['log level set to warning (emqx ctl log)', 'shown at warning'],
  );
  assert.deepEqual(await log.run(['set-level', 'none']), { code: 0, output: 'none\n' });
  part.fatal('hidden at none');
  assert.equal(lines.at(-1)!.msg, 'shown at warning');
});

test('log: an unknown level is refused and changes nothing; other arguments print the usage', async () => {
  const { logger } = capture();
  const log = logCommand(new LogLevelControl(logger, 'info'));
  const bad = await log.run(['set-level', 'verbose']);
  assert.equal(bad.code, 1);
  assert.match(bad.output, /^\[error\] set overall log level failed: invalid level verbose; one of all, debug, info, notice, warning, error, critical, alert, emergency, none\n$/);
  assert.equal(logger.level, 'info');
  for (const args of [[], ['set-level'], ['primary-level', 'debug', 'x'], ['handlers']]) {
    const r = await log.run(args);
    assert.equal(r.code, 1);
    assert.match(r.output, /^log set-level <Level> +# Set the overall log level\n/);
  }
});

test('emqx ctl log set-level debug on a running node: its parts log at debug from then on', async (t) => {
  const node = await createTestNode(t, { name: 'logl1@127.0.0.1' });
  await node.startOk();
  assert.equal((await node.ctl(['log', 'primary-level'])).stdout, 'info\n');
  const set = await node.ctl(['log', 'set-level', 'debug']);
  assert.deepEqual([set.code, set.stdout], [0, 'debug\n']);
  // The config watcher logs each event in the config directory at debug.
  await waitFor('a debug line from the config watcher', async () => {
    writeFileSync(join(node.etcDir, 'touched.txt'), String(Date.now()));
    return node.logText().includes('"msg":"config directory event"');
  }, 10_000);
  assert.equal((await node.ctl(['log', 'primary-level'])).stdout, 'debug\n');
});

test('log.file.level from emqx.conf at start, and again on a reload that changes it', async (t) => {
  const node = await createTestNode(t, { name: 'logl2@127.0.0.1', conf: 'log { file { level = debug } }\n' });
  await node.startOk();
  // Parts report their start at debug.
  assert.match(node.logText(), /"level":20,.*"msg":"started"/);
  assert.equal((await node.ctl(['log', 'primary-level'])).stdout, 'debug\n');
  writeFileSync(node.confFile, readFileSync(node.confFile, 'utf8').replace('level = debug', 'level = warning'));
  // The config watcher may apply the save first; then this reload finds no change.
  const reload = await node.ctl(['conf', 'reload']);
  assert.equal(reload.code, 0, reload.stdout + reload.stderr);
  assert.match(reload.stdout, /applied: log\.level|no change/);
  assert.equal((await node.ctl(['log', 'primary-level'])).stdout, 'warning\n');
  assert.match(node.logText(), /"msg":"log level set to warning \(configuration reload\)"/);
});

test("log handlers list | set-level | stop | start: EMQX's strings; primary-level leaves the handlers' levels, set-level sets them all", async () => {
  const { logger } = capture();
  const state = new Map([
    ['default', { destination: '/opt/emqx/log/emqx.log', started: true, level: '' }],
    ['console', { destination: 'console', started: true, level: '' }],
  ]);
  const port: LogHandlersPort = {
    list: () => [...state].map(([id, h]) => ({ id, destination: h.destination, started: h.started })),
    setLevel: (id, level) => state.get(id) !== undefined && ((state.get(id)!.level = level), true),
    setStarted: (id, started) => state.get(id) !== undefined && ((state.get(id)!.started = started), true),
  };
  const log = logCommand(new LogLevelControl(logger, 'info', port, { default: 'warning', console: 'info' }));
  const run = (...a: string[]) => log.run(a) as { code: number; output: string };
  assert.deepEqual(run('handlers', 'list'), {
    code: 0,
    output: 'LogHandler(id=default, level=warning, destination=/opt/emqx/log/emqx.log, status=started)\nLogHandler(id=console, level=info, destination=console, status=started)\n',
  });
  assert.equal(state.get('default')!.level, 'warn');
  assert.deepEqual(run('handlers', 'set-level', 'default', 'debug'), { code: 0, output: 'debug\n' });
  assert.equal(state.get('default')!.level, 'debug');
  assert.deepEqual(run('handlers', 'set-level', 'nope', 'debug'), { code: 1, output: '[error] invalid handler:nope\n' });
  assert.match(run('handlers', 'set-level', 'default', 'loud').output, /^\[error\] invalid level:"loud"; one of all, /);
  assert.deepEqual(run('handlers', 'stop', 'console'), { code: 0, output: 'log handler console stopped\n' });
  assert.match(run('handlers', 'list').output, /id=console, level=info, destination=console, status=stopped/);
  assert.deepEqual(run('handlers', 'start', 'console'), { code: 0, output: 'log handler console started\n' });
  assert.deepEqual(run('handlers', 'stop', 'nope'), { code: 1, output: '[error] invalid handler:nope\n' });
  // primary-level: the primary only; set-level: every handler too.
  assert.deepEqual(run('primary-level', 'error'), { code: 0, output: 'error\n' });
  assert.match(run('handlers', 'list').output, /id=default, level=debug.*\n.*id=console, level=info/);
  assert.deepEqual(run('set-level', 'notice'), { code: 0, output: 'notice\n' });
  assert.match(run('handlers', 'list').output, /id=default, level=notice.*\n.*id=console, level=notice/);
  assert.equal(state.get('console')!.level, 'info');
  assert.equal(run('handlers', 'frob').code, 1);
});

test("a level change is logged without clobbering the line's own level (no second `level` key)", async () => {
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      raw.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const logger = pino({ level: 'info' }, pino.multistream([{ level: 'trace', stream: sink }]));
  const log = logCommand(new LogLevelControl(logger, 'info'));
  await log.run(['set-level', 'debug']);
  assert.equal(raw.length, 1);
  assert.equal((raw[0]!.match(/"level":/g) ?? []).length, 1, raw[0]);
  assert.deepEqual(JSON.parse(raw[0]!), { ...JSON.parse(raw[0]!), level: 30, log_level: 'debug', was: 'info' });
});
