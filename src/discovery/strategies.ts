// The factory: the strategy named by cluster.discovery_strategy, built from its settings.
import type { ClusterConfig } from '../config/types.js';
import { dnsStrategy } from './dns.js';
import { etcdStrategy } from './etcd.js';
import { k8sStrategy } from './k8s.js';
import { manualStrategy } from './manual.js';
import { singletonStrategy } from './singleton.js';
import { staticStrategy } from './static.js';
import type { DiscoveryLogger, DiscoveryStrategy } from './types.js';

export type { DiscoveryStrategy, DiscoveryLogger } from './types.js';
export { DiscoveryError } from './types.js';

/** Throws DiscoveryError when the settings cannot work (bad URL, unreadable TLS file, ...). */
export function createStrategy(cluster: ClusterConfig, self: string, logger: DiscoveryLogger): DiscoveryStrategy {
  switch (cluster.discovery_strategy) {
    case 'manual':
      return manualStrategy();
    case 'singleton':
      return singletonStrategy();
    case 'static':
      return staticStrategy(cluster.static.seeds);
    case 'dns':
      return dnsStrategy(self, cluster.dns);
    case 'etcd':
      return etcdStrategy(self, cluster.etcd, logger);
    case 'k8s':
      return k8sStrategy(self, cluster.k8s, logger);
  }
}

/** Strategies under which the autocluster loop runs (ekka: every one but manual; singleton never clusters). */
export function clustersAutomatically(strategy: ClusterConfig['discovery_strategy']): boolean {
  return strategy !== 'manual' && strategy !== 'singleton';
}
