// Busy polling while a call waits for a reply that is expected soon.
//
// A process that sleeps in epoll_wait must be woken when the reply arrives: the sender's kernel
// interrupts the sleeping CPU and the scheduler switches the process back in. On some machines,
// virtual ones above all, that is the larger part of a loopback round trip (tens of µs, more than
// the work on either side) and costs CPU on both ends. While the event loop keeps turning
// (a pending setImmediate makes libuv poll without blocking), nobody sleeps on the socket: the
// reply is picked up by the next poll and the peer's write wakes no one. Erlang's schedulers do
// the same by default (`+sbwt`): they spin a while before they sleep.
//
// On other machines waking is cheap and the spinning CPU only slows its neighbour (the 2-core VM
// of the benchmarks alternates between both behaviours every few minutes: polling took round
// trips from 98 to 41 µs in one phase and from 37 to 68 µs in the other). So a link does not
// assume: it measures its round trips both ways and uses the faster (PollChoice).
//
// The spin is bounded: it stops when every call it was started for has its answer, or at the end
// of a short window after the last such call was sent, whichever comes first, and a link whose
// peer takes longer than the window to answer never asks for it.

/** A smoothed figure (1/8 of each new sample, as TCP smooths its round-trip time). */
class Smoothed {
  value = 0;
  samples = 0;
  add(x: number): void {
    this.value = this.samples === 0 ? x : this.value + (x - this.value) / 8;
    this.samples++;
  }
}

/** Calls before a link trusts its figures; it alternates between the two ways until then. */
const WARMUP = 8;
/** One call in this many goes the other way, so a change in the machine is noticed. */
const PROBE_EVERY = 64;

/** Per link: whether the next call should busy poll, from the round trips measured each way. */
export class PollChoice {
  private readonly polled = new Smoothed();
  private readonly slept = new Smoothed();
  private calls = 0;

  /** @param windowMs the busy-poll window now (it may change at a reload); 0: never poll. */
  next(windowMs: number): boolean {
    if (windowMs <= 0) return false;
    const n = this.calls++;
    if (this.polled.samples < WARMUP / 2 || this.slept.samples < WARMUP / 2) return n % 2 === 0;
    // A peer slower than the window either way: a spin would end before its answer came.
    if (Math.min(this.polled.value, this.slept.value) > windowMs) return false;
    const poll = this.polled.value < this.slept.value;
    return n % PROBE_EVERY === 0 ? !poll : poll;
  }

  /** A call made the way next() said took `ms` to answer. */
  record(polled: boolean, ms: number): void {
    (polled ? this.polled : this.slept).add(ms);
  }
}

export class BusyPoll {
  /** Calls waiting with the spin on; the spin stops early once it is back to 0. */
  private waiting = 0;
  /** Counts spins: a call that outlived the spin it began no longer counts in the next one. */
  private epoch = 0;
  private until = 0;
  private spinning = false;
  /** Loop turns made spinning (diagnostics and tests). */
  turns = 0;

  /** @param windowMs how long after a call is sent to keep polling; 0 turns busy polling off. */
  constructor(public windowMs: number) {}

  /** Whether the event loop is being kept turning now. */
  get active(): boolean {
    return this.spinning;
  }

  /**
   * A call was sent at `now` (performance.now()) and its reply is expected within the window.
   * Returns the token to give end().
   */
  begin(now: number): number {
    this.waiting++;
    const until = now + this.windowMs;
    if (until > this.until) this.until = until;
    if (!this.spinning) {
      this.spinning = true;
      // Not unref'd: libuv polls without blocking only while a referenced immediate is pending.
      // The window bounds how long this can keep a process alive.
      setImmediate(this.turn);
    }
    return this.epoch;
  }

  /** A call started with begin() has its answer (reply, error, timeout or link down). */
  end(token: number): void {
    if (token === this.epoch && this.waiting > 0) this.waiting--;
  }

  private readonly turn = (): void => {
    if (this.waiting > 0 && performance.now() < this.until) {
      this.turns++;
      setImmediate(this.turn);
      return;
    }
    this.spinning = false;
    // Calls still waiting past the window went slow: they do not hold the next spin open.
    this.waiting = 0;
    this.epoch++;
  };
}
