// The pure core of the autocluster loop: given what one round saw, whom (if anyone) to join.
// Every node ranks the same live nodes the same way and joins the best one, so all nodes
// converge on one cluster. The rank: the node of the largest cluster first, then the oldest
// node, then the smallest name. ekka ranks by age alone; we put cluster size first because
// a join replaces the joiner's data with the cluster's, and an old node that left (and so
// runs alone with an empty database) must not pull a whole cluster over to its empty copy
// when its discovery is enabled again. Among fresh nodes (all alone) this is ekka's rule.

/** What a discovered node says about itself when probed. */
export interface NodeInfo {
  /** Boot time (ms since epoch). */
  readonly startedAt: number;
  /** false when its discovery is off (manual leave, singleton, manual strategy): never a target. */
  readonly discovery: boolean;
  /** Members of its cluster, itself included. */
  readonly clusterSize: number;
}

export interface RoundView {
  readonly self: string;
  readonly selfStartedAt: number;
  /** Current cluster members, including this node. */
  readonly members: readonly string[];
  /** What the strategy found (may include this node). */
  readonly discovered: readonly string[];
  /** Probe result for each discovered node other than this one; undefined: unreachable. */
  readonly probes: ReadonlyMap<string, NodeInfo | undefined>;
}

export type Decision =
  | { readonly kind: 'join'; readonly target: string; readonly reason: string }
  | { readonly kind: 'stay'; readonly stable: boolean; readonly reason: string; readonly unreachable: readonly string[] };

export interface Ranked {
  readonly node: string;
  readonly startedAt: number;
  readonly clusterSize: number;
}

/** true when `a` ranks before `b`: larger cluster, then older, then smaller name. */
export function ranksBefore(a: Ranked, b: Ranked): boolean {
  if (a.clusterSize !== b.clusterSize) return a.clusterSize > b.clusterSize;
  if (a.startedAt !== b.startedAt) return a.startedAt < b.startedAt;
  return a.node < b.node;
}

/**
 * Discovered nodes outside this cluster that answered with their discovery off: never joined
 * (see NodeInfo.discovery), which an operator who listed them as seeds needs to be told.
 */
export function notJoinTargets(v: RoundView): string[] {
  const members = new Set([v.self, ...v.members]);
  return [...new Set(v.discovered)].filter((n) => !members.has(n) && v.probes.get(n)?.discovery === false).sort();
}

export function decide(v: RoundView): Decision {
  const members = new Set(v.members);
  members.add(v.self);
  const others = [...new Set(v.discovered)].filter((n) => n !== v.self).sort();
  const unreachable: string[] = [];
  const candidates: Ranked[] = [];
  for (const node of others) {
    const info = v.probes.get(node);
    if (info === undefined) unreachable.push(node);
    else if (info.discovery) candidates.push({ node, startedAt: info.startedAt, clusterSize: Math.max(1, info.clusterSize) });
  }
  let best: Ranked = { node: v.self, startedAt: v.selfStartedAt, clusterSize: members.size };
  for (const c of candidates) if (ranksBefore(c, best)) best = c;

  // Stable: nobody discovered is out of reach, every live participant is one of us, and we are
  // not alone (as ekka: a lone node may simply have looked before the others registered, and
  // must not drop to the slow pace while a better node is about to appear).
  const stable = members.size > 1 && unreachable.length === 0 && candidates.every((c) => members.has(c.node));
  if (best.node === v.self) {
    return { kind: 'stay', stable, unreachable, reason: candidates.length === 0 ? 'no other live node discovered' : 'this node ranks first; the others join it' };
  }
  if (members.has(best.node)) {
    return { kind: 'stay', stable, unreachable, reason: `already in the cluster of ${best.node}, which ranks first` };
  }
  const why = best.clusterSize > members.size ? `its cluster is larger (${best.clusterSize} > ${members.size})` : 'it is the oldest live node';
  return { kind: 'join', target: best.node, reason: `${best.node} ranks first: ${why}` };
}
