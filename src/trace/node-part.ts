// Cluster-wide log traces as a part of a running node: after membership (the `trace` table) and
// the broker (its tracer), before the listeners, so a trace already running in the cluster
// records a client from its first packet.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { NodePart } from '../base/part.js';
import type { ClusterParts } from '../cluster/parts.js';
import type { Config } from '../config/types.js';
import type { Tracer } from '../mqtt/tracer.js';
import { ClusterTraces } from './cluster-traces.js';

export interface TracePartHost {
  readonly config: Config;
  readonly logger: Logger;
  readonly tracer: Tracer;
  cluster(): ClusterParts | undefined;
}

export interface TracePart extends NodePart {
  traces(): ClusterTraces | undefined;
}

export function tracePart(host: TracePartHost): TracePart {
  let traces: ClusterTraces | undefined;
  return {
    name: 'traces',
    start() {
      const parts = host.cluster();
      if (!parts) throw new Error('traces need membership to be started first');
      traces = new ClusterTraces({ db: parts.db, tracer: host.tracer, dir: join(host.config.node.data_dir, 'trace'), log: host.logger.child({ part: 'trace' }) });
      traces.start();
    },
    stop() {
      traces?.stop();
      traces = undefined;
    },
    traces: () => traces,
  };
}
