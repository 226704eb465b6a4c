// The cluster's route table (EMQX's emqx_router): one row per (topic filter, node), not per
// subscriber. A node has a route for a filter while it has at least one local subscriber of it.
// Exact filters and wildcard filters are indexed separately (SubscriptionIndex), so matching a
// topic costs one lookup plus a walk of the wildcard trie, whatever the number of routes. Pure.
import { SubscriptionIndex } from '../broker/subscription-index.js';

export class RouteTable {
  readonly #index = new SubscriptionIndex<true>();
  readonly #byNode = new Map<string, Set<string>>();

  /** Adds (node, filter); false when it was there. */
  add(node: string, filter: string): boolean {
    let set = this.#byNode.get(node);
    if (!set) this.#byNode.set(node, (set = new Set()));
    if (set.has(filter)) return false;
    set.add(filter);
    this.#index.add(filter, node, true);
    return true;
  }

  remove(node: string, filter: string): boolean {
    const set = this.#byNode.get(node);
    if (!set?.delete(filter)) return false;
    if (set.size === 0) this.#byNode.delete(node);
    this.#index.remove(filter, node);
    return true;
  }

  /** Every route of `node` gone (it went down, left, or is about to send its full set). */
  purge(node: string): number {
    const set = this.#byNode.get(node);
    if (!set) return 0;
    this.#byNode.delete(node);
    for (const f of set) this.#index.remove(f, node);
    return set.size;
  }

  /** Whether a node other than `self` has any route: when none has, a publish has nowhere else to go. */
  hasOtherThan(self: string): boolean {
    return this.#byNode.size > (this.#byNode.has(self) ? 1 : 0);
  }

  /** Adds to `out` every node with a route matching `topic`. */
  nodesFor(topic: string, out: Set<string>): void {
    this.#index.match(topic, (_filter, nodes) => {
      for (const n of nodes.keys()) out.add(n);
    });
  }

  /** Whether any node has a route matching `topic`. */
  hasMatch(topic: string): boolean {
    return this.#index.hasMatch(topic);
  }

  filtersOf(node: string): ReadonlySet<string> {
    return this.#byNode.get(node) ?? new Set();
  }

  nodes(): string[] {
    return [...this.#byNode.keys()].sort();
  }

  /** Every (filter, node) row, for `topics list`. */
  *rows(): IterableIterator<[filter: string, node: string]> {
    for (const [node, set] of this.#byNode) for (const f of set) yield [f, node];
  }

  /** Nodes routing exactly this filter (`topics show`). */
  nodesOf(filter: string): string[] {
    return [...(this.#index.subscribers(filter)?.keys() ?? [])].sort();
  }

  get size(): number {
    let n = 0;
    for (const s of this.#byNode.values()) n += s.size;
    return n;
  }
}
