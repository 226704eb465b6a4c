// One client's cache of authorization results (EMQX's authorization.cache): up to `maxSize`
// answers by action and topic, each good for `ttl` ms and for one generation of the rules (a
// reload of the sources starts a new generation, so nothing decided under the old rules is
// reused). When full, the oldest answer goes; when even the newest has expired, all go. Pure:
// the caller passes the time.

interface Entry {
  readonly allow: boolean;
  readonly at: number;
  readonly gen: number;
}

export class AuthzCache {
  readonly #entries = new Map<string, Entry>();

  constructor(
    private maxSize: number,
    private ttl: number,
  ) {}

  configure(maxSize: number, ttl: number): void {
    this.maxSize = maxSize;
    this.ttl = ttl;
    if (this.#entries.size > maxSize) this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string, gen: number, now: number): boolean | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    if (e.gen !== gen || now - e.at >= this.ttl) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.allow;
  }

  put(key: string, allow: boolean, gen: number, now: number): void {
    if (this.maxSize <= 0) return;
    const m = this.#entries;
    m.delete(key);
    if (m.size >= this.maxSize) {
      let newest: Entry | undefined;
      for (const e of m.values()) newest = e;
      if (newest !== undefined && (newest.gen !== gen || now - newest.at >= this.ttl)) m.clear();
      else m.delete(m.keys().next().value!);
    }
    m.set(key, { allow, at: now, gen });
  }

  clear(): void {
    this.#entries.clear();
  }

  /** (action, topic) pairs cached, for `emqx ctl` and tests. */
  keys(): string[] {
    return [...this.#entries.keys()];
  }

  /** The answers kept, oldest first (GET /clients/:clientid/authorization/cache). */
  entries(): Array<{ readonly key: string; readonly allow: boolean; readonly at: number }> {
    return [...this.#entries].map(([key, e]) => ({ key, allow: e.allow, at: e.at }));
  }
}

/** A cache key read back: action, QoS, retain flag and topic (cacheKey's inverse). */
export function parseCacheKey(key: string): { readonly action: 'publish' | 'subscribe'; readonly qos: number; readonly retain: boolean; readonly topic: string } {
  return { action: key[0] === 'P' ? 'publish' : 'subscribe', retain: key[1] === '1', qos: Number(key[2]), topic: key.slice(3) };
}

/** The cache key of one request: action, QoS and retain flag, then the topic. */
export function cacheKey(type: 'publish' | 'subscribe', qos: number, retain: boolean, topic: string): string {
  return (type === 'publish' ? (retain ? 'P1' : 'P0') : 'S-') + qos + topic;
}
