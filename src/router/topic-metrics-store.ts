// Which topics the cluster meters (EMQX's topic metrics): those added through the API, rows of the
// replicated table `topic_metrics` (topic → when it was added), and those of emqx.conf's
// `topic_metrics`, which the API cannot remove. Every member meters the same topics and counts
// its own traffic on them; the API adds the counts up.
import type { Db } from '../db/db.js';
import { MAX_TOPIC_METRICS, type TopicMetrics } from '../broker/topic-metrics.js';

export const TOPIC_METRICS_TABLE = 'topic_metrics';

export type AddOutcome = 'added' | 'exists' | 'limit';
export type RemoveOutcome = 'removed' | 'not_found' | 'configured';

function createdAt(v: unknown): number | undefined {
  const t = (v as { create_time?: unknown } | undefined)?.create_time;
  return typeof t === 'number' ? t : undefined;
}

export class TopicMetricsList {
  #configured: readonly string[];
  readonly #onChanged = (table: string): void => {
    if (table === TOPIC_METRICS_TABLE) this.sync();
  };
  readonly #onReset = (): void => this.sync();

  constructor(
    private readonly db: Db,
    private readonly metrics: TopicMetrics,
    configured: readonly string[],
    /** When a configured topic counts as added: the node's start. */
    private readonly startedAt: number,
  ) {
    this.#configured = configured;
  }

  attach(): () => void {
    this.db.on('changed', this.#onChanged);
    this.db.on('reset', this.#onReset);
    this.db.mergeOnJoin(TOPIC_METRICS_TABLE);
    this.sync();
    return () => {
      this.db.off('changed', this.#onChanged);
      this.db.off('reset', this.#onReset);
    };
  }

  reconfigure(configured: readonly string[]): void {
    this.#configured = configured;
    this.sync();
  }

  /** The metered topics and when each was added. */
  topics(): Map<string, number> {
    const out = new Map<string, number>();
    for (const t of this.#configured) out.set(t, this.startedAt);
    for (const [t, v] of this.db.list(TOPIC_METRICS_TABLE)) if (!out.has(t)) out.set(t, createdAt(v) ?? this.startedAt);
    return out;
  }

  isConfigured(topic: string): boolean {
    return this.#configured.includes(topic);
  }

  /** Meters `topic` on every member (written to the table before it returns). */
  async add(topic: string, now: number): Promise<AddOutcome> {
    const topics = this.topics();
    if (topics.has(topic)) return 'exists';
    if (topics.size >= MAX_TOPIC_METRICS) return 'limit';
    await this.db.write(TOPIC_METRICS_TABLE, topic, { create_time: now });
    this.sync();
    return 'added';
  }

  async remove(topic: string): Promise<RemoveOutcome> {
    if (this.isConfigured(topic)) return 'configured';
    if (this.db.get(TOPIC_METRICS_TABLE, topic) === undefined) return 'not_found';
    await this.db.write(TOPIC_METRICS_TABLE, topic, undefined);
    this.sync();
    return 'removed';
  }

  sync(): void {
    this.metrics.replace(this.topics());
  }
}
