import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Config } from '../../src/config/types.js';
import { acceptedConfig, appliedKeys, planReload as plan, type PartKeys } from '../../src/daemon/reload-plan.js';
import { LINK_KEYS } from '../../src/link/node-part.js';
import { MEMBERSHIP_KEYS } from '../../src/cluster/node-part.js';
import { DISCOVERY_KEYS } from '../../src/discovery/node-part.js';

// The daemon's parts as the plan sees them, in boot order.
const PARTS: PartKeys[] = [
  { name: 'dist', reloadKeys: LINK_KEYS },
  { name: 'cluster', reloadKeys: MEMBERSHIP_KEYS },
  { name: 'discovery', reloadKeys: DISCOVERY_KEYS },
];
const planReload = (a: Config, b: Config) => {
  const p = plan(a, b, PARTS);
  return { ...p, dist: p.parts.has('dist'), membership: p.parts.has('cluster'), discovery: p.parts.has('discovery') };
};

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
  assert.deepEqual([p.changed, p.refused, p.dist, p.membership, p.discovery], [[], [], false, false, false]);
});

test('node.name and node.data_dir are refused with the reason; the rest still applies', () => {
  const next = { ...withNode({ name: 'b@127.0.0.1', data_dir: '/e' }), cluster: { ...base.cluster, autoheal: false } };
  const p = planReload(base, next);
  assert.deepEqual(p.refused.map((r) => r.key), ['node.name', 'node.data_dir']);
  assert.match(p.refused[0]!.reason, /restart.*new, empty data directory/);
  assert.match(p.refused[1]!.reason, /stop the node, move the directory/);
  assert.equal(p.membership, true);
  const kept = acceptedConfig(base, next, p.held);
  assert.equal(kept.node.name, 'a@127.0.0.1');
  assert.equal(kept.node.data_dir, '/d');
  assert.equal(kept.cluster.autoheal, false);
  assert.deepEqual(appliedKeys(p, p.held), ['cluster.autoheal']);
});

test('cookie, ticktime, busy polling, proto_dist and base port go to the link layer only', () => {
  const cookie = planReload(base, withNode({ cookie: 'c2', dist_net_ticktime: 10_000 }));
  assert.deepEqual([cookie.dist, cookie.discovery, cookie.membership], [true, false, false]);
  assert.deepEqual(cookie.changed, ['node.cookie', 'node.dist_net_ticktime']);
  assert.deepEqual(cookie.parts.get('dist'), ['node.cookie', 'node.dist_net_ticktime']);
  const poll = planReload(base, withNode({ dist_busy_poll: false }));
  assert.deepEqual([poll.dist, poll.membership], [true, false]);
  for (const next of [withCluster({ proto_dist: 'inet_tls' }), withNode({ dist_base_port: 5000 })]) {
    const p = planReload(base, next);
    assert.deepEqual([p.dist, p.membership, p.discovery], [true, false, false]);
  }
});

test('changed TLS material shows as ssl_dist; the links are re-established', () => {
  const tls = (ca: string): Config => ({ ...base, cluster: { ...base.cluster, proto_dist: 'inet_tls' }, tls: { server: { ca }, client: { ca }, warnings: [] } });
  const p = planReload(tls('A'), tls('B'));
  assert.deepEqual(p.changed, ['ssl_dist']);
  assert.equal(p.dist, true);
  assert.deepEqual(p.parts.get('dist'), ['tls.client.ca', 'tls.server.ca']);
});

test('discovery: the strategy or its settings; a failed discovery keeps its running settings', () => {
  const next = withCluster({ discovery_strategy: 'static', static: { seeds: ['a@127.0.0.1', 'b@127.0.0.1'] }, autoclean: 1000 });
  const p = planReload(base, next);
  assert.deepEqual([p.discovery, p.membership, p.dist], [true, true, false]);
  const held = DISCOVERY_KEYS; // a failed discovery part holds back its keys
  const kept = acceptedConfig(base, next, held);
  assert.equal(kept.cluster.discovery_strategy, 'manual');
  assert.deepEqual(kept.cluster.static.seeds, []);
  assert.equal(kept.cluster.autoclean, 1000);
  assert.deepEqual(appliedKeys(p, held), ['cluster.autoclean']);
});

test('a failed link reconfiguration keeps every link setting', () => {
  const next = { ...withNode({ cookie: 'c2' }), cluster: { ...base.cluster, proto_dist: 'inet_tls' as const, autoheal: false } };
  const p = planReload(base, next);
  const held = LINK_KEYS; // a failed link part holds back its keys
  const kept = acceptedConfig(base, next, held);
  assert.equal(kept.node.cookie, 'c1');
  assert.equal(kept.cluster.proto_dist, 'inet_tcp');
  assert.deepEqual(appliedKeys(p, held), ['cluster.autoheal']);
});

test('a part applies no key a restart-only refusal holds back', () => {
  const p = plan(base, withNode({ name: 'b@127.0.0.1' }), [{ name: 'all', reloadKeys: ['node'] }]);
  assert.equal(p.parts.has('all'), false);
});
