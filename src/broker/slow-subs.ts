// EMQX's slow subscriptions (emqx_slow_subs): with `slow_subs.enable`, each delivery that takes
// longer than `slow_subs.threshold` is recorded per (client id, topic), and the node keeps the
// `top_k_num` slowest, each forgotten `expire_interval` after its last slow delivery. What a
// delivery's time is depends on `stats_type`, from the message's publication (or the session's
// start, if later: a message queued for a session that did not exist yet is not the session's
// delay) to:
//   whole     the client's acknowledgement (QoS 1/2) or the send (QoS 0)
//   internal  the send: the time spent in the broker
//   response  the acknowledgement, counted from the send: the client's own delay (QoS 1/2 only)
// Pure: times are given. This node's entries only; the API merges the members'.
import type { SlowSubsConfig } from '../config/types.js';

export interface SlowSub {
  readonly clientid: string;
  readonly topic: string;
  /** ms */
  readonly timespan: number;
  /** ms since the epoch */
  readonly last_update_time: number;
}

export class SlowSubs {
  #config: SlowSubsConfig;
  /** `clientid\u0000topic` → entry. At most top_k_num. */
  readonly #top = new Map<string, SlowSub>();

  constructor(config: SlowSubsConfig) {
    this.#config = config;
  }

  /** The hot path's check: false while off. */
  get enabled(): boolean {
    return this.#config.enable;
  }

  get statsType(): SlowSubsConfig['stats_type'] {
    return this.#config.stats_type;
  }

  reconfigure(config: SlowSubsConfig): void {
    this.#config = config;
    if (!config.enable) this.#top.clear();
    this.#trim();
  }

  /** A delivery that took `timespan` ms. */
  record(clientid: string, topic: string, timespan: number, now: number): void {
    if (timespan <= this.#config.threshold) return;
    const key = `${clientid}\u0000${topic}`;
    const entry: SlowSub = { clientid, topic, timespan, last_update_time: now };
    if (this.#top.has(key) || this.#top.size < this.#config.top_k_num) {
      this.#top.set(key, entry);
      return;
    }
    // Full: it takes the place of the fastest, if it is slower.
    let fastestKey: string | undefined;
    let fastest = Number.POSITIVE_INFINITY;
    for (const [k, e] of this.#top) {
      if (e.timespan < fastest) {
        fastest = e.timespan;
        fastestKey = k;
      }
    }
    if (fastestKey !== undefined && timespan > fastest) {
      this.#top.delete(fastestKey);
      this.#top.set(key, entry);
    }
  }

  /** The entries, slowest first, without those expired at `now`. */
  list(now: number): SlowSub[] {
    this.expire(now);
    return [...this.#top.values()].sort((a, b) => b.timespan - a.timespan || a.clientid.localeCompare(b.clientid));
  }

  expire(now: number): void {
    for (const [k, e] of this.#top) if (now - e.last_update_time > this.#config.expire_interval) this.#top.delete(k);
  }

  clear(): void {
    this.#top.clear();
  }

  #trim(): void {
    const keep = this.list(Date.now()).slice(0, this.#config.top_k_num);
    this.#top.clear();
    for (const e of keep) this.#top.set(`${e.clientid}\u0000${e.topic}`, e);
  }
}

/** The cluster's list: every member's entries with their node, slowest first. */
export function mergeSlowSubs(perNode: ReadonlyArray<{ readonly node: string; readonly rows: readonly SlowSub[] }>): Array<SlowSub & { node: string }> {
  return perNode.flatMap((p) => p.rows.map((r) => ({ ...r, node: p.node }))).sort((a, b) => b.timespan - a.timespan || a.node.localeCompare(b.node) || a.clientid.localeCompare(b.clientid));
}
