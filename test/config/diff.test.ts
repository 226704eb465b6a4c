import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffConfig } from '../../src/config/diff.js';
import { validateConfig } from '../../src/config/schema.js';
import type { Config } from '../../src/config/types.js';

const paths = { root: '/r', etc_dir: '/r/etc', conf_file: '/r/etc/emqx.conf', log_dir: '/r/log', ssl_dist_optfile: '/r/etc/ssl_dist.conf' };

function cfg(tree: Record<string, unknown>): Config {
  const { config, problems } = validateConfig(tree, { paths, env: {} });
  assert.deepEqual(problems, []);
  return config!;
}

test('identical configs have no changes', () => {
  const t = { node: { cookie: 'c' }, cluster: { static: { seeds: ['a@127.0.0.2'] } } };
  assert.deepEqual(diffConfig(cfg(t), cfg(t)), { changed: [] });
});

test('changed leaves are listed as dotted keys, sorted', () => {
  const a = cfg({ node: { cookie: 'c' } });
  const b = cfg({
    node: { cookie: 'd' },
    cluster: { autoheal: false, discovery_strategy: 'static', static: { seeds: 'a@127.0.0.2' }, etcd: { node_ttl: '2m' } },
  });
  assert.deepEqual(diffConfig(a, b).changed, [
    'cluster.autoheal',
    'cluster.discovery_strategy',
    'cluster.etcd.node_ttl',
    'cluster.static.seeds',
    'node.cookie',
  ]);
});

test('a list counts as one value; reordering it is a change', () => {
  const a = cfg({ node: { cookie: 'c' }, cluster: { static: { seeds: ['a@127.0.0.2', 'b@127.0.0.3'] } } });
  const b = cfg({ node: { cookie: 'c' }, cluster: { static: { seeds: ['b@127.0.0.3', 'a@127.0.0.2'] } } });
  assert.deepEqual(diffConfig(a, b).changed, ['cluster.static.seeds']);
});

test('a block that appears or disappears, and tls, are reported', () => {
  const a = cfg({ node: { cookie: 'c' } });
  const b = cfg({ node: { cookie: 'c' }, cluster: { etcd: { ssl_options: { verify: 'verify_peer' } } } });
  assert.deepEqual(diffConfig(a, b).changed, ['cluster.etcd.ssl_options']);
  const withTls = { ...a, tls: { server: { cert: Buffer.from('x') }, client: {}, warnings: [] } } as Config;
  const otherTls = { ...a, tls: { server: { cert: Buffer.from('y') }, client: {}, warnings: [] } } as Config;
  assert.deepEqual(diffConfig(a, withTls).changed, ['tls']);
  assert.deepEqual(diffConfig(withTls, otherTls).changed, ['tls.server.cert']);
});

test('paths are compared too (a different etc dir is a change)', () => {
  const a = cfg({ node: { cookie: 'c' } });
  const b = { ...a, paths: { ...a.paths, log_dir: '/elsewhere' } } as Config;
  assert.deepEqual(diffConfig(a, b).changed, ['paths.log_dir']);
});
