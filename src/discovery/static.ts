// `static`: the seeds listed in cluster.static.seeds (already validated as node names by config/).
import type { DiscoveryStrategy } from './types.js';

export function staticStrategy(seeds: readonly string[]): DiscoveryStrategy {
  const list = [...new Set(seeds)];
  return {
    name: 'static',
    discover: () => Promise.resolve([...list]),
    close: () => Promise.resolve(),
  };
}
