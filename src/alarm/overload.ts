// Whether this node is overloaded: EMQX's `emqx_olp:is_overloaded()`, which reads a flag its load
// controller sets when the Erlang run queue (work ready to run, waiting for a scheduler) stays
// high. A Node.js node has one thread running its work, and two ways of having more work than
// it can do, so a one-second sample is hot on either:
//
// - the thread is busy all the time (event loop utilization ≥ 95 %): work arrives at least as
//   fast as it is done, and what is not done waits in the kernel (accept queue, socket buffers),
//   where the loop does not see it. A connection storm looks like this: every turn of the loop
//   is short, the turns never stop.
// - the loop turns late (a timer due every 50 ms fires ≥ 50 ms late on average): long tasks, or
//   the process gets no CPU (a container's CPU quota used up, a host's other guests): work waits
//   although the thread counts as idle.
//
// As EMQX's, the flag changes only after three samples in a row agree, and it is cleared below a
// lower line (utilization < 80 %, delay < 20 ms), so a node at the edge does not flap.

export interface LoadSample {
  /** Fraction of the sample's wall time the event loop spent running callbacks, 0..1. */
  readonly utilization: number;
  /** Mean delay of a timer due every resolution, ms. */
  readonly meanDelayMs: number;
}

export const HOT_UTILIZATION = 0.95;
export const HOT_DELAY_MS = 50;
export const COOL_UTILIZATION = 0.8;
export const COOL_DELAY_MS = 20;
/** Samples in a row that must agree before the flag changes. */
export const SUSTAINED_SAMPLES = 3;

const hot = (s: LoadSample): boolean => s.utilization >= HOT_UTILIZATION || s.meanDelayMs >= HOT_DELAY_MS;
const cool = (s: LoadSample): boolean => s.utilization < COOL_UTILIZATION && s.meanDelayMs < COOL_DELAY_MS;

export class OverloadFlag {
  #overloaded = false;
  /** Samples in a row pointing the other way. */
  #streak = 0;

  get overloaded(): boolean {
    return this.#overloaded;
  }

  /** Takes one sample; returns true when the flag changed. */
  sample(s: LoadSample): boolean {
    const against = this.#overloaded ? cool(s) : hot(s);
    this.#streak = against ? this.#streak + 1 : 0;
    if (this.#streak < SUSTAINED_SAMPLES) return false;
    this.#overloaded = !this.#overloaded;
    this.#streak = 0;
    return true;
  }

  reset(): void {
    this.#overloaded = false;
    this.#streak = 0;
  }
}
