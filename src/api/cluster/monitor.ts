// The samples behind GET /monitor and /monitor_current (EMQX's emqx_dashboard_monitor): every
// dashboard.sample_interval, the messages received, sent and dropped since the last sample, and
// the counts at that moment. An hour of samples is kept. Pure: the caller takes the samples.

/** Running totals and counts read from the broker at one moment. */
export interface Reading {
  readonly received: number;
  readonly sent: number;
  readonly dropped: number;
  readonly connections: number;
  readonly live_connections: number;
  readonly subscriptions: number;
  readonly topics: number;
  readonly retained_msg_count: number;
  readonly shared_subscriptions: number;
}

/** A reading with received/sent/dropped turned into deltas since the last sample. */
export interface Sample extends Reading {
  /** ms, aligned to the sample interval so samples of different nodes line up. */
  readonly time_stamp: number;
}

const KEEP_MS = 60 * 60 * 1000;
export const DELTA_KEYS = ['received', 'sent', 'dropped'] as const;

export class Monitor {
  readonly #samples: Sample[] = [];
  #last: Reading | undefined;

  constructor(public intervalMs: number) {}

  /** Records a reading (counters are running totals; deltas are taken here). */
  take(now: number, r: Reading): void {
    const prev = this.#last;
    this.#last = r;
    if (!prev) return;
    const delta = (k: (typeof DELTA_KEYS)[number]): number => Math.max(0, r[k] - prev[k]);
    const t = Math.floor(now / this.intervalMs) * this.intervalMs;
    const s: Sample = { ...r, time_stamp: t, received: delta('received'), sent: delta('sent'), dropped: delta('dropped') };
    const tail = this.#samples[this.#samples.length - 1];
    if (tail && tail.time_stamp === t) this.#samples[this.#samples.length - 1] = s;
    else this.#samples.push(s);
    while (this.#samples.length > 0 && this.#samples[0]!.time_stamp < now - KEEP_MS) this.#samples.shift();
  }

  /** Samples of the last `latestS` seconds (all kept ones when undefined). */
  samples(now: number, latestS?: number): Sample[] {
    if (latestS === undefined) return [...this.#samples];
    const from = now - latestS * 1000;
    return this.#samples.filter((s) => s.time_stamp >= from);
  }

  /** Rates per second over the last sample, and the counts now. */
  current(): Record<string, number> {
    const s = this.#samples[this.#samples.length - 1];
    const per = (n: number): number => Math.round((n * 1000) / this.intervalMs);
    const last = this.#last;
    return {
      received_msg_rate: s ? per(s.received) : 0,
      sent_msg_rate: s ? per(s.sent) : 0,
      dropped_msg_rate: s ? per(s.dropped) : 0,
      connections: last?.connections ?? 0,
      live_connections: last?.live_connections ?? 0,
      subscriptions: last?.subscriptions ?? 0,
      topics: last?.topics ?? 0,
      retained_msg_count: last?.retained_msg_count ?? 0,
      shared_subscriptions: last?.shared_subscriptions ?? 0,
    };
  }
}

/** Several nodes' samples summed per time stamp (GET /monitor for the whole cluster). */
export function mergeSamples(lists: ReadonlyArray<readonly Sample[]>): Sample[] {
  const by = new Map<number, Record<string, number>>();
  for (const list of lists) {
    for (const s of list) {
      const acc = by.get(s.time_stamp);
      if (!acc) by.set(s.time_stamp, { ...s });
      else for (const [k, v] of Object.entries(s)) if (k !== 'time_stamp') acc[k] = (acc[k] ?? 0) + v;
    }
  }
  return [...by.values()].sort((a, b) => a.time_stamp! - b.time_stamp!) as unknown as Sample[];
}
