// The cluster as one broker (EMQX's emqx_router + emqx_shared_sub across nodes): the broker of
// each node tells the router which filters it has subscribers for and who is in which shared
// group; the router keeps every member's copy of those tables, and routes each publish: to this
// node's subscribers, once to every other node with a matching route, and to one member of every
// matching shared group, wherever it is. Nothing here reads MQTT: messages are values.
import { randomBytes } from 'node:crypto';
import type { Log } from '../base/log.js';
import type { Broker } from '../broker/broker.js';
import type { ClusterPort, SessionClaim } from '../broker/cluster-port.js';
import { SharedPicker, type SharedStrategy } from '../broker/shared-strategy.js';
import type { Dist } from '../link/types.js';
import type { Message } from '../mqtt/port.js';
import { ClientTable } from './client-table.js';
import { evacuate, serveEvacuation, type EvacuationHost } from './evacuation.js';
import { Forwarder } from './forwarder.js';
import { fromWire, toWire, type WireMessage } from './protocol.js';
import { RouteSync } from './route-sync.js';
import { RouteTable } from './route-table.js';
import { SessionDirectory } from './sessions.js';
import { memberId, SharedTable, splitMember } from './shared-table.js';

export interface RouterOptions {
  readonly self: string;
  readonly dist: Dist;
  readonly log: Log;
  readonly broker: Broker;
  /** Members of this node's cluster (this node included). */
  isMember(node: string): boolean;
  /** Members running now (this node included). */
  running(): string[];
  strategy(): SharedStrategy;
  /** How long QoS 1/2 messages for a node that went down wait for it to return (node.dist_net_ticktime, as reloaded). */
  graceMs(): number;
}

export class Router implements ClusterPort {
  readonly routes = new RouteTable();
  readonly shared = new SharedTable();
  readonly clients = new ClientTable();
  readonly sessions: SessionDirectory;
  /** This process's incarnation: a restarted node's route changes start a new sequence. */
  readonly epoch = randomBytes(8).toString('hex');
  readonly #sync: RouteSync;
  readonly #fwd: Forwarder;
  readonly #picker = new SharedPicker();
  readonly #o: RouterOptions;

  constructor(o: RouterOptions) {
    this.#o = o;
    const host = { self: o.self, epoch: this.epoch, dist: o.dist, log: o.log, routes: this.routes, shared: this.shared, clients: this.clients, isMember: (n: string) => n !== o.self && o.isMember(n) };
    this.#sync = new RouteSync(host);
    this.sessions = new SessionDirectory({ self: o.self, dist: o.dist, log: o.log, broker: o.broker, clients: this.clients, running: o.running, callTimeoutMs: 5000 });
    this.#fwd = new Forwarder({ epoch: this.epoch, dist: o.dist, log: o.log, graceMs: o.graceMs, deliver: (_from, msgs) => this.#arrived(msgs) });
    serveEvacuation(this.#evacuationHost());
  }

  #evacuationHost(): EvacuationHost {
    const o = this.#o;
    return { self: o.self, dist: o.dist, broker: o.broker, log: o.log, running: o.running };
  }

