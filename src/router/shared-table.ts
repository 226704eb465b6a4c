// Who is in each shared-subscription group across the cluster: `$share/<group>/<filter>` →
// members (node + client id), so the node a message is published on can pick one member for the
// whole cluster with the configured strategy. Each node owns its own members' rows. Pure.
import { SubscriptionIndex } from '../broker/subscription-index.js';

/** A member as one string: node and client id (a client id may hold any character but NUL). */
export const memberId = (node: string, clientId: string): string => `${node}\u0000${clientId}`;

export function splitMember(id: string): { node: string; clientId: string } {
  const i = id.indexOf('\u0000');
  return { node: id.slice(0, i), clientId: id.slice(i + 1) };
}

/** One group of one filter: its members in a stable (sorted) order, as the strategies need. */
export interface SharedGroup {
  readonly members: Set<string>;
  order: string[];
}

export class SharedTable {
  /** Inner filter → group name → members. */
  readonly #index = new SubscriptionIndex<SharedGroup>();
  /** node → its rows as `group\0filter\0clientId`, to purge or resend them. */
  readonly #byNode = new Map<string, Set<string>>();

  add(node: string, group: string, filter: string, clientId: string): boolean {
    const row = `${group}\u0000${filter}\u0000${clientId}`;
    let rows = this.#byNode.get(node);
    if (!rows) this.#byNode.set(node, (rows = new Set()));
    if (rows.has(row)) return false;
    rows.add(row);
    let g = this.#index.get(filter, group);
    if (!g) {
      g = { members: new Set(), order: [] };
      this.#index.add(filter, group, g);
    }
    const id = memberId(node, clientId);
    g.members.add(id);
    g.order = [...g.members].sort();
    return true;
  }

  remove(node: string, group: string, filter: string, clientId: string): boolean {
    const rows = this.#byNode.get(node);
    if (!rows?.delete(`${group}\u0000${filter}\u0000${clientId}`)) return false;
    if (rows.size === 0) this.#byNode.delete(node);
    const g = this.#index.get(filter, group);
    if (g?.members.delete(memberId(node, clientId))) {
      if (g.members.size === 0) this.#index.remove(filter, group);
      else g.order = [...g.members].sort();
    }
    return true;
  }

  purge(node: string): number {
    const rows = this.#byNode.get(node);
    if (!rows) return 0;
    for (const row of [...rows]) {
      const [group, filter, clientId] = row.split('\u0000') as [string, string, string];
      this.remove(node, group, filter, clientId);
    }
    return rows.size;
  }

  /** Every group whose filter matches `topic`. */
  match(topic: string, visit: (group: string, filter: string, g: SharedGroup) => void): void {
    this.#index.match(topic, (filter, groups) => {
      for (const [group, g] of groups) visit(group, filter, g);
    });
  }

  hasMatch(topic: string): boolean {
    return this.#index.hasMatch(topic);
  }

  group(group: string, filter: string): SharedGroup | undefined {
    return this.#index.get(filter, group);
  }

  /** The rows of `node` as [group, filter, clientId]. */
  *rowsOf(node: string): IterableIterator<[group: string, filter: string, clientId: string]> {
    for (const row of this.#byNode.get(node) ?? []) yield row.split('\u0000') as [string, string, string];
  }

  nodes(): string[] {
    return [...this.#byNode.keys()];
  }

  get size(): number {
    let n = 0;
    for (const s of this.#byNode.values()) n += s.size;
    return n;
  }

  /** Filters with a group, for `topics list`. */
  filters(): IterableIterator<string> {
    return this.#index.filters();
  }
}
