// Cluster-wide log traces as a part of a running node: after membership (the `trace` table) and
// the broker (its tracer), before the listeners, so a trace already running in the cluster
// records a client from its first packet. Registers `emqx ctl traces`.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { NodePart } from '../base/part.js';
import type { ClusterParts } from '../cluster/parts.js';
import type { Config } from '../config/types.js';
import type { Tracer } from '../mqtt/tracer.js';
import { ClusterTraces } from './cluster-traces.js';
import { tracesCommand } from './ctl.js';
import type { CtlCommand } from '../ctl/types.js';
import type { Dist } from '../link/types.js';

export interface TracePartHost {
  readonly config: Config;
  readonly logger: Logger;
  readonly tracer: Tracer;
  cluster(): ClusterParts | undefined;
  dist(): Dist;
  register(cmd: CtlCommand): void;
}

/** Each member's trace file sizes, for `ctl traces list`. */
const SIZES_CHANNEL = 'trace.sizes';

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
      const dist = host.dist();
      dist.handle(SIZES_CHANNEL, () => traces?.sizes() ?? {});
      host.register(
        tracesCommand({
          traces: () => traces,
          now: () => Date.now(),
          async sizes() {
            const nodes = parts.cluster.status().running;
            const answers = await Promise.allSettled(nodes.map((n) => (n === dist.self ? Promise.resolve(traces?.sizes() ?? {}) : dist.call(n, SIZES_CHANNEL, {}, 2000))));
            const out: Record<string, Record<string, number>> = {};
            answers.forEach((a, i) => {
              if (a.status === 'fulfilled') out[nodes[i]!] = a.value as Record<string, number>;
            });
            return out;
          },
        }),
      );
    },
    stop() {
      traces?.stop();
      traces = undefined;
    },
    traces: () => traces,
  };
}
