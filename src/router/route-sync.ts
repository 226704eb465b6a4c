// Keeps every member's copy of the route table current. Each node owns its rows (its routes and
// its shared-group members) and is the only one to write them: it sends its changes, batched per
// event-loop turn, to every member it is linked to, and its whole set to a member that comes
// up. A receiver that sees a gap in a sender's changes asks for the whole set again. Routes live
// in memory only: a node that restarts announces its routes anew from its live sessions, and a
// member that goes down or leaves has its rows dropped at once.
import type { Log } from '../base/log.js';
import type { Dist } from '../link/types.js';
import { parseRoutes, ROUTER_CHANNELS, type RouteOp, type RoutesMsg } from './protocol.js';
import type { RouteTable } from './route-table.js';
import type { ClientTable } from './client-table.js';
import type { SharedTable } from './shared-table.js';

export interface RouteSyncHost {
  readonly self: string;
  /** This process's incarnation. */
  readonly epoch: string;
  readonly dist: Dist;
  readonly log: Log;
  readonly routes: RouteTable;
  readonly shared: SharedTable;
  readonly clients: ClientTable;
  /** Whether `node` is a member of this node's cluster (routes are exchanged with members only). */
  isMember(node: string): boolean;
}

/** Most changes per message: a subscribe storm goes out in a few large messages, not one per filter. */
const MAX_OPS_PER_MSG = 20_000;
/** A member that neither acknowledges nor goes down within this long is not waited for. */
const ACK_WAIT_MS = 5000;

interface Waiter {
  /** Acknowledged once every node here has applied our changes up to `seq`. */
  seq: number;
  readonly nodes: Set<string>;
  readonly resolve: () => void;
}

export class RouteSync {
  #seq = 0;
  #pending: RouteOp[] = [];
  #scheduled = false;
  /** Per sender: the incarnation and last change applied. */
  readonly #from = new Map<string, { epoch: string; seq: number }>();
  /** Members whose copy of our rows could not be sent (link congested): sent whole later. */
  readonly #owed = new Set<string>();
  #retry: NodeJS.Timeout | undefined;
  /** Per member: the last of our changes it acknowledged. */
  readonly #acked = new Map<string, number>();
  /** Changes someone waits on, not yet sent (they get their sequence when sent) / sent. */
  #unsent: Waiter[] = [];
  #waiting: Waiter[] = [];

