// EMQX's dashboard login lock (dashboard.unsuccessful_login_*): a username that fails to log in
// `maxAttempts` times within `intervalMs` is refused for `lockMs`, whatever the password, from
// any address. Any name tried is tracked, existing or not, so a lock says nothing about which
// names exist. Node-local, in memory (a restart forgets it), and bounded: at most `maxNames`
// names are tracked, the least recently failing forgotten first. Pure: the caller passes the time.

export interface LoginLockSettings {
  readonly maxAttempts: number;
  readonly intervalMs: number;
  readonly lockMs: number;
}

export class LoginLock {
  readonly #failures = new Map<string, number[]>();
  readonly #locked = new Map<string, number>();

  constructor(private readonly maxNames = 10_000) {}

  /** ms until `username` may try again; 0 when it may now. */
  lockedFor(username: string, now: number): number {
    const until = this.#locked.get(username);
    if (until === undefined) return 0;
    if (until > now) return until - now;
    this.#locked.delete(username);
    return 0;
  }

  /** A failed login; true when it locks the name. */
  fail(username: string, now: number, s: LoginLockSettings): boolean {
    const recent = (this.#failures.get(username) ?? []).filter((t) => t > now - s.intervalMs);
    recent.push(now);
    this.#failures.delete(username);
    if (recent.length >= s.maxAttempts) {
      this.#locked.delete(username);
      this.#locked.set(username, now + s.lockMs);
      this.#bound(this.#locked);
      return true;
    }
    this.#failures.set(username, recent);
    this.#bound(this.#failures);
    return false;
  }

  /** A successful login clears the name's failures. */
  succeed(username: string): void {
    this.#failures.delete(username);
  }

  #bound(m: Map<string, unknown>): void {
    // Map iteration order: the first entry is the least recently set.
    while (m.size > this.maxNames) m.delete(m.keys().next().value!);
  }
}