  /** A graceful stop: this node's detached persistent sessions move to the members that stay (evacuation.ts). */
  evacuate(deadlineMs: number): Promise<{ moved: number; left: number }> {
    return evacuate(this.#evacuationHost(), deadlineMs);
  }

  // ---- membership and links (the node part calls these) ----

  /** A member's link came up, or a linked node became a member: tables exchanged both ways. */
  peerUp(node: string): void {
    this.#sync.sendAll(node);
    this.#sync.askAll(node);
    this.#fwd.nodeUp(node);
  }

  /** A member's link went down: its rows are gone until it is back (it then sends them again). */
  peerDown(node: string): void {
    this.#sync.forget(node);
    this.#fwd.nodeDown(node);
  }

  /** `node` left the cluster (or this node left it). */
  peerGone(node: string): void {
    this.#sync.forget(node);
    this.#fwd.forget(node);
  }

  stop(): void {
    this.#sync.stop();
    this.#fwd.stop();
    this.sessions.stop();
  }

  /** Every route as [filter, node], shared-group members' filters included (`topics list`). */
  *routeRows(): IterableIterator<readonly [string, string]> {
    yield* this.routes.rows();
    for (const node of this.shared.nodes()) for (const [, filter] of this.shared.rowsOf(node)) yield [filter, node];
  }

  /** Whether `node`'s routes have arrived here: a publish now reaches its subscribers. */
  routesFrom(node: string): boolean {
    return this.#sync.knows(node);
  }

  get unacknowledgedBatches(): number {
    return this.#fwd.unacknowledged;
  }

  // ---- ClusterPort: what the broker tells the cluster ----

  routeAdded(filter: string): Promise<void> | undefined {
    return this.#sync.local(['+', filter], true);
  }

  routeRemoved(filter: string): void {
    this.#sync.local(['-', filter]);
  }

  sharedAdded(group: string, filter: string, clientId: string): Promise<void> | undefined {
    return this.#sync.local(['s+', group, filter, clientId], true);
  }

  sharedRemoved(group: string, filter: string, clientId: string): void {
    this.#sync.local(['s-', group, filter, clientId]);
  }

  claimSession(clientId: string, cleanStart: boolean): Promise<SessionClaim> {
    return this.sessions.claim(clientId, cleanStart);
  }

  sessionOpened(clientId: string): void {
    this.#sync.local(['c+', clientId]);
  }

  sessionEnded(clientId: string): void {
    this.#sync.local(['c-', clientId]);
  }

  hasRoute(topic: string): boolean {
    return this.routes.hasMatch(topic) || this.shared.hasMatch(topic);
  }

  route(msg: Message): { local: number; remote: number; settled?: Promise<void> } {
    const { self, broker } = this.#o;
    let local = broker.dispatchLocal(msg);
    let remote = 0;
    const waits: Array<Promise<void>> = [];
    const acked = msg.qos > 0;
    // A node alone (or whose peers route nothing) matches the topic once, in its broker.
    if (this.routes.hasOtherThan(self)) {
      let wire: WireMessage | undefined;
      const nodes = new Set<string>();
      this.routes.nodesFor(msg.topic, nodes);
      nodes.delete(self);
      for (const n of nodes) {
        const w = this.#fwd.send(n, (wire ??= toWire(msg)), acked);
        if (w) waits.push(w);
        remote++;
      }
    }
    if (this.shared.size > 0) {
      const strategy = this.#o.strategy();
      const isLocal = (m: string): boolean => splitMember(m).node === self;
      this.shared.match(msg.topic, (group, filter, g) => {
        const key = `${group}/${filter}`;
        const ctx = { publisher: msg.from, topic: msg.topic };
        let member = this.#picker.pick(strategy, key, g.order, ctx, isLocal);
        const tried = new Set<string>();
        while (member !== undefined) {
          const { node, clientId } = splitMember(member);
          if (node !== self) {
            const w = this.#fwd.send(node, toWire(msg, [group, filter, clientId]), acked);
            if (w) waits.push(w);
            remote++;
            return;
          }
          if (broker.deliverShared(msg, group, filter, clientId)) {
            local++;
            return;
          }
          // Our table is ahead of the broker (the member just left): the next one.
          tried.add(member);
          member = this.#picker.pickExcept(strategy, key, g.order, ctx, tried, isLocal);
        }
      });
    }
    if (waits.length === 0) return { local, remote };
    return { local, remote, settled: waits.length === 1 ? waits[0]! : Promise.all(waits).then(() => undefined) };
  }

  redispatchShared(msg: Message, group: string, filter: string, goneClientId: string): void {
    const g = this.shared.group(group, filter);
    if (!g) return;
    const { self, broker } = this.#o;
    const member = this.#picker.pickExcept(this.#o.strategy(), `${group}/${filter}`, g.order, { publisher: msg.from, topic: msg.topic }, new Set([memberId(self, goneClientId)]));
    if (member === undefined) return;
    const { node, clientId } = splitMember(member);
    if (node === self) broker.deliverShared(msg, group, filter, clientId);
    else void this.#fwd.send(node, toWire(msg, [group, filter, clientId]), msg.qos > 0);
  }

  /** Messages another node routed here. */
  #arrived(msgs: readonly WireMessage[]): void {
    const { broker } = this.#o;
    for (const w of msgs) {
      const msg = fromWire(w);
      if (!w.target) {
        broker.dispatchLocal(msg);
        continue;
      }
      const [group, filter, clientId] = w.target;
      // The member picked on the publisher's node left meanwhile: another member, here if any.
      if (!broker.deliverShared(msg, group, filter, clientId)) this.redispatchShared(msg, group, filter, clientId);
    }
  }
}
