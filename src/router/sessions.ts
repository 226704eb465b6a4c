// One session per client id across the cluster (EMQX's emqx_cm registry and takeover, without its
// cluster lock). Every connect first claims its client id at the id's owner — a member picked by
// hashing the id over the running members, the same on every node — which answers with the node
// that claimed it before. Claims for one id are thus taken in turn, cluster-wide: the new
// connection takes the session from the previous holder (handed over, or discarded with clean
// start). A claim that is overtaken while its connect is still opening loses: its connect is
// refused and the later one keeps the session. So two simultaneous connects with one client id
// on two nodes end with exactly one session, and neither node waits on a lock that could be lost
// with a node.
import { fnv1a } from '../broker/shared-strategy.js';
import type { Broker } from '../broker/broker.js';
import type { SessionClaim } from '../broker/cluster-port.js';
import type { SessionHandover } from '../broker/session.js';
import type { Log } from '../base/log.js';
import type { Dist } from '../link/types.js';
import type { ClientTable } from './client-table.js';
import { parseClientReq, ROUTER_CHANNELS } from './protocol.js';

export interface SessionsHost {
  readonly self: string;
  readonly dist: Dist;
  readonly log: Log;
  readonly broker: Broker;
  readonly clients: ClientTable;
  /** Running members, this node included. */
  running(): string[];
  /** How long a call to another node may take. */
  readonly callTimeoutMs: number;
}

/** How long a takeover waits for the messages of a session still moving off a stopping node. */
const STUB_WAIT_MS = 3000;

/** How long an owner remembers a claim: enough to order connects that race, not more. */
const CLAIM_MEMORY_MS = 60_000;

export class SessionDirectory {
  /** As the owner of client ids: the last claim of each, and when. */
  readonly #claims = new Map<string, { node: string; at: number }>();
  /** Connects opening here, by client id: revoked when a later claim takes the id. */
  readonly #opening = new Map<string, { revoked: boolean }>();
  readonly #sweep: NodeJS.Timeout;

  constructor(private readonly h: SessionsHost) {
    h.dist.handle(ROUTER_CHANNELS.claim, (from, p) => {
      const r = parseClientReq(p);
      if (!r) throw new Error('malformed claim');
      return { prev: this.#grant(r.clientId, from) ?? null };
    });
    h.dist.handle(ROUTER_CHANNELS.takeover, async (_from, p) => {
      const r = parseClientReq(p);
      if (!r) throw new Error('malformed takeover');
      // A session this node took from a stopping one leaves only with its messages (evacuation.ts).
      const filled = h.broker.stubFilled(r.clientId);
      if (filled) await Promise.race([filled, new Promise((resolve) => setTimeout(resolve, STUB_WAIT_MS).unref())]);
      return this.#handOver(r.clientId, r.cleanStart) ?? null;
    });
    h.dist.handle(ROUTER_CHANNELS.kick, (_from, p) => {
      const r = parseClientReq(p);
      if (!r) throw new Error('malformed kick');
      return h.broker.kick(r.clientId);
    });
    this.#sweep = setInterval(() => {
      const old = Date.now() - CLAIM_MEMORY_MS;
      for (const [id, c] of this.#claims) if (c.at < old) this.#claims.delete(id);
    }, CLAIM_MEMORY_MS);
    this.#sweep.unref();
  }

  stop(): void {
    clearInterval(this.#sweep);
  }

  /** The member that orders the claims of `clientId`. */
  owner(clientId: string): string {
    const members = this.h.running().sort();
    return members[fnv1a(clientId) % members.length] ?? this.h.self;
  }

  async claim(clientId: string, cleanStart: boolean): Promise<SessionClaim> {
    const { self, dist } = this.h;
    const token = { revoked: false };
    this.#opening.set(clientId, token);
    const done = (): boolean => {
      if (this.#opening.get(clientId) === token) this.#opening.delete(clientId);
      return !token.revoked;
    };
    const owner = this.owner(clientId);
    let prev: string | undefined;
    if (owner === self) prev = this.#grant(clientId, self);
    else {
      try {
        const r = (await dist.call(owner, ROUTER_CHANNELS.claim, { clientId }, this.h.callTimeoutMs)) as { prev?: unknown } | null;
        prev = typeof r?.prev === 'string' ? r.prev : undefined;
      } catch (err) {
        // The owner is not answering (going down): the registry says who holds the session.
        this.h.log.warn({ clientid: clientId, owner, err: err instanceof Error ? err.message : String(err) }, 'client id owner did not answer the claim; going by the registry');
        prev = this.#holder(clientId, self);
      }
    }
    let handover: SessionHandover | undefined;
    if (prev !== undefined && prev !== self && dist.isUp(prev)) {
      try {
        const r = await dist.call(prev, ROUTER_CHANNELS.takeover, { clientId, cleanStart }, this.h.callTimeoutMs);
        handover = r === null ? undefined : (r as SessionHandover);
      } catch (err) {
        this.h.log.warn({ clientid: clientId, from: prev, err: err instanceof Error ? err.message : String(err) }, 'session takeover from another node failed; a new session starts');
      }
    }
    return handover ? { handover, stillOurs: done } : { stillOurs: done };
  }

  /** `clients kick` for a client anywhere in the cluster. */
  async kick(clientId: string): Promise<boolean> {
    if (this.h.broker.kick(clientId)) return true;
    for (const n of this.h.clients.nodesOf(clientId)) {
      if (n === this.h.self || !this.h.dist.isUp(n)) continue;
      if ((await this.h.dist.call(n, ROUTER_CHANNELS.kick, { clientId }, this.h.callTimeoutMs).catch(() => false)) === true) return true;
    }
    return false;
  }

  /** As the owner: records `node`'s claim and returns the node that had the id before. */
  #grant(clientId: string, node: string): string | undefined {
    const { self } = this.h;
    // A claimant no longer running (stopped: its session moved on, or died with it) is not the
    // one to ask: the registry says where the session is now.
    const remembered = this.#claims.get(clientId)?.node;
    const live = remembered !== undefined && this.h.running().includes(remembered) ? remembered : undefined;
    const prev = live ?? (this.#opening.has(clientId) && node !== self ? self : undefined) ?? this.#holder(clientId, node);
    // A claim of this node's own is known from its opening connect until the session is
    // registered; only other nodes' claims need remembering (at 10,000 connects a second the
    // map would otherwise hold every client of the last minute).
    if (node === self) this.#claims.delete(clientId);
    else this.#claims.set(clientId, { node, at: Date.now() });
    return prev;
  }

  /** A node other than `except` the registry says holds `clientId`'s session. */
  #holder(clientId: string, except: string): string | undefined {
    return this.h.clients.nodesOf(clientId).find((n) => n !== except);
  }

  /** Another node's connect for `clientId` came after ours: ours loses if still opening. */
  #handOver(clientId: string, cleanStart: boolean): SessionHandover | undefined {
    const opening = this.#opening.get(clientId);
    if (opening) opening.revoked = true;
    return this.h.broker.handOver(clientId, cleanStart);
  }
}
