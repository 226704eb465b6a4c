// The link layer's entry point; see docs/links.md.
import { DistNode } from './dist.js';
import type { DistOptions } from './options.js';
import type { Dist } from './types.js';

export { busyPollUsFor, type DistOptions, type DistReconfig } from './options.js';
export * from './types.js';

export function createDist(opts: DistOptions): Dist {
  return new DistNode(opts);
}
