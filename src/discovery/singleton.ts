// `singleton`: this node never clusters. The membership layer refuses `join` with `singleton`;
// discovery simply finds nobody, so the autocluster loop never acts.
import type { DiscoveryStrategy } from './types.js';

export function singletonStrategy(): DiscoveryStrategy {
  return {
    name: 'singleton',
    discover: () => Promise.resolve([]),
    close: () => Promise.resolve(),
  };
}
