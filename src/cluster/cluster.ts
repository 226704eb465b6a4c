// Membership of this node, as the rest of the node sees it: join, leave, force-leave, status.
// Cluster wires the pieces and answers the queries; the work is theirs: this node's record
// (local-membership.ts), what it knows of the others' liveness (liveness.ts), the hello/view
// protocol (view-exchange.ts), the operator workflows (operations.ts), the clean-up timers
// (cleanup.ts). Talks to peers only through Dist channels; all merging is in membership.ts.
import { EventEmitter } from 'node:events';
import type { HlcClock } from '../base/hlc.js';
import type { Log } from '../base/log.js';
import type { Dist } from '../link/types.js';
import { Cleanup } from './cleanup.js';
import type { ClusterContext, ClusterData, ClusterEvents, ClusterSettings } from './context.js';
import { Liveness } from './liveness.js';
import { LocalMembership, type RemovedNotice, type StateStore } from './local-membership.js';
import type { View } from './membership.js';
import { Operations } from './operations.js';
import type { VerboseRow } from './status-format.js';
import { ViewExchange } from './view-exchange.js';

export type { ClusterData, ClusterEvents, ClusterSettings } from './context.js';
export type { RemovedNotice, StateStore } from './local-membership.js';

export interface ClusterOptions {
  readonly dist: Dist;
  readonly state: StateStore;
  readonly clock: HlcClock;
  readonly log: Log;
  readonly settings: ClusterSettings;
  readonly now?: () => number;
  readonly callTimeoutMs?: number;
  /** How often autoclean looks at stopped members (default: a fraction of autoclean, ≤ 5 s). */
  readonly autocleanCheckMs?: number;
  /** How often linked-but-unconfirmed members are greeted again (default 2 s). */
  readonly regreetMs?: number;
  /** How often replicas are compared with every running member (default 60 s). */
  readonly antiEntropyMs?: number;
  /** A leave's tombstone is kept at least this long (default 24 h; see collectableTombstones). */
  readonly tombstoneRetentionMs?: number;
  /** How often collectable tombstones are looked for (default 60 s). */
  readonly tombstoneGcMs?: number;
}

export interface ClusterStatus {
  readonly running: string[];
  readonly stopped: string[];
}

export class Cluster {
  readonly self: string;
  readonly events = new EventEmitter<ClusterEvents>();
  private readonly ctx: ClusterContext;
  private readonly exchange: ViewExchange;
  private readonly operations: Operations;
  private settings: ClusterSettings;
  private data: ClusterData | undefined;
  private antiEntropyTimer: NodeJS.Timeout | undefined;
  private readonly startedAt: number;

  constructor(private readonly o: ClusterOptions) {
    this.self = o.dist.self;
    this.settings = o.settings;
    const now = (): number => (o.now ?? Date.now)();
    this.startedAt = now();
    const local = new LocalMembership(this.self, o.dist, o.state, o.clock, (m) => this.events.emit('members', m));
    const liveness = new Liveness();
    const cleanup = new Cleanup(
      {
        self: this.self,
        log: o.log,
        now,
        view: () => local.view,
        peers: () => local.peers(),
        joining: () => local.joining !== undefined,
        leaving: () => local.leaving,
        isRunning: (n) => liveness.isRunning(n),
        downFor: (n, at) => liveness.downFor(n, at, this.startedAt),
        greet: (n) => void this.exchange.greet(n),
        setView: (v) => local.setView(v),
        removeForced: (n, why) => this.operations.remove(n, why, true),
      },
      { tombstoneRetentionMs: o.tombstoneRetentionMs, tombstoneGcMs: o.tombstoneGcMs, autocleanCheckMs: o.autocleanCheckMs },
    );
    this.ctx = {
      self: this.self,
      dist: o.dist,
      log: o.log,
      clock: o.clock,
      local,
      liveness,
      cleanup,
      events: this.events,
      timeoutMs: o.callTimeoutMs ?? 10_000,
      settings: () => this.settings,
      data: () => {
        if (!this.data) throw new Error('membership is not started');
        return this.data;
      },
      now,
    };
    this.exchange = new ViewExchange(
      this.ctx,
      { rejoin: (peer) => this.operations.rejoin(peer), remove: (node, why, forced) => this.operations.remove(node, why, forced) },
      o.regreetMs,
    );
    this.operations = new Operations(this.ctx, this.exchange);
  }

