// How many lines of one kind a node writes per time window. Anyone who can reach the distribution
// port can open connections that end in a refusal, so one line per refusal would let them fill
// the log; past the budget, refusals are only counted, and one line a window gives the count.
// Pure: the caller passes the time and writes the lines.

export interface HeldBack {
  readonly count: number;
  /** How many of each reason were held back. */
  readonly reasons: Readonly<Record<string, number>>;
}

export class LineBudget {
  private windowStart = Number.NEGATIVE_INFINITY;
  private written = 0;
  private held: Record<string, number> = {};
  private heldCount = 0;

  constructor(
    readonly lines: number,
    readonly windowMs: number,
  ) {}

  /** true: write this line; false: it was counted for the window's summary. */
  admit(now: number, reason: string): boolean {
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.written = 0;
    }
    if (this.written < this.lines) {
      this.written++;
      return true;
    }
    this.heldCount++;
    this.held[reason] = (this.held[reason] ?? 0) + 1;
    return false;
  }

  /** When the current window ends: the moment to write its summary. */
  windowEnd(): number {
    return this.windowStart + this.windowMs;
  }

  /** What was held back since the last call, and resets the count; undefined when nothing was. */
  takeHeld(): HeldBack | undefined {
    if (this.heldCount === 0) return undefined;
    const out = { count: this.heldCount, reasons: this.held };
    this.heldCount = 0;
    this.held = {};
    return out;
  }
}
