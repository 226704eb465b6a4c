// Which node holds the session of each client id, as every member sees it (EMQX's cluster-wide
// channel registry). Each node writes its own rows. A client id held on two nodes at once is
// possible only for a moment (a takeover in flight, a partition healing). Pure.

export class ClientTable {
  /** Client id → its node, or nodes in the rare moments there are several (no Set per client). */
  readonly #where = new Map<string, string | Set<string>>();
  readonly #byNode = new Map<string, Set<string>>();

  add(node: string, clientId: string): boolean {
    let mine = this.#byNode.get(node);
    if (!mine) this.#byNode.set(node, (mine = new Set()));
    if (mine.has(clientId)) return false;
    mine.add(clientId);
    const w = this.#where.get(clientId);
    if (w === undefined) this.#where.set(clientId, node);
    else if (typeof w === 'string') this.#where.set(clientId, new Set([w, node]));
    else w.add(node);
    return true;
  }

  remove(node: string, clientId: string): boolean {
    const mine = this.#byNode.get(node);
    if (!mine?.delete(clientId)) return false;
    if (mine.size === 0) this.#byNode.delete(node);
    const w = this.#where.get(clientId);
    if (w === node) this.#where.delete(clientId);
    else if (typeof w === 'object') {
      w.delete(node);
      if (w.size === 1) this.#where.set(clientId, [...w][0]!);
    }
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
    const w = this.#where.get(clientId);
    return w === undefined ? [] : typeof w === 'string' ? [w] : [...w];
  }

  clientsOf(node: string): ReadonlySet<string> {
    return this.#byNode.get(node) ?? new Set();
  }

  get size(): number {
    return this.#where.size;
  }
}
