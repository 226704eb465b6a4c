// A page of a list spread over the members (clients, subscriptions, topics), in EMQX's shape
// `{data, meta: {page, limit, count, hasnext}}`: members in name order, each member's rows in its
// own order. The first round asks every running member at once for its count (and, for page 1,
// its first rows); later pages then ask only the members holding them.
import type { Json } from '../format/clients.js';
import { ApiError } from '../errors.js';
import type { Page, Slice } from '../cluster/local-ops.js';
import type { ClusterRpc, Op } from '../cluster/rpc.js';

export interface Paged {
  readonly data: Json[];
  readonly meta: { page: number; limit: number; count: number; hasnext: boolean; down_nodes?: string[] };
}

export async function clusterPage(rpc: ClusterRpc, op: (p: Page) => Op, page: number, limit: number, nodes?: readonly string[]): Promise<Paged> {
  const offset = (page - 1) * limit;
  const first = await rpc.gather<Slice>(op({ offset: 0, limit: page === 1 ? limit : 0 }), nodes);
  const down = new Set(first.down);
  const count = first.answers.reduce((n, a) => n + a.value.count, 0);
  let data: Json[] = [];
  if (page === 1) {
    for (const a of first.answers) data.push(...a.value.rows);
    data = data.slice(0, limit);
  } else {
    let before = 0;
    const wanted: Array<{ node: string; p: Page }> = [];
    for (const a of first.answers) {
      const start = Math.max(0, offset - before);
      const room = limit - wanted.reduce((n, w) => n + w.p.limit, 0);
      if (start < a.value.count && room > 0) wanted.push({ node: a.node, p: { offset: start, limit: Math.min(room, a.value.count - start) } });
      before += a.value.count;
    }
    const parts = await Promise.allSettled(wanted.map((w) => rpc.call<Slice>(w.node, op(w.p))));
    parts.forEach((r, i) => {
      if (r.status === 'fulfilled') data.push(...r.value.rows);
      else down.add(wanted[i]!.node);
    });
  }
  return {
    data,
    meta: { page, limit, count, hasnext: offset + data.length < count, ...(down.size > 0 ? { down_nodes: [...down].sort() } : {}) },
  };
}

/**
 * Runs `op` on every running member (clearing a list, resetting counts); a member counted as
 * running that does not answer makes it 503 NODE_DOWN, naming it and what it may still hold.
 */
export async function onEveryMember(rpc: ClusterRpc, op: Op, leftover: string): Promise<void> {
  const g = await rpc.gather<unknown>(op);
  const silent = g.down.filter((n) => rpc.isRunning(n));
  if (silent.length > 0) throw new ApiError(503, 'NODE_DOWN', `no answer from ${silent.join(', ')}: ${leftover}`);
}
