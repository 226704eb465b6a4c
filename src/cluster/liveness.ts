// Which members are running, since when, and which are down or kept apart by a partition
// (cluster.autoheal = false). Local knowledge only, so `cluster status` never waits on a peer.
// State without timers or I/O: the time comes in as an argument.

export class Liveness {
  /** Members with a link up that agreed they share our cluster, and since when. */
  private readonly running = new Map<string, number>();
  /** Members seen going down (or not met since start, or since the join), and since when. */
  private readonly downSince = new Map<string, number>();
  /** Each member's boot id when last met: the same one after a silence means a partition. */
  private readonly lastBoot = new Map<string, string>();
  private readonly partitioned = new Set<string>();
  /** Members whose link was lost to silence (the heartbeat timeout), not closed by a peer that answers. */
  private readonly silent = new Set<string>();

  /**
   * Starts over, for a new cluster or alone: nothing learned about the old members says anything
   * about these. `down` are the members not met yet, counted as down from `at`.
   */
  reset(down: readonly string[] = [], at = 0): void {
    this.running.clear();
    this.downSince.clear();
    this.lastBoot.clear();
    this.partitioned.clear();
    this.silent.clear();
    for (const n of down) this.downSince.set(n, at);
  }

  isRunning(node: string): boolean {
    return this.running.has(node);
  }

  /** Running members, in no particular order. */
  runningNodes(): string[] {
    return [...this.running.keys()];
  }

  isPartitioned(node: string): boolean {
    return this.partitioned.has(node);
  }

  /** Since when the member is running, or else down; undefined when never seen either way. */
  since(node: string): number | undefined {
    return this.running.get(node) ?? this.downSince.get(node);
  }

  downFor(node: string, now: number, otherwiseSince: number): number {
    return now - (this.downSince.get(node) ?? otherwiseSince);
  }

  /** Met in our cluster: running from now if it was not. Returns whether it was not. */
  met(node: string, bootId: string, now: number): boolean {
    const fresh = !this.running.has(node);
    if (fresh) this.running.set(node, now);
    this.lastBoot.set(node, bootId);
    this.downSince.delete(node);
    this.partitioned.delete(node);
    this.silent.delete(node);
    return fresh;
  }

  /** Its link went down (`silence`: nothing heard for the ticktime). Returns whether it was running. */
  lost(node: string, now: number, silence = false): boolean {
    const was = this.running.delete(node);
    if (!this.downSince.has(node)) this.downSince.set(node, now);
    if (silence) this.silent.add(node);
    return was;
  }

  /** Whether the member was lost to silence since it was last met. */
  lostToSilence(node: string): boolean {
    return this.silent.has(node);
  }

  /** A new member not met yet: down from `now` until it is. */
  notMetSince(node: string, now: number): void {
    if (!this.running.has(node)) this.downSince.set(node, now);
  }

  /** Back after a silence with the boot it had before: the same run of it, so a partition. */
  cameBackUnrestarted(node: string, bootId: string): boolean {
    return this.downSince.has(node) && this.lastBoot.get(node) === bootId;
  }

  /** Kept apart (autoheal off). Returns whether it was not already. */
  keepApart(node: string): boolean {
    const fresh = !this.partitioned.has(node);
    this.partitioned.add(node);
    return fresh;
  }

  /** No longer a member. */
  forget(node: string): void {
    this.running.delete(node);
    this.downSince.delete(node);
    this.lastBoot.delete(node);
    this.partitioned.delete(node);
    this.silent.delete(node);
  }
}
