// A token bucket for rate limits (EMQX's listener max_conn_rate, messages_rate, bytes_rate). Pure:
// the caller passes the time. Taking more than there is leaves a debt; the answer is how long to
// wait until it is paid, so a client's one large read is let through and the next ones wait.

export class TokenBucket {
  #tokens: number;
  #at: number;

  /** `ratePerSec` tokens a second, at most `burst` saved up (default: one second's worth). */
  constructor(
    private readonly ratePerSec: number,
    now: number,
    private readonly burst = ratePerSec,
  ) {
    this.#tokens = burst;
    this.#at = now;
  }

  /** Takes `n` tokens at `now` (ms); returns how many ms to wait before going on (0: none). */
  take(n: number, now: number): number {
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) * this.ratePerSec) / 1000);
    this.#at = now;
    this.#tokens -= n;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens * 1000) / this.ratePerSec);
  }
}