  /** Restores the persisted view (or starts alone) and begins reconnecting to known members. */
  async start(data: ClusterData): Promise<void> {
    this.data = data;
    const { local, liveness, dist, log, cleanup } = this.ctx;
    await local.restore();
    this.exchange.serve();
    this.operations.serve();
    liveness.reset(local.peers(), this.startedAt);
    dist.setPeers(local.peers());
    this.exchange.start();
    cleanup.start(this.settings.autoclean);
    // Replicas are compared on every link up; this periodic pass is a safety net for anything a
    // member missed while linked (a write that timed out towards it, for instance).
    this.antiEntropyTimer = setInterval(() => {
      for (const n of this.runningPeers()) {
        void data.syncWith(n).catch((err: unknown) => log.debug({ peer: n, err: String(err) }, 'periodic anti-entropy failed'));
      }
    }, this.o.antiEntropyMs ?? 60_000);
    this.antiEntropyTimer.unref();
    const others = local.peers();
    log.info({ members: local.members(), reconnecting: others }, others.length ? 'restored cluster membership' : 'running alone');
  }

  stop(): void {
    this.ctx.cleanup.stop();
    this.exchange.stop();
    clearInterval(this.antiEntropyTimer);
  }

  /** Applies new autoheal/autoclean/discovery settings (hot reload). */
  reconfigure(settings: ClusterSettings): void {
    this.settings = settings;
    this.ctx.cleanup.setAutoclean(settings.autoclean);
  }

  // ---- operator actions ------------------------------------------------------------------

  join(target: string): Promise<void> {
    return this.operations.join(target);
  }

  /** Leaves the current cluster; the node continues alone with an empty database. */
  leave(): Promise<void> {
    return this.operations.leave();
  }

  forceLeave(node: string): Promise<void> {
    return this.operations.forceLeave(node);
  }

  // ---- queries -------------------------------------------------------------------------

  /** The node a join runs to, while one runs. */
  busy(): string | undefined {
    return this.ctx.local.joining;
  }

  members(): string[] {
    return this.ctx.local.members();
  }

  currentView(): View {
    return this.ctx.local.view;
  }

  removedFrom(): RemovedNotice | undefined {
    return this.ctx.local.removedNotice;
  }

  /** Members this node replicates to now (running, excluding itself). */
  runningPeers(): string[] {
    const { liveness, local } = this.ctx;
    return liveness.runningNodes().filter((n) => local.isMember(n)).sort();
  }

  /** Local knowledge only: never waits on a peer, so a dead member cannot slow it down. */
  status(): ClusterStatus {
    const running = [this.self, ...this.runningPeers()].sort();
    const stopped = this.ctx.local.peers().filter((n) => !this.ctx.liveness.isRunning(n));
    return { running, stopped };
  }

  verbose(): VerboseRow[] {
    const { local, liveness, dist } = this.ctx;
    const rows: VerboseRow[] = [{ node: this.self, state: 'self', since: this.startedAt }];
    for (const n of local.peers()) {
      const info = dist.linkInfo(n);
      const state = liveness.isRunning(n) ? 'running' : liveness.isPartitioned(n) ? 'partitioned' : 'stopped';
      const since = liveness.since(n);
      rows.push({
        node: n,
        state,
        ...(info ? { address: info.address, transport: info.transport, lastSeen: info.lastSeen } : {}),
        ...(since !== undefined ? { since } : {}),
      });
    }
    return rows;
  }
}
