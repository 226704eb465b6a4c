// What the pieces of membership share (the hello/view exchange, the operator workflows, the
// clean-up timers): the links, the clock, this node's record and what it knows of the others.
// Cluster builds it once.
import type { EventEmitter } from 'node:events';
import type { HlcClock } from '../base/hlc.js';
import type { Log } from '../base/log.js';
import type { Db } from '../db/db.js';
import type { Dist } from '../link/types.js';
import type { Cleanup } from './cleanup.js';
import type { Liveness } from './liveness.js';
import type { LocalMembership } from './local-membership.js';

/** What membership needs from the replicated tables (a join's copy, catch-up, drain, clear). */
export type ClusterData = Pick<Db, 'replaceFrom' | 'syncWith' | 'drain' | 'clear'>;

export interface ClusterSettings {
  readonly discoveryStrategy: string;
  readonly autoheal: boolean;
  /** ms; 0 or less disables. */
  readonly autoclean: number;
}

/** For other parts (discovery: a manual leave disables it; metrics; logs). */
export interface ClusterEvents {
  /** This node left its cluster by operator action (leave, or a force-leave of it). */
  left: [];
  joined: [target: string];
  /** This node learned it had been removed while away; it stays out. */
  removed: [by: string];
  /** The member list changed (any cause). */
  members: [members: string[]];
  /**
   * A member came back from a silence without having restarted (both sides ran on apart: a
   * partition), or one kept apart is no longer (`healed`: merged, restarted, or removed).
   * `sinceMs` is when its link was lost (this node's clock, ms).
   */
  partition: [peer: string, state: 'detected' | 'healed', sinceMs: number];
}

export interface ClusterContext {
  readonly self: string;
  readonly dist: Dist;
  readonly log: Log;
  readonly clock: HlcClock;
  readonly local: LocalMembership;
  readonly liveness: Liveness;
  readonly cleanup: Cleanup;
  readonly events: EventEmitter<ClusterEvents>;
  /** The deadline of a call to a member. */
  readonly timeoutMs: number;
  settings(): ClusterSettings;
  /** The replicated tables; set once membership has started. */
  data(): ClusterData;
  now(): number;
}

/** Alone under a new cluster id, with no links left to the old members. */
export async function startAlone(ctx: ClusterContext): Promise<void> {
  const old = ctx.local.peers();
  ctx.liveness.reset();
  ctx.local.fresh = false;
  await ctx.local.setView(ctx.local.aloneView());
  for (const p of old) ctx.dist.disconnect(p);
}
