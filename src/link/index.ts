// The link layer's public surface; see docs/links.md.
export { createDist } from './dist.js';
export { busyPollUsFor, type DistOptions, type DistReconfig } from './options.js';
export * from './types.js';
