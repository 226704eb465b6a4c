import { test } from 'node:test';
import assert from 'node:assert/strict';
import { envOverrides, envKeyPath, envValue } from '../../src/config/env.js';
import { parseHoconValue } from '../../src/config/hocon/index.js';
import { formatProblem } from '../../src/config/types.js';

const overrides = (env: Record<string, string | undefined>) => envOverrides(env, parseHoconValue);

test('EMQX_ prefix stripped, rest lowercased, split on __ with empty segments dropped', () => {
  assert.deepEqual(envKeyPath('EMQX_NODE__NAME'), ['node', 'name']);
  assert.deepEqual(envKeyPath('EMQX_CLUSTER__STATIC__SEEDS'), ['cluster', 'static', 'seeds']);
  assert.deepEqual(envKeyPath('EMQX_CLUSTER____DNS__RECORD_TYPE__'), ['cluster', 'dns', 'record_type']);
  assert.deepEqual(envKeyPath('EMQX_CLUSTER__DISCOVERY_STRATEGY'), ['cluster', 'discovery_strategy']);
  assert.equal(envKeyPath('EMQX_'), undefined);
  assert.equal(envKeyPath('HOME'), undefined);
  assert.equal(envKeyPath('emqx_NODE__NAME'), undefined);
  const { overrides: o } = overrides({ EMQX_NODE__DATA_DIR: '/var/lib/emqx', PATH: '/bin' });
  assert.deepEqual(o, [{ path: ['node', 'data_dir'], value: '/var/lib/emqx', raw: '/var/lib/emqx', env: 'EMQX_NODE__DATA_DIR' }]);
});

test('values are parsed as HOCON: arrays, numbers, booleans, objects, node names', () => {
  const { overrides: o } = overrides({
    EMQX_CLUSTER__STATIC__SEEDS: '[a@127.0.0.1, b@127.0.0.2]',
    EMQX_NODE__DIST_BASE_PORT: '5000',
    EMQX_CLUSTER__AUTOHEAL: 'false',
    EMQX_CLUSTER__DNS: '{name = "emqx.local", record_type = srv}',
    EMQX_NODE__NAME: 'emqx@127.0.0.1',
  });
  const byEnv = Object.fromEntries(o.map((x) => [x.env, x.value]));
  assert.deepEqual(byEnv.EMQX_CLUSTER__STATIC__SEEDS, ['a@127.0.0.1', 'b@127.0.0.2']);
  assert.equal(byEnv.EMQX_NODE__DIST_BASE_PORT, 5000);
  assert.equal(byEnv.EMQX_CLUSTER__AUTOHEAL, false);
  assert.deepEqual(byEnv.EMQX_CLUSTER__DNS, { name: 'emqx.local', record_type: 'srv' });
  assert.equal(byEnv.EMQX_NODE__NAME, 'emqx@127.0.0.1');
});

test('a value that is not valid HOCON is used as the raw string', () => {
  assert.equal(envValue('http://127.0.0.1:2379', parseHoconValue), 'http://127.0.0.1:2379');
  assert.equal(envValue('a@127.0.0.1,b@127.0.0.2', parseHoconValue), 'a@127.0.0.1,b@127.0.0.2');
  assert.equal(envValue('', parseHoconValue), '');
  const { overrides: o } = overrides({ EMQX_CLUSTER__ETCD__SERVER: 'http://127.0.0.1:2379,http://127.0.0.2:2379' });
  assert.equal(o[0]?.value, 'http://127.0.0.1:2379,http://127.0.0.2:2379');
});

test('a value HOCON would cut at a comment marker is kept whole', () => {
  assert.equal(envValue('abc#def', parseHoconValue), 'abc#def');
  assert.equal(envValue('s3cr3t//x', parseHoconValue), 's3cr3t//x');
  // Quoted, the text is exactly what HOCON says.
  assert.equal(envValue('"abc#def"', parseHoconValue), 'abc#def');
});

