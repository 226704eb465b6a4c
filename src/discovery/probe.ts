// Probing over the link layer: each node answers on one channel with its boot time, whether its
// discovery is on and the size of its cluster, and the autocluster loop asks the nodes it discovered.
import type { Dist } from '../link/types.js';
import type { NodeInfo } from './autocluster-decide.js';

export const PROBE_CHANNEL = 'discovery.probe';

/** Answers probes with `info()` (register once, at start; works whatever the strategy). */
export function serveProbe(dist: Dist, info: () => NodeInfo): void {
  dist.handle(PROBE_CHANNEL, () => info());
}

function isNodeInfo(v: unknown): v is NodeInfo {
  const o = v as Partial<NodeInfo> | null;
  return typeof o === 'object' && o !== null && typeof o.startedAt === 'number' && typeof o.discovery === 'boolean' && typeof o.clusterSize === 'number';
}

/**
 * A probe for AutoclusterHost.probe: links to the node (refusals such as a wrong cookie count as
 * unreachable) and asks. A link made only to probe is dropped again, unless `keep` says it is
 * wanted by then (a member, or the target of a join that started meanwhile).
 */
export function distProbe(dist: Dist, keep: (node: string) => boolean, timeoutMs = 3000) {
  return async (node: string, signal: AbortSignal): Promise<NodeInfo | undefined> => {
    const wasUp = dist.isUp(node);
    try {
      signal.throwIfAborted();
      if (!wasUp) await dist.connect(node, { timeoutMs });
      signal.throwIfAborted();
      const answer = await dist.call(node, PROBE_CHANNEL, null, timeoutMs);
      return isNodeInfo(answer) ? answer : undefined;
    } catch {
      return undefined;
    } finally {
      if (!wasUp && !keep(node)) dist.disconnect(node);
    }
  };
}
