// What the broker tells the rest of the cluster and asks of it, as an interface the router
// implements (router/ depends on broker/, not the other way). Without one attached, the broker
// serves its own clients alone.
import type { Message } from '../mqtt/port.js';
import type { SessionHandover } from './session.js';

/** The outcome of claiming a client id cluster-wide before its session opens here. */
export interface SessionClaim {
  /** The session another node held for this client, handed over (none with clean start). */
  readonly handover?: SessionHandover;
  /**
   * False when a connection with the same client id on another node claimed it after us while
   * we were opening: that one wins, ours is refused. Call once, when the session is in place.
   */
  stillOurs(): boolean;
}

export interface ClusterPort {
  /**
   * This node's first subscriber of `filter` arrived / its last one left. The promise settles
   * once every running member knows the route: the SUBACK waits for it.
   */
  routeAdded(filter: string): Promise<void> | undefined;
  routeRemoved(filter: string): void;
  /** A local client joined / left `$share/<group>/<filter>` (joining: as routeAdded). */
  sharedAdded(group: string, filter: string, clientId: string): Promise<void> | undefined;
  sharedRemoved(group: string, filter: string, clientId: string): void;
  /**
   * Sends `msg` once to every other node with a matching route, and hands it to one member,
   * anywhere in the cluster, of every matching shared group. Returns the deliveries made here
   * and, for a QoS 1/2 message that went to other nodes, a promise settled once they have it.
   */
  /** Whether a subscriber anywhere in the cluster could want `topic` (cheap; no delivery). */
  hasRoute(topic: string): boolean;
  route(msg: Message): { readonly local: number; readonly remote: number; readonly settled?: Promise<void> };
  /** A shared-group message whose member's session ended: to another member of the group. */
  redispatchShared(msg: Message, group: string, filter: string, goneClientId: string): void;
  /**
   * Before a session for `clientId` opens or resumes here: connects with one client id anywhere
   * in the cluster are taken in turn, and the node that holds the session hands it over.
   */
  claimSession(clientId: string, cleanStart: boolean): Promise<SessionClaim>;
  /** A session for `clientId` now lives here / ended here (the cluster's client registry). */
  sessionOpened(clientId: string): void;
  sessionEnded(clientId: string): void;
}