test('an unknown root is ignored silently', () => {
  const r = overrides({ EMQX_FOO__BAR: '1', EMQX_GATEWAY__MQTTSN__ENABLE: 'true', EMQX_DEFAULT_LOG_HANDLER: 'console' });
  assert.deepEqual(r, { overrides: [], warnings: [] });
});

test('listener and mqtt keys are read from the environment, a listener of any name included', () => {
  const r = overrides({ EMQX_LISTENERS__TCP__DEFAULT__BIND: '1883', EMQX_LISTENERS__WS__EDGE__BIND: '"127.0.0.1:8093"', EMQX_MQTT__MAX_INFLIGHT: '64' });
  assert.deepEqual(
    r.overrides.map((o) => [o.path.join('.'), o.value]).sort(),
    [['listeners.tcp.default.bind', 1883], ['listeners.ws.edge.bind', '127.0.0.1:8093'], ['mqtt.max_inflight', 64]],
  );
  assert.deepEqual(r.warnings, []);
});

test('a known root with an unknown field is dropped with one warning naming the variable', () => {
  const r = overrides({ EMQX_NODE__NAMEE: 'x@127.0.0.1', EMQX_CLUSTER__STATIC__SEDS: '[]' });
  assert.deepEqual(r.overrides, []);
  assert.deepEqual(r.warnings.map(formatProblem), [
    'EMQX_CLUSTER__STATIC__SEDS: unknown key cluster.static.seds, variable ignored (did you mean cluster.static.seeds?)',
    'EMQX_NODE__NAMEE: unknown key node.namee, variable ignored (did you mean node.name?)',
  ]);
  assert.equal(r.warnings[0]?.env, 'EMQX_CLUSTER__STATIC__SEDS');
  // EMQX keys we do not use are not unknown.
  assert.deepEqual(overrides({ EMQX_NODE__MAX_PORTS: '1024' }).warnings, []);
});

test('legacy EMQX_NODE_NAME and EMQX_NODE_COOKIE are read as EMQX_NODE__NAME / EMQX_NODE__COOKIE', () => {
  const { overrides: o } = overrides({ EMQX_NODE_NAME: 'old@127.0.0.1', EMQX_NODE_COOKIE: 'oldcookie' });
  assert.deepEqual(
    o.map((x) => [x.path.join('.'), x.value, x.env]),
    [
      ['node.cookie', 'oldcookie', 'EMQX_NODE_COOKIE'],
      ['node.name', 'old@127.0.0.1', 'EMQX_NODE_NAME'],
    ],
  );
});

test('the new form wins over the legacy one when both are set', () => {
  const { overrides: o } = overrides({
    EMQX_NODE_NAME: 'old@127.0.0.1',
    EMQX_NODE__NAME: 'new@127.0.0.1',
    EMQX_NODE__COOKIE: 'newcookie',
    EMQX_NODE_COOKIE: 'oldcookie',
  });
  assert.deepEqual(
    o.map((x) => [x.path.join('.'), x.value, x.env]),
    [
      ['node.cookie', 'newcookie', 'EMQX_NODE__COOKIE'],
      ['node.name', 'new@127.0.0.1', 'EMQX_NODE__NAME'],
    ],
  );
});

test('location variables are not config keys', () => {
  const r = overrides({ EMQX_ETC_DIR: '/etc/emqx', EMQX_LOG_DIR: '/var/log/emqx', EMQX_SSL_DIST_OPTFILE: '/etc/ssl_dist.conf' });
  assert.deepEqual(r, { overrides: [], warnings: [] });
});

test('a whole object applies before the keys inside it, so the specific one wins', () => {
  const { overrides: o } = overrides({ EMQX_CLUSTER__STATIC__SEEDS: '[b@127.0.0.2]', EMQX_CLUSTER__STATIC: '{seeds = [a@127.0.0.1]}' });
  assert.deepEqual(
    o.map((x) => x.env),
    ['EMQX_CLUSTER__STATIC', 'EMQX_CLUSTER__STATIC__SEEDS'],
  );
});

test('unset (undefined) entries are skipped', () => {
  assert.deepEqual(overrides({ EMQX_NODE__NAME: undefined }), { overrides: [], warnings: [] });
});
