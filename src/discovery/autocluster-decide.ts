// The pure core of the autocluster loop: given what one round saw, whom (if anyone) to join.
// As ekka: everybody joins the oldest live node, so all nodes converge on one cluster; a
// deterministic tie-break by name keeps two nodes booted in the same millisecond from
// joining each other.

/** What a discovered node says about itself when probed. */
export interface NodeInfo {
  /** Boot time (ms since epoch): the oldest node is the one everybody joins. */
  readonly startedAt: number;
  /** false when its discovery is off (manual leave, singleton, manual strategy): never a target. */
  readonly discovery: boolean;
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

export function olderThan(a: { node: string; startedAt: number }, b: { node: string; startedAt: number }): boolean {
  return a.startedAt !== b.startedAt ? a.startedAt < b.startedAt : a.node < b.node;
}

export function decide(v: RoundView): Decision {
  const members = new Set(v.members);
  members.add(v.self);
  const others = [...new Set(v.discovered)].filter((n) => n !== v.self).sort();
  const unreachable: string[] = [];
  const candidates: Array<{ node: string; startedAt: number }> = [];
  for (const node of others) {
    const info = v.probes.get(node);
    if (info === undefined) unreachable.push(node);
    else if (info.discovery) candidates.push({ node, startedAt: info.startedAt });
  }
  let oldest = { node: v.self, startedAt: v.selfStartedAt };
  for (const c of candidates) if (olderThan(c, oldest)) oldest = c;

  // Stable: nobody discovered is out of reach, every live participant is one of us, and we are
  // not alone (as ekka: a lone node may simply have looked before the others registered, and
  // must not drop to the slow pace while an older node is about to appear).
  const stable = members.size > 1 && unreachable.length === 0 && candidates.every((c) => members.has(c.node));
  if (oldest.node === v.self) {
    return { kind: 'stay', stable, unreachable, reason: candidates.length === 0 ? 'no other live node discovered' : 'this node is the oldest; the others join it' };
  }
  if (members.has(oldest.node)) {
    return { kind: 'stay', stable, unreachable, reason: `already in the cluster of the oldest node ${oldest.node}` };
  }
  return { kind: 'join', target: oldest.node, reason: `${oldest.node} is the oldest live node and not in our cluster` };
}
