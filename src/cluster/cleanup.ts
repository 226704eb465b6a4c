// Membership's clean-up on timers: the tombstones of nodes that left, dropped once every member
// holds them (collectableTombstones in membership.ts), and autoclean, which removes a member down
// longer than cluster.autoclean. Both leave the membership alone while a join or leave runs.
import { compareHlc, type Hlc } from '../base/hlc.js';
import type { Log } from '../base/log.js';
import { collectableTombstones, withoutEntries, type Members, type View } from './membership.js';

export interface CleanupHost {
  readonly self: string;
  readonly log: Log;
  now(): number;
  view(): View;
  /** Members other than this node. */
  peers(): string[];
  joining(): boolean;
  leaving(): boolean;
  isRunning(node: string): boolean;
  /** How long a member not running has been down. */
  downFor(node: string, now: number): number;
  /** Asks a member for its view again. */
  greet(node: string): void;
  setView(view: View): Promise<void>;
  /** Puts a member out for good (a forced tombstone). */
  removeForced(node: string, why: string): Promise<void>;
}

export interface CleanupOptions {
  /** A leave's tombstone is kept at least this long (default 24 h). */
  readonly tombstoneRetentionMs?: number;
  /** How often collectable tombstones are looked for (default 60 s). */
  readonly tombstoneGcMs?: number;
  /** How often autoclean looks at stopped members (default: a fraction of autoclean, ≤ 5 s). */
  readonly autocleanCheckMs?: number;
}

export class Cleanup {
  /** The last view each member sent us (hello or gossip), to know which tombstones all hold. */
  private readonly heard = new Map<string, View>();
  /** Tombstones collected here: a copy still travelling from a member is not taken back. */
  private readonly forgotten = new Map<string, Hlc>();
  private tombstoneTimer: NodeJS.Timeout | undefined;
  private autocleanTimer: NodeJS.Timeout | undefined;
  private autocleanMs = 0;
  private stopped = false;

  constructor(
    private readonly host: CleanupHost,
    private readonly o: CleanupOptions = {},
  ) {}

  /** `autocleanMs`: 0 or less disables autoclean. */
  start(autocleanMs: number): void {
    this.stopped = false;
    this.tombstoneTimer = setInterval(() => void this.collectTombstones(), this.o.tombstoneGcMs ?? 60_000);
    this.tombstoneTimer.unref();
    this.setAutoclean(autocleanMs);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.tombstoneTimer);
    clearInterval(this.autocleanTimer);
  }

  /** Hot reload of cluster.autoclean. */
  setAutoclean(ms: number): void {
    clearInterval(this.autocleanTimer);
    this.autocleanTimer = undefined;
    this.autocleanMs = ms;
    if (!(ms > 0) || this.stopped) return;
    const every = this.o.autocleanCheckMs ?? Math.max(50, Math.min(5000, Math.floor(ms / 4)));
    this.autocleanTimer = setInterval(() => void this.autoclean(), every);
    this.autocleanTimer.unref();
  }

  /** A member's view, as it sent it. */
  heardFrom(member: string, view: View): void {
    this.heard.set(member, view);
  }

  /** No longer a member: its view no longer counts. */
  forget(member: string): void {
    this.heard.delete(member);
  }

  /** `received` without the tombstones collected here, unless a newer entry replaced one. */
  withoutCollected(received: Members): Members {
    if (this.forgotten.size === 0) return received;
    return Object.fromEntries(
      Object.entries(received).filter(([n, e]) => {
        const gone = this.forgotten.get(n);
        return !gone || compareHlc(e.version, gone) > 0;
      }),
    );
  }

  private async collectTombstones(): Promise<void> {
    const h = this.host;
    if (this.stopped || h.joining() || h.leaving()) return;
    const v = h.view();
    const heardFrom = (m: string): Members | undefined => {
      const heard = this.heard.get(m);
      return heard && heard.clusterId === v.clusterId ? heard.members : undefined;
    };
    // Tombstone versions are wall-clock hybrid times: compare them with the wall clock.
    const { collect: drop, waitingOn } = collectableTombstones(v.members, h.self, heardFrom, Date.now(), this.o.tombstoneRetentionMs ?? 24 * 3600_000);
    // Views are only pushed on change, so a member that took the tombstone from our hello may
    // never have sent its view since: ask the running ones again (the hello reply carries it).
    for (const m of waitingOn) if (h.isRunning(m)) h.greet(m);
    if (drop.length === 0) return;
    for (const n of drop) this.forgotten.set(n, v.members[n]!.version);
    await h.setView({ clusterId: v.clusterId, members: withoutEntries(v.members, drop) });
    h.log.info({ nodes: drop }, 'dropped the tombstones of nodes that left, now held by every member');
  }

  private async autoclean(): Promise<void> {
    const h = this.host;
    if (h.joining()) return;
    const now = h.now();
    for (const n of h.peers()) {
      if (h.isRunning(n)) continue;
      const downForMs = h.downFor(n, now);
      if (downForMs >= this.autocleanMs) {
        h.log.warn({ peer: n, downForMs }, 'autoclean: removing a member down longer than cluster.autoclean');
        await h.removeForced(n, 'autoclean').catch((err: unknown) => h.log.error({ peer: n, err: String(err) }, 'autoclean failed'));
      }
    }
  }
}
