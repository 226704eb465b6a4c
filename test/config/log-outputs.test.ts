import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLogOutputs } from '../../src/config/log-outputs.js';
import { isReadLogKey, unreadLogKeys } from '../../src/config/log-handlers.js';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError, formatProblem } from '../../src/config/types.js';
import { jsonLineToText } from '../../src/daemon/log-text.js';
import { installRoot } from '../helpers/install-root.js';

const at = (path: readonly string[], message: string) => ({ key: path.join('.'), message: `${path.join('.')}: ${message}` });
const dirs = { paths: { root: '/opt/emqx', etc_dir: '/opt/emqx/etc', log_dir: '/opt/emqx/log' }, env: { LOGS: '/srv/logs' } };
const outputsOf = (log: unknown) => readLogOutputs({ log }, dirs, at);
const MB = 1024 * 1024;

test("no log section: <log_dir>/emqx.log, EMQX's rotation (50MB, 10 files), JSON lines; the terminal as the mode has it", () => {
  assert.deepEqual(readLogOutputs({}, dirs, at), {
    file: { level: 'info', path: '/opt/emqx/log/emqx.log', rotationSize: 50 * MB, rotationCount: 10, formatter: 'json' },
    console: { level: 'info', enable: true },
    problems: [],
    warnings: [],
  });
});

test('5.1+ single file handler: path (absolute, or relative to the install directory), rotation and formatter', () => {
  const r = outputsOf({ file: { level: 'warning', path: '/var/log/emqx/node.log', rotation_size: '10MB', rotation_count: 3, formatter: 'text', time_offset: 'system' } });
  assert.deepEqual(r.file, { level: 'warning', path: '/var/log/emqx/node.log', rotationSize: 10 * MB, rotationCount: 3, formatter: 'text' });
  assert.deepEqual([r.problems, r.warnings], [[], []]);
  assert.equal(outputsOf({ file: { path: 'logs/emqx.log' } }).file.path, '/opt/emqx/logs/emqx.log');
  // ${VAR} at the start is expanded as EMQX does (EMQX's default is "${EMQX_LOG_DIR}/emqx.log").
  assert.equal(outputsOf({ file: { path: '${EMQX_LOG_DIR}/n.log' } }).file.path, '/opt/emqx/log/n.log');
  assert.equal(outputsOf({ file: { path: '$LOGS/n.log' } }).file.path, '/srv/logs/n.log');
  assert.deepEqual(outputsOf({ file: { path: '${NOPE}/n.log' } }).problems.map((p) => p.message), ["log.file.path: '${NOPE}/n.log' refers to the environment variable NOPE, which is not set"]);
  assert.equal(outputsOf({ file: { rotation_size: 'infinity' } }).file.rotationSize, null);
  assert.equal(outputsOf({ file: { rotation_size: 4096 } }).file.rotationSize, 4096);
});

test('named file handlers: the node writes `default` and says the others are not written; a disabled one does not count', () => {
  const r = outputsOf({ file: { audit: { path: '/a/audit.log' }, default: { path: '/a/emqx.log', rotation_count: 5, level: 'debug' }, old: { enable: false, path: '/a/old.log' } } });
  assert.deepEqual(r.file, { level: 'debug', path: '/a/emqx.log', rotationSize: 50 * MB, rotationCount: 5, formatter: 'json' });
  assert.deepEqual(r.warnings, [{ key: 'log.file.audit', message: "log.file.audit: this node writes one log file, log.file.default's (/a/emqx.log); this handler is not written" }]);
  // Without `default`, the first enabled one.
  assert.equal(outputsOf({ file: { one: { enable: false, path: '/a/1.log' }, two: { path: '/a/2.log' } } }).file.path, '/a/2.log');
  // Every one disabled: the file is written all the same, and the operator told.
  const off = outputsOf({ file: { enable: false, path: '/a/x.log' } });
  assert.equal(off.file.path, '/opt/emqx/log/emqx.log');
  assert.match(off.warnings[0]!.message, /^log\.file: every file handler is disabled; the node writes its log file all the same \(\/opt\/emqx\/log\/emqx\.log\)/);
});

test("5.0's file_handlers: file, max_size, rotation { enable, count }", () => {
  const r = outputsOf({ file_handlers: { default: { level: 'info', file: '/b/emqx.log', max_size: '20MB', rotation: { enable: true, count: 7 } } } });
  assert.deepEqual(r.file, { level: 'info', path: '/b/emqx.log', rotationSize: 20 * MB, rotationCount: 7, formatter: 'json' });
  assert.equal(outputsOf({ file_handlers: { default: { rotation: { enable: false } } } }).file.rotationSize, null);
  assert.equal(outputsOf({ file_handlers: { default: { max_size: 'infinity' } } }).file.rotationSize, null);
});

test('the terminal: its own level, console.enable = false silences it, console.formatter picks text or JSON', () => {
  assert.deepEqual(outputsOf({ console: { enable: false, formatter: 'json' } }).console, { level: 'info', enable: false });
  const both = outputsOf({ console: { level: 'debug', formatter: 'json' }, file: { level: 'warning' } });
  assert.deepEqual([both.console, both.file.level], [{ level: 'debug', enable: true, formatter: 'json' }, 'warning']);
  assert.deepEqual(outputsOf({ console_handler: { formatter: 'text' } }).console, { level: 'info', enable: true, formatter: 'text' });
});

