// Hybrid logical clock: timestamps that follow wall time yet order causally related events even
// when clocks disagree, so "newest wins" merges are deterministic on every node.

export interface Hlc {
  /** Wall-clock part, ms since epoch (never goes backwards on one node). */
  readonly t: number;
  /** Logical counter breaking ties within one millisecond. */
  readonly c: number;
  /** The node that issued it: the final, total tie-break. */
  readonly n: string;
}

export const ZERO_HLC: Hlc = { t: 0, c: 0, n: '' };

/** Total order: wall time, then counter, then node name. */
export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.t !== b.t) return a.t < b.t ? -1 : 1;
  if (a.c !== b.c) return a.c < b.c ? -1 : 1;
  return a.n < b.n ? -1 : a.n > b.n ? 1 : 0;
}

export function maxHlc(a: Hlc, b: Hlc): Hlc {
  return compareHlc(a, b) >= 0 ? a : b;
}

export function isHlc(v: unknown): v is Hlc {
  if (typeof v !== 'object' || v === null) return false;
  const h = v as Record<string, unknown>;
  return typeof h.t === 'number' && typeof h.c === 'number' && typeof h.n === 'string';
}

/** One clock per node object; `now` is injectable so tests can skew or freeze time. */
export class HlcClock {
  private last: Hlc;

  constructor(
    readonly node: string,
    private readonly wall: () => number = Date.now,
  ) {
    this.last = { t: 0, c: 0, n: node };
  }

  /** A timestamp greater than every one issued or observed before. */
  now(): Hlc {
    const w = this.wall();
    this.last = w > this.last.t ? { t: w, c: 0, n: this.node } : { t: this.last.t, c: this.last.c + 1, n: this.node };
    return this.last;
  }

  /** Moves the clock past a remote timestamp, so our next event sorts after what we have seen. */
  observe(remote: Hlc): void {
    if (remote.t > this.last.t || (remote.t === this.last.t && remote.c > this.last.c)) {
      this.last = { t: remote.t, c: remote.c, n: this.node };
    }
  }
}
