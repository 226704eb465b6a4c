// Failed authentication attempts per source address: after `max` failures within `windowMs`, the
// address is refused until the oldest of them leaves the window. Memory is bounded: at most
// `maxSources` addresses are tracked (the least recently failing are forgotten first). Pure: the
// caller passes the time.

export interface FailureLimitOptions {
  readonly max: number;
  readonly windowMs: number;
  readonly maxSources?: number;
}

export class FailureLimiter {
  readonly #failures = new Map<string, number[]>();
  readonly #max: number;
  readonly #windowMs: number;
  readonly #maxSources: number;

  constructor(o: FailureLimitOptions) {
    this.#max = o.max;
    this.#windowMs = o.windowMs;
    this.#maxSources = o.maxSources ?? 10_000;
  }

  #recent(source: string, now: number): number[] {
    const list = (this.#failures.get(source) ?? []).filter((t) => t > now - this.#windowMs);
    if (list.length === 0) this.#failures.delete(source);
    else this.#failures.set(source, list);
    return list;
  }

  /** ms until `source` may try again; 0 when it may now. */
  blockedFor(source: string, now: number): number {
    const list = this.#recent(source, now);
    if (list.length < this.#max) return 0;
    return list[list.length - this.#max]! + this.#windowMs - now;
  }

  fail(source: string, now: number): void {
    const list = this.#recent(source, now);
    list.push(now);
    // Re-inserted last: Map iteration order makes the first entry the least recently failing.
    this.#failures.delete(source);
    this.#failures.set(source, list.slice(-this.#max));
    while (this.#failures.size > this.#maxSources) this.#failures.delete(this.#failures.keys().next().value!);
  }

  /** A success clears the address's record. */
  succeed(source: string): void {
    this.#failures.delete(source);
  }
}
