// A complete `cluster` config section for tests; each test overrides what it is about.
import type { ClusterConfig } from '../../src/config/types.js';

export function clusterConfig(over: Partial<ClusterConfig> = {}): ClusterConfig {
  return {
    name: 'emqxcl',
    discovery_strategy: 'manual',
    proto_dist: 'inet_tcp',
    autoheal: true,
    autoclean: 24 * 3600_000,
    static: { seeds: [] },
    dns: { name: 'localhost', record_type: 'a' },
    etcd: { server: [], prefix: 'emqxcl', node_ttl: 60_000 },
    k8s: { apiserver: '', service_name: 'emqx', namespace: 'default', address_type: 'ip', suffix: 'pod.local', token_file: '', cacert_file: '' },
    ...over,
  };
}
