// EMQX's topic metrics (emqx_topic_metrics): for each metered topic (an exact topic name, at most
// 512), the messages published to it (in, per QoS), delivered from it to subscribers (out, per
// QoS) and dropped for want of a subscriber, each as a count and a rate per second averaged over
// the last 5 seconds. This node's counts only: the API adds up the members'. The list of metered
// topics is the cluster's (a replicated table, router/topic-metrics-store.ts, plus the
// `topic_metrics` of emqx.conf); while it is empty the broker's hot path checks one boolean.

export const MAX_TOPIC_METRICS = 512;

const NAMES = [
  'messages.in',
  'messages.out',
  'messages.dropped',
  'messages.qos0.in',
  'messages.qos1.in',
  'messages.qos2.in',
  'messages.qos0.out',
  'messages.qos1.out',
  'messages.qos2.out',
] as const;
type Name = (typeof NAMES)[number];
const IN: readonly Name[] = ['messages.qos0.in', 'messages.qos1.in', 'messages.qos2.in'];
const OUT: readonly Name[] = ['messages.qos0.out', 'messages.qos1.out', 'messages.qos2.out'];

/** Seconds the rates average over (EMQX's speed window). */
const WINDOW = 5;

class Metered {
  readonly counts = new Float64Array(NAMES.length);
  /** Counts at each of the last WINDOW + 1 ticks, oldest first. */
  readonly #history: Float64Array[];
  resetAt: number | undefined;

  constructor(readonly createdAt: number) {
    // From nothing: the first second's messages count in the first rate.
    this.#history = [new Float64Array(NAMES.length)];
  }

  bump(name: Name): void {
    this.counts[NAMES.indexOf(name)]!++;
  }

  tick(): void {
    this.#history.push(Float64Array.from(this.counts));
    if (this.#history.length > WINDOW + 1) this.#history.shift();
  }

  reset(now: number): void {
    this.counts.fill(0);
    this.#history.length = 0;
    this.#history.push(new Float64Array(NAMES.length));
    this.resetAt = now;
  }

  /** EMQX's metrics object: `<name>.count` and `<name>.rate` (per second, 2 decimals). */
  json(): Record<string, number> {
    const out: Record<string, number> = {};
    const first = this.#history[0];
    const spanS = this.#history.length - 1;
    NAMES.forEach((n, i) => {
      out[`${n}.count`] = this.counts[i]!;
      const rate = first && spanS > 0 ? (this.#history[spanS]![i]! - first[i]!) / spanS : 0;
      out[`${n}.rate`] = Math.round(rate * 100) / 100;
    });
    return out;
  }
}

/** One metered topic as this node reports it. */
export interface TopicMetricsRow {
  readonly topic: string;
  /** ms */
  readonly create_time: number;
  /** ms, when this node's counts were last reset */
  readonly reset_time?: number;
  readonly metrics: Record<string, number>;
}

export class TopicMetrics {
  readonly #topics = new Map<string, Metered>();
  /** The broker's fast check: false while nothing is metered. */
  active = false;
  #ticker: NodeJS.Timeout | undefined;

  /** Starts metering `topic` (no effect when it is already). */
  add(topic: string, createdAt: number): void {
    if (this.#topics.has(topic)) return;
    this.#topics.set(topic, new Metered(createdAt));
    this.#changed();
  }

  remove(topic: string): void {
    if (this.#topics.delete(topic)) this.#changed();
  }

  /** Exactly these topics from now on (counts kept for those that stay). */
  replace(topics: ReadonlyMap<string, number>): void {
    for (const t of [...this.#topics.keys()]) if (!topics.has(t)) this.#topics.delete(t);
    for (const [t, at] of topics) if (!this.#topics.has(t)) this.#topics.set(t, new Metered(at));
    this.#changed();
  }

  has(topic: string): boolean {
    return this.#topics.has(topic);
  }

  get size(): number {
    return this.#topics.size;
  }

  /** A message published to `topic` here; `matched` subscribers anywhere (0: dropped). */
  published(topic: string, qos: number, matched: number): void {
    const m = this.#topics.get(topic);
    if (!m) return;
    m.bump('messages.in');
    m.bump(IN[qos]!);
    if (matched === 0) m.bump('messages.dropped');
  }

  /** A message of `topic` delivered to a subscriber here at `qos`. */
  delivered(topic: string, qos: number): void {
    const m = this.#topics.get(topic);
    if (!m) return;
    m.bump('messages.out');
    m.bump(OUT[qos]!);
  }

  /** Resets one topic's counts, or every topic's. False when `topic` is not metered. */
  reset(now: number, topic?: string): boolean {
    if (topic === undefined) {
      for (const m of this.#topics.values()) m.reset(now);
      return true;
    }
    const m = this.#topics.get(topic);
    m?.reset(now);
    return m !== undefined;
  }

  rows(): TopicMetricsRow[] {
    return [...this.#topics].map(([topic, m]) => ({ topic, create_time: m.createdAt, ...(m.resetAt !== undefined ? { reset_time: m.resetAt } : {}), metrics: m.json() }));
  }

  /** One sample a second while anything is metered, for the rates. */
  tick(): void {
    for (const m of this.#topics.values()) m.tick();
  }

  stop(): void {
    clearInterval(this.#ticker);
    this.#ticker = undefined;
  }

  #changed(): void {
    this.active = this.#topics.size > 0;
    if (this.active && !this.#ticker) {
      this.#ticker = setInterval(() => this.tick(), 1000);
      this.#ticker.unref();
    } else if (!this.active) this.stop();
  }
}

/** Sums the members' rows of each topic (counts and rates), the latest reset time winning. */
export function sumTopicMetrics(perNode: ReadonlyArray<readonly TopicMetricsRow[]>): TopicMetricsRow[] {
  const by = new Map<string, { topic: string; create_time: number; reset_time?: number; metrics: Record<string, number> }>();
  for (const rows of perNode) {
    for (const r of rows) {
      const cur = by.get(r.topic);
      if (!cur) {
        by.set(r.topic, { ...r, metrics: { ...r.metrics } });
        continue;
      }
      cur.create_time = Math.min(cur.create_time, r.create_time);
      if (r.reset_time !== undefined) cur.reset_time = Math.max(cur.reset_time ?? 0, r.reset_time);
      for (const [k, v] of Object.entries(r.metrics)) cur.metrics[k] = Math.round(((cur.metrics[k] ?? 0) + v) * 100) / 100;
    }
  }
  return [...by.values()].sort((a, b) => a.topic.localeCompare(b.topic));
}
