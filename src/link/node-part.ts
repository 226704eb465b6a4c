// The link layer as a part of a running node: listens on the distribution port from start()
// and follows the link settings (cookie, cluster name, ticktime, transport, TLS) on reload.
import type { Logger } from 'pino';
import type { NodePart } from '../base/part.js';
import type { Config } from '../config/types.js';
import { createDist } from './dist.js';
import { busyPollUsFor, type DistReconfig } from './options.js';
import type { Dist } from './types.js';

/** The keys the link layer applies live; the transport and TLS ones re-establish the links. */
export const LINK_KEYS = ['node.cookie', 'node.dist_net_ticktime', 'node.dist_base_port', 'node.dist_busy_poll', 'cluster.name', 'cluster.proto_dist', 'tls'];

/** Config → the link settings, for the first start and for every reload. */
export function distOptionsOf(config: Config): DistReconfig {
  const { node, cluster } = config;
  return {
    cookie: node.cookie,
    clusterName: cluster.name,
    protoDist: cluster.proto_dist,
    ...(config.tls ? { tls: config.tls } : {}),
    basePort: node.dist_base_port,
    netTicktimeMs: node.dist_net_ticktime,
    busyPollUs: busyPollUsFor(node.dist_busy_poll),
  };
}

export interface LinkPart extends NodePart {
  readonly dist: Dist;
}

export function linkPart(config: Config, logger: Logger): LinkPart {
  const dist = createDist({
    self: config.node.name,
    ...distOptionsOf(config),
    logger: logger.child({ part: 'dist' }),
    // Membership decides the peers (setPeers): a node that left is not pulled back into links.
    meshGossip: false,
  });
  return {
    name: 'dist',
    dist,
    start: () => dist.start(),
    stop: () => dist.stop(),
    reloadKeys: LINK_KEYS,
    refusal: { key: 'ssl_dist/proto_dist', reason: 'the links could not move to the new settings, the previous ones stay in force' },
    async reconfigure(next) {
      await dist.reconfigure?.(distOptionsOf(next));
    },
  };
}