  constructor(private readonly h: RouteSyncHost) {
    h.dist.handle(ROUTER_CHANNELS.routes, (from, p) => this.#onRoutes(from, p));
    h.dist.handle(ROUTER_CHANNELS.resync, (from) => this.sendAll(from));
    h.dist.handle(ROUTER_CHANNELS.routesAck, (from, p) => this.#onAck(from, p));
  }

  /**
   * A change to this node's own rows: applied here now, sent to the members this turn. With
   * `confirm`, returns a promise settled once every member up now has applied it (or went down):
   * a SUBACK waits for that, so a publish on any node after it finds the new route.
   */
  local(op: RouteOp, confirm = false): Promise<void> | undefined {
    const changed = apply(op, this.h.self, this.h);
    if (!changed) return undefined;
    this.#pending.push(op);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
    if (!confirm) return undefined;
    const nodes = new Set(this.#members());
    if (nodes.size === 0) return undefined;
    return new Promise<void>((resolve) => {
      const w: Waiter = { seq: 0, nodes, resolve };
      this.#unsent.push(w);
      // Not forever: a member that neither answers nor is declared down must not hold a SUBACK.
      setTimeout(() => this.#release(w), ACK_WAIT_MS).unref();
    });
  }

  #flush(): void {
    this.#scheduled = false;
    while (this.#pending.length > 0) {
      const ops = this.#pending.splice(0, MAX_OPS_PER_MSG);
      const msg: RoutesMsg = { epoch: this.h.epoch, seq: ++this.#seq, reset: false, ops };
      for (const n of this.#members()) if (!this.h.dist.send(n, ROUTER_CHANNELS.routes, msg)) this.#owe(n);
    }
    for (const w of this.#unsent) {
      w.seq = this.#seq;
      this.#waiting.push(w);
    }
    this.#unsent = [];
    this.#settle();
  }

  #onAck(from: string, p: unknown): void {
    const a = p as { epoch?: unknown; seq?: unknown } | undefined;
    if (!a || a.epoch !== this.h.epoch || typeof a.seq !== 'number') return;
    if (a.seq > (this.#acked.get(from) ?? 0)) this.#acked.set(from, a.seq);
    this.#settle();
  }

  /** Resolves the waiters every node of has acknowledged (or left). */
  #settle(): void {
    if (this.#waiting.length === 0) return;
    this.#waiting = this.#waiting.filter((w) => {
      for (const n of w.nodes) if ((this.#acked.get(n) ?? 0) >= w.seq || !this.h.dist.isUp(n)) w.nodes.delete(n);
      if (w.nodes.size > 0) return true;
      w.resolve();
      return false;
    });
  }

  #release(w: Waiter): void {
    w.nodes.clear();
    w.resolve();
    this.#waiting = this.#waiting.filter((x) => x !== w);
    this.#unsent = this.#unsent.filter((x) => x !== w);
  }

  /** Our whole set to `node` (it came up, joined, or asked). */
  sendAll(node: string): void {
    if (!this.h.isMember(node)) return;
    const { self, routes, shared, clients } = this.h;
    const ops: RouteOp[] = [];
    for (const f of routes.filtersOf(self)) ops.push(['+', f]);
    for (const [g, f, c] of shared.rowsOf(self)) ops.push(['s+', g, f, c]);
    for (const c of clients.clientsOf(self)) ops.push(['c+', c]);
    // The whole set as of the last change sent: changes still pending follow it as usual.
    const msg: RoutesMsg = { epoch: this.h.epoch, seq: this.#seq, reset: true, ops };
    if (!this.h.dist.send(node, ROUTER_CHANNELS.routes, msg)) this.#owe(node);
    else this.#owed.delete(node);
  }

  /** Whether `node`'s set has arrived here (since it or this node last came up). */
  knows(node: string): boolean {
    return this.#from.has(node);
  }

  /** Asks `node` for its whole set. */
  askAll(node: string): void {
    this.h.dist.send(node, ROUTER_CHANNELS.resync, {});
  }

  /** `node` is down or gone: its rows are dropped here. */
  forget(node: string): void {
    this.#from.delete(node);
    this.#owed.delete(node);
    this.#acked.delete(node);
    for (const w of this.#waiting) w.nodes.delete(node);
    this.#settle();
    const n = this.h.routes.purge(node) + this.h.shared.purge(node) + this.h.clients.purge(node);
    if (n > 0) this.h.log.info({ peer: node, rows: n }, 'routes of a member that is down or gone dropped');
  }

  stop(): void {
    clearTimeout(this.#retry);
  }

  #members(): string[] {
    return this.h.dist.nodes().filter((n) => this.h.isMember(n));
  }

  #owe(node: string): void {
    this.#owed.add(node);
    if (this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      for (const n of [...this.#owed]) if (this.h.dist.isUp(n)) this.sendAll(n);
    }, 1000);
    this.#retry.unref();
  }

  #onRoutes(from: string, p: unknown): void {
    const m = parseRoutes(p);
    if (!m) {
      this.h.log.warn({ peer: from }, 'malformed route update ignored');
      return;
    }
    // Rows come from members only: a node that is not one (yet) is asked again once it is.
    if (!this.h.isMember(from)) return;
    const { routes, shared, clients } = this.h;
    const last = this.#from.get(from);
    if (m.reset) {
      routes.purge(from);
      shared.purge(from);
      clients.purge(from);
    } else if (!last || last.epoch !== m.epoch) {
      // Changes we cannot place (the sender restarted, or we never had its set): ask for the set.
      this.askAll(from);
      return;
    } else if (m.seq <= last.seq) {
      return; // already applied
    } else if (m.seq > last.seq + 1) {
      // Changes were lost (a link dropped): apply these, the whole set follows and settles it.
      this.askAll(from);
    }
    for (const op of m.ops) apply(op, from, this.h);
    this.#from.set(from, { epoch: m.epoch, seq: m.seq });
    this.h.dist.send(from, ROUTER_CHANNELS.routesAck, { epoch: m.epoch, seq: m.seq });
  }
}

function apply(op: RouteOp, node: string, t: { routes: RouteTable; shared: SharedTable; clients: ClientTable }): boolean {
  const { routes, shared, clients } = t;
  switch (op[0]) {
    case '+':
      return routes.add(node, op[1]);
    case '-':
      return routes.remove(node, op[1]);
    case 's+':
      return shared.add(node, op[1], op[2], op[3]);
    case 's-':
      return shared.remove(node, op[1], op[2], op[3]);
    case 'c+':
      return clients.add(node, op[1]);
    case 'c-':
      return clients.remove(node, op[1]);
  }
}
