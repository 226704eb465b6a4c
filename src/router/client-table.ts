// Which node holds the session of each client id, as every member sees it (EMQX's cluster-wide
// channel registry). Each node writes its own rows. A client id held on two nodes at once is
// possible only for a moment (a takeover in flight, a partition healing). Pure.

export class ClientTable {
  readonly #where = new Map<string, Set<string>>();
  readonly #byNode = new Map<string, Set<string>>();

  add(node: string, clientId: string): boolean {
    let mine = this.#byNode.get(node);
    if (!mine) this.#byNode.set(node, (mine = new Set()));
    if (mine.has(clientId)) return false;
    mine.add(clientId);
    let nodes = this.#where.get(clientId);
    if (!nodes) this.#where.set(clientId, (nodes = new Set()));
    nodes.add(node);
    return true;
  }

  remove(node: string, clientId: string): boolean {
    const mine = this.#byNode.get(node);
    if (!mine?.delete(clientId)) return false;
    if (mine.size === 0) this.#byNode.delete(node);
    const nodes = this.#where.get(clientId);
    nodes?.delete(node);
    if (nodes?.size === 0) this.#where.delete(clientId);
    return true;
  }

  purge(node: string): number {
    const mine = this.#byNode.get(node);
    if (!mine) return 0;
    for (const id of [...mine]) this.remove(node, id);
    return mine.size;
  }

  /** The nodes holding `clientId`'s session. */
  nodesOf(clientId: string): string[] {
    return [...(this.#where.get(clientId) ?? [])];
  }

  clientsOf(node: string): ReadonlySet<string> {
    return this.#byNode.get(node) ?? new Set();
  }

  get size(): number {
    return this.#where.size;
  }
}
