// Flapping detection (EMQX's emqx_flapping): connects are counted per client id (and, ours, per
// peer host and per user name, each with its own policy); the connect that reaches max_count
// within window_time gets its key banned for ban_time. Pure: the caller passes the time and acts
// on what `detect` returns. Memory is bounded: counters older than their window are swept, and
// at most `maxKeys` are kept per dimension (the oldest go first).
import type { FlappingConfig, FlappingPolicy } from '../../config/types.js';

export type FlapKind = 'clientid' | 'peerhost' | 'username';

interface Counter {
  startedAt: number;
  count: number;
}

export interface Flap {
  readonly as: FlapKind;
  readonly who: string;
  readonly count: number;
  readonly banMs: number;
}

export const MAX_FLAPPING_KEYS = 100_000;

export class FlappingDetector {
  readonly #counters: Record<FlapKind, Map<string, Counter>> = { clientid: new Map(), peerhost: new Map(), username: new Map() };

  constructor(
    private config: FlappingConfig,
    private readonly maxKeys = MAX_FLAPPING_KEYS,
  ) {}

  configure(config: FlappingConfig): void {
    this.config = config;
  }

  #policy(as: FlapKind): FlappingPolicy {
    return as === 'clientid' ? this.config : as === 'peerhost' ? this.config.by_peerhost : this.config.by_username;
  }

  /** One connect attempt: the keys that are now flapping (to be banned). */
  detect(c: { clientid: string; peerhost: string; username: string | undefined }, now: number): Flap[] {
    const out: Flap[] = [];
    for (const [as, who] of [['clientid', c.clientid], ['peerhost', c.peerhost], ['username', c.username]] as const) {
      const p = this.#policy(as);
      if (!p.enable || who === undefined || who === '' || p.max_count <= 0) continue;
      const m = this.#counters[as];
      let ctr = m.get(who);
      if (ctr === undefined || now - ctr.startedAt >= p.window_time) {
        m.delete(who);
        if (m.size >= this.maxKeys) m.delete(m.keys().next().value!);
        ctr = { startedAt: now, count: 0 };
        m.set(who, ctr);
      }
      ctr.count++;
      if (ctr.count >= p.max_count) {
        m.delete(who);
        out.push({ as, who, count: ctr.count, banMs: p.ban_time });
      }
    }
    return out;
  }

  /** Forgets counters whose window has passed. */
  sweep(now: number): void {
    for (const as of ['clientid', 'peerhost', 'username'] as const) {
      const window = this.#policy(as).window_time;
      for (const [k, c] of this.#counters[as]) if (now - c.startedAt >= window) this.#counters[as].delete(k);
    }
  }

  size(as: FlapKind): number {
    return this.#counters[as].size;
  }
}
