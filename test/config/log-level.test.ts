import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLogLevel } from '../../src/config/log-level.js';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError, formatProblem } from '../../src/config/types.js';
import { installRoot } from '../helpers/install-root.js';

const at = (path: readonly string[], message: string) => ({ key: path.join('.'), message });
const levelOf = (log: unknown) => readLogLevel({ log }, at);

test("the node's level is the most verbose of EMQX's handler levels, info when none is set", () => {
  assert.deepEqual(readLogLevel({}, at), { level: 'info', set: false, problems: [] });
  assert.equal(levelOf({ console: { level: 'debug' } }).level, 'debug');
  // 5.1+ single file handler, named handlers, and 5.0's spellings.
  assert.equal(levelOf({ file: { level: 'error', rotation_count: 10 }, console: { level: 'warning' } }).level, 'warning');
  assert.equal(levelOf({ file: { default: { level: 'notice' }, audit: { level: 'critical' } } }).level, 'notice');
  assert.equal(levelOf({ console_handler: { level: 'all' }, file_handlers: { default: { level: 'error' } } }).level, 'all');
  // A handler that is off does not count; the rest of the section is not read.
  assert.deepEqual(levelOf({ console: { enable: false, level: 'debug' }, file: { level: 'error', formatter: 'json' }, throttling: { time_window: '1m' } }), {
    level: 'error',
    set: true,
    problems: [],
  });
});

test('a level that is not one of EMQX\'s names is a problem at its key', () => {
  const r = levelOf({ console: { level: 'verbose' }, file: { default: { level: 'warning' } } });
  assert.equal(r.level, 'warning');
  assert.deepEqual(r.problems, [
    { key: 'log.console.level', message: '"verbose" is not a log level: one of all, debug, info, notice, warning, error, critical, alert, emergency, none' },
  ]);
});

test('emqx.conf: log.console.level is read; a bad one is refused with file and line', (t) => {
  const root = installRoot(t, undefined);
  const file = join(root, 'etc', 'emqx.conf');
  const base = 'node { name = "emqx@127.0.0.1", cookie = "c00kie" }\n';
  writeFileSync(file, `${base}log {\n  console { level = debug, formatter = text, time_offset = system }\n}\n`);
  const loaded = loadConfig({ root, env: {} });
  assert.equal(loaded.config.log?.level, 'debug');
  // What the node does not read of the section is named.
  assert.ok(loaded.warnings.some((w) => w.message.includes('log (not read: log.console.time_offset)')), JSON.stringify(loaded.warnings));
  assert.equal(loadConfig({ root, env: { EMQX_LOG__CONSOLE__LEVEL: 'error' } }).config.log?.level, 'error');

  writeFileSync(file, `${base}log {\n  file {\n    level = loud\n  }\n}\n`);
  try {
    loadConfig({ root, env: {} });
    assert.fail('expected the config to be refused');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.problems.length, 1);
    assert.equal(err.problems[0]!.line, 4);
    assert.match(formatProblem(err.problems[0]!), /emqx\.conf:4:\d+: log\.file\.level: "loud" is not a log level/);
  }
});

test('EMQX_LOG__CONSOLE__LEVEL: a bad level names the variable', (t) => {
  const root = installRoot(t, 'node { name = "emqx@127.0.0.1", cookie = "c00kie" }\n');
  assert.equal(loadConfig({ root, env: {} }).config.log?.level, 'info');
  assert.equal(loadConfig({ root, env: { EMQX_LOG__FILE__DEFAULT__LEVEL: 'debug' } }).config.log?.level, 'debug');
  try {
    loadConfig({ root, env: { EMQX_LOG__CONSOLE__LEVEL: 'chatty' } });
    assert.fail('expected the config to be refused');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.problems[0]!.env, 'EMQX_LOG__CONSOLE__LEVEL');
  }
});
