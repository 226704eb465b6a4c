import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Config } from '../../src/config/types.js';
import { acceptedConfig, appliedKeys, DISCOVERY_FAILED, DIST_FAILED, planReload } from '../../src/daemon/reload-plan.js';

const base: Config = {
  node: { name: 'a@127.0.0.1', cookie: 'c1', data_dir: '/d', role: 'core', dist_net_ticktime: 60_000, dist_base_port: 4370, dist_busy_poll: true },
  cluster: {
    name: 'emqxcl',
    discovery_strategy: 'manual',
    proto_dist: 'inet_tcp',
    autoheal: true,
    autoclean: 86_400_000,
    static: { seeds: [] },
    dns: { name: 'localhost', record_type: 'a' },
    etcd: { server: [], prefix: 'emqxcl', node_ttl: 60_000 },
    k8s: { apiserver: 'https://k:443', service_name: 'emqx', namespace: 'default', address_type: 'ip', suffix: 'pod.local', token_file: '/t', cacert_file: '/ca' },
  },
  paths: { root: '/r', etc_dir: '/r/etc', conf_file: '/r/etc/emqx.conf', log_dir: '/r/log', ssl_dist_optfile: '/r/etc/ssl_dist.conf' },
} as unknown as Config;

const withNode = (n: Partial<Config['node']>): Config => ({ ...base, node: { ...base.node, ...n } });
const withCluster = (c: Partial<Config['cluster']>): Config => ({ ...base, cluster: { ...base.cluster, ...c } });

test('no change: nothing to do', () => {
  const p = planReload(base, structuredClone(base));
  assert.deepEqual(p, { changed: [], refused: [], dist: false, relink: false, membership: false, discovery: false });
});

test('node.name and node.data_dir are refused with the reason; the rest still applies', () => {
  const next = { ...withNode({ name: 'b@127.0.0.1', data_dir: '/e' }), cluster: { ...base.cluster, autoheal: false } };
  const p = planReload(base, next);
  assert.deepEqual(p.refused.map((r) => r.key), ['node.name', 'node.data_dir']);
  assert.match(p.refused[0]!.reason, /restart.*new, empty data directory/);
  assert.match(p.refused[1]!.reason, /stop the node, move the directory/);
  assert.equal(p.membership, true);
  const kept = acceptedConfig(base, next, p.refused);
  assert.equal(kept.node.name, 'a@127.0.0.1');
  assert.equal(kept.node.data_dir, '/d');
  assert.equal(kept.cluster.autoheal, false);
  assert.deepEqual(appliedKeys(p, p.refused), ['cluster.autoheal']);
});

test('cookie and ticktime go to the link layer without relinking; proto_dist and base port relink', () => {
  const cookie = planReload(base, withNode({ cookie: 'c2', dist_net_ticktime: 10_000 }));
  assert.deepEqual([cookie.dist, cookie.relink, cookie.discovery, cookie.membership], [true, false, false, false]);
  assert.deepEqual(cookie.changed, ['node.cookie', 'node.dist_net_ticktime']);
  const poll = planReload(base, withNode({ dist_busy_poll: false }));
  assert.deepEqual([poll.dist, poll.relink], [true, false]);
  for (const next of [withCluster({ proto_dist: 'inet_tls' }), withNode({ dist_base_port: 5000 })]) {
    const p = planReload(base, next);
    assert.deepEqual([p.dist, p.relink], [true, true]);
  }
});

test('changed TLS material shows as ssl_dist; the links are re-established', () => {
  const tls = (ca: string): Config => ({ ...base, cluster: { ...base.cluster, proto_dist: 'inet_tls' }, tls: { server: { ca }, client: { ca }, warnings: [] } });
  const p = planReload(tls('A'), tls('B'));
  assert.deepEqual(p.changed, ['ssl_dist']);
  assert.deepEqual([p.dist, p.relink], [true, true]);
});

test('discovery: the strategy or its settings; a failed discovery keeps its running settings', () => {
  const next = withCluster({ discovery_strategy: 'static', static: { seeds: ['a@127.0.0.1', 'b@127.0.0.1'] }, autoclean: 1000 });
  const p = planReload(base, next);
  assert.deepEqual([p.discovery, p.membership, p.dist], [true, true, false]);
  const refused = [{ key: DISCOVERY_FAILED, reason: 'x' }];
  const kept = acceptedConfig(base, next, refused);
  assert.equal(kept.cluster.discovery_strategy, 'manual');
  assert.deepEqual(kept.cluster.static.seeds, []);
  assert.equal(kept.cluster.autoclean, 1000);
  assert.deepEqual(appliedKeys(p, refused), ['cluster.autoclean']);
});

test('a failed link reconfiguration keeps every link setting', () => {
  const next = { ...withNode({ cookie: 'c2' }), cluster: { ...base.cluster, proto_dist: 'inet_tls' as const, autoheal: false } };
  const p = planReload(base, next);
  const refused = [{ key: DIST_FAILED, reason: 'x' }];
  const kept = acceptedConfig(base, next, refused);
  assert.equal(kept.node.cookie, 'c1');
  assert.equal(kept.cluster.proto_dist, 'inet_tcp');
  assert.deepEqual(appliedKeys(p, refused), ['cluster.autoheal']);
});
