import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { clustersAutomatically, createStrategy } from '../../src/discovery/strategies.js';
import { clusterConfig } from '../helpers/cluster-config.js';

const cluster = clusterConfig({
  static: { seeds: ['emqx1@127.0.0.1', 'emqx2@127.0.0.2', 'emqx1@127.0.0.1'] },
  etcd: { server: ['http://127.0.0.1:2379'], prefix: 'emqxcl', node_ttl: 60_000 },
  k8s: { apiserver: 'https://kubernetes.default.svc:443', service_name: 'emqx', namespace: 'default', address_type: 'ip', suffix: 'pod.local', token_file: '/t', cacert_file: '/c' },
});
const logger = pino({ level: 'silent' });

test('the factory builds the configured strategy', async () => {
  for (const s of ['manual', 'static', 'singleton', 'dns', 'etcd', 'k8s'] as const) {
    const strategy = createStrategy({ ...cluster, discovery_strategy: s }, 'emqx1@127.0.0.1', logger);
    assert.equal(strategy.name, s);
    await strategy.close();
  }
});

test('manual and singleton discover nobody; static gives its seeds once each', async () => {
  assert.deepEqual(await createStrategy(cluster, 'emqx1@127.0.0.1', logger).discover(), []);
  assert.deepEqual(await createStrategy({ ...cluster, discovery_strategy: 'singleton' }, 'emqx1@127.0.0.1', logger).discover(), []);
  assert.deepEqual(await createStrategy({ ...cluster, discovery_strategy: 'static' }, 'emqx1@127.0.0.1', logger).discover(), ['emqx1@127.0.0.1', 'emqx2@127.0.0.2']);
});

test('the loop runs for every strategy but manual and singleton', () => {
  assert.deepEqual((['manual', 'static', 'singleton', 'dns', 'etcd', 'k8s'] as const).filter(clustersAutomatically), ['static', 'dns', 'etcd', 'k8s']);
});
