// `manual`: membership changes only through `cluster join` / `leave` / `force-leave`.
import type { DiscoveryStrategy } from './types.js';

export function manualStrategy(): DiscoveryStrategy {
  return {
    name: 'manual',
    discover: () => Promise.resolve([]),
    close: () => Promise.resolve(),
  };
}
