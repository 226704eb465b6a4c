// What the broker tells the rest of the cluster and asks of it, as an interface the router
// implements (router/ depends on broker/, not the other way). Without one attached, the broker
// serves its own clients alone.
import type { Message } from '../mqtt/port.js';

export interface ClusterPort {
  /** This node's first subscriber of `filter` arrived / its last one left. */
  routeAdded(filter: string): void;
  routeRemoved(filter: string): void;
  /** A local client joined / left `$share/<group>/<filter>`. */
  sharedAdded(group: string, filter: string, clientId: string): void;
  sharedRemoved(group: string, filter: string, clientId: string): void;
  /**
   * Sends `msg` once to every other node with a matching route, and hands it to one member,
   * anywhere in the cluster, of every matching shared group. Returns the deliveries made here
   * and, for a QoS 1/2 message that went to other nodes, a promise settled once they have it.
   */
  route(msg: Message): { readonly local: number; readonly remote: number; readonly settled?: Promise<void> };
  /** A shared-group message whose member's session ended: to another member of the group. */
  redispatchShared(msg: Message, group: string, filter: string, goneClientId: string): void;
}
