// Log lines about things a peer can repeat at will (garbage on a port, refused connects, a slow
// consumer dropping messages) must not let the peer fill the disk: the first of a kind within an
// interval is logged, the rest are counted and summarised once when the interval ends.
import type { Log } from './log.js';

interface Window {
  suppressed: number;
  timer: NodeJS.Timeout | undefined;
}

export class LogLimiter {
  readonly #windows = new Map<string, Window>();

  constructor(
    private readonly log: Log,
    private readonly intervalMs = 10_000,
    /** At most this many kinds tracked at once; beyond it, lines are dropped silently. */
    private readonly maxKinds = 10_000,
  ) {}

  warn(kind: string, obj: object, msg: string): void {
    const w = this.#windows.get(kind);
    if (w) {
      w.suppressed++;
      return;
    }
    if (this.#windows.size >= this.maxKinds) return;
    this.log.warn(obj, msg);
    const win: Window = { suppressed: 0, timer: undefined };
    win.timer = setTimeout(() => {
      this.#windows.delete(kind);
      if (win.suppressed > 0) this.log.warn({ ...obj, suppressed: win.suppressed }, `${msg} (and ${win.suppressed} more like it in the last ${Math.round(this.intervalMs / 1000)} s)`);
    }, this.intervalMs);
    win.timer.unref();
    this.#windows.set(kind, win);
  }

  clear(): void {
    for (const w of this.#windows.values()) clearTimeout(w.timer);
    this.#windows.clear();
  }
}