test('bad values are problems at their keys, saying what is allowed; the defaults stand in', () => {
  const r = outputsOf({
    console: { enable: 'yes', formatter: 'xml' },
    file: { path: '', rotation_size: 'huge', rotation_count: 0, formatter: 'logfmt' },
    file_handlers: { x: { rotation: { count: 5000, enable: 'no' }, max_size: '100' } },
  });
  assert.deepEqual(
    r.problems.map((p) => p.message),
    [
      'log.console.enable: "yes" is not a boolean',
      'log.console.formatter: "xml" is not a formatter: one of text, json',
      'log.file.path: "" is not a log file path: a file name, absolute or relative to the install directory',
      'log.file.rotation_size: "huge" is not a rotation size: a size of at least 1KB (e.g. 50MB, 512KB) or infinity',
      'log.file.rotation_count: 0 is not a rotation count: an integer from 1 to 2048',
      'log.file.formatter: "logfmt" is not a formatter: one of text, json',
      'log.file_handlers.x.max_size: "100" is not a rotation size: a size of at least 1KB (e.g. 50MB, 512KB) or infinity',
      'log.file_handlers.x.rotation.enable: "no" is not a boolean',
      'log.file_handlers.x.rotation.count: 5000 is not a rotation count: an integer from 1 to 2048',
    ],
  );
  assert.deepEqual(r.file, { level: 'info', path: '/opt/emqx/log/emqx.log', rotationSize: 50 * MB, rotationCount: 10, formatter: 'json' });
});

test('the keys of log this node does not read are named; EMQX_LOG__* variables for the read ones count', () => {
  assert.deepEqual(unreadLogKeys({ log: { console: { level: 'info', time_offset: 'system' }, file: { default: { path: 'x', max_depth: 100 } }, throttling: { time_window: '1m' } } }), [
    'log.console.time_offset',
    'log.file.default.max_depth',
    'log.throttling.time_window',
  ]);
  assert.deepEqual(unreadLogKeys({ log: { file: { level: 'warning', rotation_size: '50MB' }, file_handlers: { d: { rotation: { count: 3 } } } } }), []);
  for (const k of ['log.file.path', 'log.file.default.rotation_count', 'log.console.formatter', 'log.file_handlers.d.rotation.count', 'log.console_handler.enable']) {
    assert.ok(isReadLogKey(k.split('.')), k);
  }
  for (const k of ['log.throttling.time_window', 'log.console.path', 'log.file.default.time_offset', 'log.level']) assert.ok(!isReadLogKey(k.split('.')), k);
});

test('emqx.conf and EMQX_LOG__*: read, and a bad value refused at its line or naming its variable', (t) => {
  const root = installRoot(t, undefined);
  const file = join(root, 'etc', 'emqx.conf');
  const base = 'node { name = "emqx@127.0.0.1", cookie = "c00kie" }\n';
  writeFileSync(file, `${base}log {\n  file {\n    path = "\${EMQX_LOG_DIR}/node.log"\n    rotation_count = 4\n  }\n}\n`);
  const loaded = loadConfig({ root, env: { EMQX_LOG__FILE__FORMATTER: 'text', EMQX_LOG__FILE__ROTATION_SIZE: '1MB' } });
  assert.deepEqual(loaded.config.log?.file, { level: 'info', path: join(root, 'log', 'node.log'), rotationSize: MB, rotationCount: 4, formatter: 'text' });
  assert.ok(!loaded.warnings.some((w) => w.message.includes('does not serve')), JSON.stringify(loaded.warnings));

  // `emqx ctl conf show log`: what is applied, in EMQX's keys, the path resolved.
  assert.deepEqual(loaded.effective.log, {
    console: { level: 'info', enable: true },
    file: { level: 'info', path: join(root, 'log', 'node.log'), rotation_size: MB, rotation_count: 4, formatter: 'text' },
  });
  writeFileSync(file, `${base}log {\n  file {\n    rotation_count = many\n  }\n}\n`);
  const refused = (env: Record<string, string>): string[] => {
    try {
      loadConfig({ root, env });
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems.map(formatProblem);
    }
    return assert.fail('expected the config to be refused');
  };
  assert.deepEqual(refused({}), [`${file}:4:5: log.file.rotation_count: "many" is not a rotation count: an integer from 1 to 2048`]);
  writeFileSync(file, base);
  assert.match(refused({ EMQX_LOG__CONSOLE__FORMATTER: 'xml' })[0]!, /EMQX_LOG__CONSOLE__FORMATTER.*log\.console\.formatter: "xml" is not a formatter: one of text, json/);
});

test("the text formatter: EMQX's `<time> [<level>] msg: ..., key: value` lines", () => {
  const line = JSON.stringify({ level: 40, time: '2026-12-07T05:00:00.000Z', pid: 1, node: 'emqx@h', msg: 'peer down', peer: 'emqx2@h', reason: 'tick timeout, 4s', n: 3, err: { message: 'x\ny' } });
  assert.equal(jsonLineToText(`${line}\n`), '2026-12-07T05:00:00.000Z [warning] msg: peer down, peer: emqx2@h, reason: "tick timeout, 4s", n: 3, err: {"message":"x\\ny"}\n');
  assert.equal(jsonLineToText(JSON.stringify({ level: 60, time: 't', msg: 'stop' })), 't [critical] msg: stop\n');
  assert.equal(jsonLineToText(JSON.stringify({ level: 30, time: 't', msg: 'a, b: c' })), 't [info] msg: a, b: c\n', 'the message bare, as EMQX writes it');
  assert.equal(jsonLineToText('not json\n'), 'not json\n');
});
