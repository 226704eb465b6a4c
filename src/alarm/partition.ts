// EMQX's `partition` alarm: raised when a member comes back from a silence without having
// restarted (the two sides ran on apart), with EMQX's message `Partition occurs at node <peer>`;
// cleared when no member is apart any more. With cluster.autoheal on (the default) the sides
// merge as soon as they meet again, so the alarm is raised and cleared at that moment, dated
// from when the link was lost: the history says when the cluster was split and for how long.
// With autoheal off it stays active until the operator restarts one side or removes the node.
import type { Alarms } from './alarms.js';

export const PARTITION = 'partition';

export class PartitionAlarm {
  /** Peers apart from this node, and when their link was lost (ms). */
  readonly #apart = new Map<string, number>();

  constructor(private readonly alarms: Alarms) {}

  event(peer: string, state: 'detected' | 'healed', sinceMs: number): void {
    if (state === 'detected') {
      this.#apart.set(peer, sinceMs);
      this.#raise(peer, sinceMs);
      return;
    }
    // Healed without having been seen apart (autoheal merged at once): raised, then cleared.
    if (!this.#apart.has(peer) && !this.alarms.isActive(PARTITION)) this.#raise(peer, sinceMs);
    this.#apart.delete(peer);
    this.#clearIfNone(peer);
  }

  /** The member list changed: peers no longer in it are not apart any more. */
  members(members: readonly string[]): void {
    for (const peer of [...this.#apart.keys()]) {
      if (!members.includes(peer)) {
        this.#apart.delete(peer);
        this.#clearIfNone(peer);
      }
    }
  }

  #raise(peer: string, sinceMs: number): void {
    this.alarms.activate(PARTITION, { occurred: peer }, `Partition occurs at node ${peer}`, sinceMs * 1000);
  }

  #clearIfNone(peer: string): void {
    if (this.#apart.size === 0) this.alarms.deactivate(PARTITION, { details: { occurred: peer, healed: true }, message: `Partition with node ${peer} healed` });
  }
}
