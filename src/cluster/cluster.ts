// Membership of this node: join, leave, force-leave, status, autoclean and healing after a
// partition. Talks to peers only through Dist channels; all merging is in membership.ts.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Dist, LinkInfo, NodeDownReason } from '../link/types.js';
import { LinkError } from '../link/types.js';
import { compareHlc, type HlcClock } from '../base/hlc.js';
import type { Log } from '../base/log.js';
import { ClusterError } from './errors.js';
import { Cleanup } from './cleanup.js';
import { Liveness } from './liveness.js';
import { LocalMembership, type RemovedNotice, type StateStore } from './local-membership.js';
import { forcedOut, isMember, maxVersion, memberNames, membersEqual, mergeMembers, parseView, withEntry, type MemberEntry, type Members, type View } from './membership.js';
import { CLUSTER_CHANNELS, parseHello, parseJoinBeginReply, parseJoinCommit, parseOk, parseRemovalNotice, type Hello, type Verdict } from './messages.js';
import type { VerboseRow } from './status-format.js';

/** What membership needs from the replicated tables. */
export interface ClusterData {
  replaceFrom(peer: string, beforeCommit: () => Promise<void>): Promise<unknown>;
  syncWith(peer: string): Promise<number>;
  drain(): Promise<void>;
  clear(): Promise<void>;
}

export type { RemovedNotice, StateStore } from './local-membership.js';

export interface ClusterSettings {
  readonly discoveryStrategy: string;
  readonly autoheal: boolean;
  /** ms; 0 or less disables. */
  readonly autoclean: number;
}

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

/** For other parts (discovery: a manual leave disables it; metrics; logs). */
export interface ClusterEvents {
  /** This node left its cluster by operator action (leave, or a force-leave of it). */
  left: [];
  joined: [target: string];
  /** This node learned it had been removed while away; it stays out. */
  removed: [by: string];
  /** The member list changed (any cause). */
  members: [members: string[]];
}

export class Cluster {
  readonly self: string;
  readonly events = new EventEmitter<ClusterEvents>();
  private readonly local: LocalMembership;
  private data: ClusterData | undefined;
  private settings: ClusterSettings;
  private readonly bootId = randomUUID();
  private readonly liveness = new Liveness();
  /** Operator actions run one at a time: a join must not overlap the tail of a leave (clear). */
  private opChain: Promise<unknown> = Promise.resolve();
  private regreetTimer: NodeJS.Timeout | undefined;
  private antiEntropyTimer: NodeJS.Timeout | undefined;
  private readonly cleanup: Cleanup;
  private readonly startedAt: number;
  private stopped = false;
  // Only members are greeted: a link opened to probe a candidate (discovery) or by a node outside
  // the cluster carries no membership traffic from this side, so it cannot disturb membership.
  // (A node that is not in our view but lists us greets us itself, and is answered.)
  private readonly onUp = (node: string, _info: LinkInfo): void => {
    if (this.local.isMember(node)) void this.greet(node);
  };
  private readonly onDown = (node: string, reason: NodeDownReason): void => this.lost(node, reason);

  constructor(private readonly o: ClusterOptions) {
    this.self = o.dist.self;
    this.local = new LocalMembership(this.self, o.dist, o.state, o.clock, (m) => this.events.emit('members', m));
    this.settings = o.settings;
    this.startedAt = this.now();
    this.cleanup = new Cleanup(
      {
        self: this.self,
        log: o.log,
        now: () => this.now(),
        view: () => this.local.view,
        peers: () => this.local.peers(),
        joining: () => this.local.joining !== undefined,
        leaving: () => this.local.leaving,
        isRunning: (n) => this.liveness.isRunning(n),
        downFor: (n, now) => this.liveness.downFor(n, now, this.startedAt),
        greet: (n) => void this.greet(n),
        setView: (v) => this.local.setView(v),
        removeForced: (n, why) => this.remove(n, why, true),
      },
      { tombstoneRetentionMs: o.tombstoneRetentionMs, tombstoneGcMs: o.tombstoneGcMs, autocleanCheckMs: o.autocleanCheckMs },
    );
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  private get timeout(): number {
    return this.o.callTimeoutMs ?? 10_000;
  }

  /** Restores the persisted view (or starts alone) and begins reconnecting to known members. */
  async start(data: ClusterData): Promise<void> {
    this.data = data;
    await this.local.restore();
    const d = this.o.dist;
    d.handle(CLUSTER_CHANNELS.hello, (from, p) => this.onHello(from, p));
    d.handle(CLUSTER_CHANNELS.view, (from, p) => this.onView(from, p));
    d.handle(CLUSTER_CHANNELS.joinBegin, (from) => this.onJoinBegin(from));
    d.handle(CLUSTER_CHANNELS.joinCommit, (from, p) => this.onJoinCommit(from, p));
    d.handle(CLUSTER_CHANNELS.joinAbort, (from) => this.onJoinAbort(from));
    d.handle(CLUSTER_CHANNELS.leaveRequest, (from) => this.onLeaveRequest(from));
    d.handle(CLUSTER_CHANNELS.removed, (from, p) => this.onRemovedNotice(from, p));
    d.on('nodeup', this.onUp);
    d.on('nodedown', this.onDown);
    this.liveness.reset(this.local.peers(), this.startedAt);
    d.setPeers(this.local.peers());
    for (const n of d.nodes()) if (this.local.isMember(n)) void this.greet(n);
    this.cleanup.start(this.settings.autoclean);
    // A hello lost to a timeout must not leave a linked member looking stopped until the next
    // link flap: members linked but not confirmed are greeted again.
    this.regreetTimer = setInterval(() => {
      for (const n of this.local.peers()) {
        if (this.o.dist.isUp(n) && !this.liveness.isRunning(n) && !this.liveness.isPartitioned(n)) void this.greet(n);
      }
    }, this.o.regreetMs ?? 2000);
    this.regreetTimer.unref();
    // Replicas are compared on every link up; this periodic pass is a safety net for anything a
    // member missed while linked (a write that timed out towards it, for instance).
    this.antiEntropyTimer = setInterval(() => {
      for (const n of this.runningPeers()) {
        void this.data?.syncWith(n).catch((err: unknown) => this.o.log.debug({ peer: n, err: String(err) }, 'periodic anti-entropy failed'));
      }
    }, this.o.antiEntropyMs ?? 60_000);
    this.antiEntropyTimer.unref();
    const others = this.local.peers();
    this.o.log.info({ members: memberNames(this.local.view.members), reconnecting: others }, others.length ? 'restored cluster membership' : 'running alone');
  }

  stop(): void {
    this.stopped = true;
    this.cleanup.stop();
    clearInterval(this.regreetTimer);
    clearInterval(this.antiEntropyTimer);
    this.o.dist.off('nodeup', this.onUp);
    this.o.dist.off('nodedown', this.onDown);
  }

  /** Applies new autoheal/autoclean/discovery settings (hot reload). */
  reconfigure(settings: ClusterSettings): void {
    this.settings = settings;
    this.cleanup.setAutoclean(settings.autoclean);
  }

  // ---- queries -------------------------------------------------------------------------

  busy(): string | undefined {
    return this.local.joining;
  }

  members(): string[] {
    return memberNames(this.local.view.members);
  }

  currentView(): View {
    return this.local.view;
  }

  removedFrom(): RemovedNotice | undefined {
    return this.local.removedNotice;
  }

  /** Members this node replicates to now (running, excluding itself). */
  runningPeers(): string[] {
    return this.liveness.runningNodes().filter((n) => this.local.isMember(n)).sort();
  }

  /** Local knowledge only: never waits on a peer, so a dead member cannot slow it down. */
  status(): ClusterStatus {
    const running = [this.self, ...this.runningPeers()].sort();
    const stopped = this.local.peers().filter((n) => !this.liveness.isRunning(n));
    return { running, stopped };
  }

  verbose(): VerboseRow[] {
    const rows: VerboseRow[] = [{ node: this.self, state: 'self', since: this.startedAt }];
    for (const n of this.local.peers()) {
      const info = this.o.dist.linkInfo(n);
      const state = this.liveness.isRunning(n) ? 'running' : this.liveness.isPartitioned(n) ? 'partitioned' : 'stopped';
      const since = this.liveness.since(n);
      rows.push({
        node: n,
        state,
        ...(info ? { address: info.address, transport: info.transport, lastSeen: info.lastSeen } : {}),
        ...(since !== undefined ? { since } : {}),
      });
    }
    return rows;
  }

  // ---- operator actions ------------------------------------------------------------------

  async join(target: string): Promise<void> {
    if (target === this.self) throw new ClusterError('ignore', target, 'Ignore.');
    if (this.local.joining) throw new ClusterError('join_in_progress', this.local.joining, `a join to ${this.local.joining} is in progress`);
    if (this.settings.discoveryStrategy === 'singleton') throw new ClusterError('singleton', undefined, 'this node is configured as singleton');
    if (this.local.isMember(target)) throw new ClusterError('already_in_cluster', target, `${target} is already in this cluster`);
    this.local.joining = target;
    try {
      await this.exclusive(() => this.joinSteps(target));
    } finally {
      // joinSteps clears it once the node is a member; a later join may have set it since.
      if (this.local.joining === target) this.local.joining = undefined;
    }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.opChain.then(fn, fn);
    this.opChain = run.catch(() => undefined);
    return run;
  }

  private async joinSteps(target: string): Promise<void> {
    try {
      await this.o.dist.connect(target, { timeoutMs: this.timeout });
    } catch (err) {
      throw linkFailure(err, target);
    }
    const begin = parseJoinBeginReply(await this.callOrDown(target, CLUSTER_CHANNELS.joinBegin, {}), `join reply from ${target}`);
    if (!begin.ok) {
      if (begin.reason === 'singleton') throw new ClusterError('singleton', target, `${target} is configured as singleton`);
      if (begin.reason === 'join_in_progress') throw new ClusterError('target_join_in_progress', target, `${target} is itself joining a cluster`);
      throw new ClusterError('join_failed', target, begin.reason ?? 'refused');
    }
    let adopted: { clusterId: string; members: Members } | undefined;
    const data = this.data!;
    try {
      await data.replaceFrom(target, async () => {
        // Everything has arrived. Become a member first, so a failure here leaves us as we were;
        // only then leave the old cluster (announced, so its members see a leave, not a failure).
        try {
          const reply = await this.o.dist.call(target, CLUSTER_CHANNELS.joinCommit, { members: this.local.view.members }, this.timeout);
          adopted = parseView(reply, `join reply from ${target}`);
        } catch (err) {
          // The target may have added us before the reply was lost: ask it to take that back.
          this.o.dist.send(target, CLUSTER_CHANNELS.joinAbort, {});
          throw err;
        }
        await this.leaveOldCluster();
      });
    } catch (err) {
      if (err instanceof ClusterError) throw err;
      throw new ClusterError('node_down', target, `join failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    const v = adopted!;
    const mv = maxVersion(v.members);
    if (mv) this.o.clock.observe(mv);
    this.local.removedNotice = undefined;
    this.local.fresh = false;
    // Members not met yet count as down from now, not from our boot: a node up longer than
    // cluster.autoclean would otherwise remove a member that stopped a minute ago.
    this.liveness.reset(memberNames(v.members).filter((n) => n !== this.self), this.now());
    // A member from here on: once status shows the new cluster nothing may call it "joining". A
    // leave or another join asked for during the linking below waits for it (exclusive) instead
    // of being refused with join_in_progress.
    this.local.joining = undefined;
    await this.local.setView({ clusterId: v.clusterId, members: v.members });
    this.o.log.info({ target, members: this.local.members() }, 'joined the cluster');
    this.events.emit('joined', target);
    // Link to and greet every member before answering (bounded: a stopped member costs at most
    // a second), so the status printed after "Join the cluster successfully." is current and
    // the next write reaches every running member directly.
    await Promise.allSettled(this.local.peers().map((n) => this.o.dist.connect(n, { timeoutMs: 1000 })));
    await Promise.all(this.local.peers().filter((n) => this.o.dist.isUp(n) && !this.liveness.isRunning(n)).map((n) => this.greet(n)));
  }

  /** Leaves the current cluster; the node continues alone with an empty database. */
  async leave(): Promise<void> {
    if (this.local.joining) throw new ClusterError('join_in_progress', this.local.joining, `a join to ${this.local.joining} is in progress`);
    await this.exclusive(async () => {
      if (this.local.peers().length === 0) throw new ClusterError('node_not_in_cluster', undefined, 'this node is not in a cluster');
      await this.data!.drain();
      await this.leaveOldCluster();
      await this.data!.clear();
      this.o.log.info({}, 'left the cluster; running alone with an empty database');
      this.events.emit('left');
    });
  }

  /** Tells the old members we are leaving (so they see a leave, not a failure) and goes alone. */
  private async leaveOldCluster(): Promise<void> {
    const peers = this.local.peers();
    // Whatever happened before, the node is now where the operator put it: an old "removed by"
    // notice no longer describes it.
    this.local.removedNotice = undefined;
    if (peers.length === 0) return;
    // Not forced: the node goes by itself, so no member will ever tell it "you were removed".
    const leaving: View = { clusterId: this.local.view.clusterId, members: withEntry(this.local.view.members, this.self, { state: 'removed', version: this.o.clock.now() }) };
    this.local.leaving = true;
    try {
      await Promise.allSettled(
        this.liveness.runningNodes().map((p) => this.o.dist.call(p, CLUSTER_CHANNELS.view, leaving, this.timeout)),
      );
    } finally {
      this.local.leaving = false;
    }
    this.liveness.reset();
    this.local.fresh = false;
    await this.local.setView(this.local.aloneView());
    for (const p of peers) this.o.dist.disconnect(p);
  }

  async forceLeave(node: string): Promise<void> {
    if (node === this.self) throw new ClusterError('ignore', node, 'Ignore.');
    if (this.local.joining) throw new ClusterError('join_in_progress', this.local.joining, `a join to ${this.local.joining} is in progress`);
    await this.exclusive(() => this.forceLeaveSteps(node));
  }

  private async forceLeaveSteps(node: string): Promise<void> {
    if (!this.local.isMember(node)) throw new ClusterError('node_not_in_cluster', node, `${node} is not in this cluster`);
    if (this.liveness.isRunning(node)) {
      try {
        const ok = parseOk(await this.o.dist.call(node, CLUSTER_CHANNELS.leaveRequest, {}, this.timeout));
        if (ok && !this.local.isMember(node)) return;
      } catch (err) {
        this.o.log.warn({ peer: node, err: String(err) }, 'the node did not leave when asked; removing it');
      }
      if (!this.local.isMember(node)) return;
    }
    await this.remove(node, 'force-leave', true);
  }

  /**
   * Records `node` as gone. `forced` when this node puts it out (force-leave, autoclean): such a
   * tombstone keeps it out if it comes back with its old view. Not forced when the node went by
   * itself (it joined another cluster, or abandoned its join): it is never told "removed".
   */
  private async remove(node: string, why: string, forced: boolean): Promise<void> {
    const members = withEntry(this.local.view.members, node, { state: 'removed', version: this.o.clock.now(), ...(forced ? { forced: true } : {}) });
    this.liveness.forget(node);
    this.cleanup.forget(node);
    await this.local.setView({ clusterId: this.local.view.clusterId, members });
    this.o.dist.disconnect(node);
    this.o.log.warn({ peer: node, why }, 'removed a node from the cluster');
    this.gossip();
  }

  // ---- protocol --------------------------------------------------------------------------

  private hello(verdict?: Verdict): Hello {
    return {
      clusterId: this.local.view.clusterId,
      members: this.local.view.members,
      bootId: this.bootId,
      ...(verdict ? { verdict } : {}),
      ...(this.local.fresh ? { fresh: true } : {}),
    };
  }

  /** Runs on every link up: exchange views both ways. */
  private async greet(node: string): Promise<void> {
    if (this.stopped) return;
    try {
      const reply = parseHello(await this.o.dist.call(node, CLUSTER_CHANNELS.hello, this.hello(), this.timeout), `hello reply from ${node}`);
      await this.meet(node, reply);
    } catch (err) {
      this.o.log.debug({ peer: node, err: String(err) }, 'hello failed');
    }
  }

  private async onHello(from: string, msg: unknown): Promise<Hello> {
    const verdict = await this.meet(from, parseHello(msg, `hello from ${from}`));
    return this.hello(verdict);
  }

  /**
   * Reconciles with a peer's view. Returns our verdict about the peer: `removed` when it is a
   * tombstone here (it must stay out), `foreign` when it belongs to another cluster,
   * `partitioned` when autoheal is off and it comes back from a partition.
   */
  private async meet(peer: string, their: Hello): Promise<Verdict> {
    const theirView: View = their;
    if (their.verdict === 'removed') {
      await this.removalNotice(peer, theirView.clusterId, theirView.members[this.self]);
      return 'removed';
    }
    const mine = this.local.view.members;
    if (theirView.clusterId !== this.local.view.clusterId) {
      const theirSelf = theirView.members[peer];
      const ours = mine[peer];
      if (this.local.fresh && theirView.members[this.self]?.state === 'member' && !this.local.joining) {
        void this.rejoin(peer);
        return 'foreign';
      }
      // The peer moved to another cluster while we did not hear: it is gone from ours. (Unless it
      // lost its data directory: then it rejoins us by itself.)
      if (!their.fresh && ours?.state === 'member' && theirSelf && theirView.members[this.self] === undefined && compareHlc(theirSelf.version, ours.version) > 0) {
        await this.remove(peer, 'now in another cluster', false);
      }
      return 'foreign';
    }
    const tomb = mine[peer];
    const theirSelf = theirView.members[peer];
    // Decided on versions, not arrival order: the tombstone counts only if the peer's own entry
    // is not newer (a newer one means it was joined again, and the merge below takes it back).
    if (tomb?.state === 'removed' && (!theirSelf || compareHlc(tomb.version, theirSelf.version) >= 0)) {
      // It left by itself or moved to another cluster: this is an old hello that crossed its
      // leave or join. It knows where it is; nothing to tell it and nothing to merge.
      if (!tomb.forced) return 'foreign';
      this.o.log.warn({ peer: peer }, 'a removed node came back; telling it to stay out');
      this.o.dist.send(peer, CLUSTER_CHANNELS.removed, { clusterId: this.local.view.clusterId, entry: tomb });
      return 'removed';
    }
    if (!this.settings.autoheal && this.liveness.cameBackUnrestarted(peer, their.bootId)) {
      if (this.liveness.keepApart(peer)) this.o.log.error({ peer: peer }, 'network partition detected and cluster.autoheal is false: the sides stay apart until one of them is restarted');
      return 'partitioned';
    }
    if (their.verdict === 'partitioned') return 'partitioned';
    this.cleanup.heardFrom(peer, theirView);
    await this.mergeIn(theirView.members, peer);
    if (!isMember(this.local.view.members, this.self)) return 'ok';
    if (this.local.isMember(peer) && this.o.dist.isUp(peer)) {
      if (this.liveness.met(peer, their.bootId, this.now())) {
        this.o.log.info({ peer: peer }, 'member running');
        void this.data!.syncWith(peer).catch((err: unknown) => this.o.log.warn({ peer: peer, err: String(err) }, 'anti-entropy failed; will retry on next link up'));
      }
    }
    return 'ok';
  }

  private async mergeIn(received: Members, from: string): Promise<void> {
    const mv = maxVersion(received);
    if (mv) this.o.clock.observe(mv);
    const merged = mergeMembers(this.local.view.members, this.cleanup.withoutCollected(received));
    if (membersEqual(merged, this.local.view.members)) return;
    const wasMember = new Set(this.local.members());
    await this.local.setView({ clusterId: this.local.view.clusterId, members: merged });
    if (!isMember(merged, this.self)) {
      const tomb = forcedOut(merged, this.self);
      if (tomb) await this.becomeRemoved(tomb.version.n, from, this.local.view.clusterId);
      else if (!this.local.leaving && !this.local.joining) await this.goAlone(from);
      // While leaving (or joining elsewhere, which ends with a leave), our own leave echoing back
      // is expected: the leave or join finishes the job.
      return;
    }
    for (const n of wasMember) {
      if (!isMember(merged, n) && n !== this.self) {
        this.liveness.forget(n);
        this.cleanup.forget(n);
        this.o.dist.disconnect(n);
        this.o.log.info({ peer: n }, 'node left the cluster');
      }
    }
    for (const n of this.local.peers()) if (!wasMember.has(n)) this.liveness.notMetSince(n, this.now());
    this.gossip();
  }

  private async onView(from: string, v: unknown): Promise<boolean> {
    const view = parseView(v, `view from ${from}`);
    if (view.clusterId !== this.local.view.clusterId) return false;
    this.cleanup.heardFrom(from, view);
    await this.mergeIn(view.members, from);
    return true;
  }

  private gossip(): void {
    for (const p of this.liveness.runningNodes()) this.o.dist.send(p, CLUSTER_CHANNELS.view, this.local.view);
  }

  private onJoinBegin(from: string): { ok: boolean; reason?: string } {
    if (this.settings.discoveryStrategy === 'singleton') return { ok: false, reason: 'singleton' };
    if (this.local.joining) return { ok: false, reason: 'join_in_progress' };
    this.o.log.info({ peer: from }, 'a node asks to join; streaming the database to it');
    return { ok: true };
  }

  private async onJoinCommit(from: string, p: unknown): Promise<View> {
    const mv = maxVersion(parseJoinCommit(p, `join commit from ${from}`));
    if (mv) this.o.clock.observe(mv);
    const members = withEntry(this.local.view.members, from, { state: 'member', version: this.o.clock.now() });
    this.liveness.notMetSince(from, this.now());
    // A node removed earlier that others join is in a cluster again: the notice is history.
    this.local.removedNotice = undefined;
    await this.local.setView({ clusterId: this.local.view.clusterId, members });
    this.o.log.info({ peer: from }, 'node joined the cluster');
    this.gossip();
    return this.local.view;
  }

  /** Our data directory was empty but a cluster lists us as a member: take its copy back. */
  private async rejoin(peer: string): Promise<void> {
    this.o.log.warn({ via: peer }, 'this node started on an empty data directory but its cluster still lists it as a member: rejoining');
    try {
      await this.join(peer);
    } catch (err) {
      this.o.log.warn({ via: peer, err: err instanceof Error ? err.message : String(err) }, 'automatic rejoin failed; will retry when the link comes up again');
    }
  }

  private async onJoinAbort(from: string): Promise<void> {
    // Only undo a membership the joiner never adopted: it is not running with us.
    if (this.local.isMember(from) && !this.liveness.isRunning(from)) await this.remove(from, 'join aborted by the joiner', false);
  }

  private async onLeaveRequest(from: string): Promise<{ ok: boolean }> {
    this.o.log.warn({ by: from }, 'asked to leave the cluster (force-leave)');
    await this.leave();
    return { ok: true };
  }

  private async onRemovedNotice(from: string, p: unknown): Promise<void> {
    const notice = parseRemovalNotice(p, this.self, `removal notice from ${from}`);
    if (notice) await this.removalNotice(from, notice.clusterId, notice.entry);
  }

  /**
   * A member says we were removed. It applies only to our current cluster, only for a forced
   * tombstone, and only if that tombstone is newer than our own entry (a notice sent before we
   * were joined again, or about a cluster we have since left, is stale), and never mid-join (the
   * join replaces the membership anyway; a failed join meets the member again and is told again).
   */
  private async removalNotice(via: string, clusterId: string, tomb: MemberEntry | undefined): Promise<void> {
    const own = this.local.view.members[this.self];
    if (clusterId !== this.local.view.clusterId || !tomb || tomb.state !== 'removed' || !tomb.forced) return;
    if (own && compareHlc(tomb.version, own.version) <= 0) return;
    if (this.local.joining || this.local.leaving) {
      this.o.log.info({ by: tomb.version.n, via }, 'told that this node was removed while it joins or leaves; ignored');
      return;
    }
    await this.becomeRemoved(tomb.version.n, via, clusterId);
  }

  /**
   * Our entry says we went by ourselves, yet we still hold that cluster's view (a copy of our own
   * leave arriving after a restart cut the leave short): go alone, without any removal notice.
   */
  private async goAlone(via: string): Promise<void> {
    const old = this.local.peers();
    this.liveness.reset();
    this.local.fresh = false;
    await this.local.setView(this.local.aloneView());
    for (const p of old) this.o.dist.disconnect(p);
    this.o.log.warn({ via }, 'this node had left its cluster; running alone');
  }

  /**
   * We were force-left while away: stay out, stop reconnecting, say so until an operator acts.
   * `by` put us out (the tombstone's issuer); `via` passed the news on, and is running.
   */
  private async becomeRemoved(by: string, via: string, clusterId: string): Promise<void> {
    if (clusterId !== this.local.view.clusterId) return;
    const old = this.local.peers();
    this.local.removedNotice = { by, ...(via !== by ? { via } : {}), at: this.now(), clusterId };
    this.local.fresh = false;
    this.liveness.reset();
    await this.local.setView(this.local.aloneView());
    for (const p of old) this.o.dist.disconnect(p);
    await this.data!.clear();
    this.o.log.error(
      { by, via, clusterId },
      `this node was removed from its cluster by ${by}${via !== by ? ` (told by ${via})` : ''}; it stays out and no longer reconnects. To rejoin, run: emqx ctl cluster join ${via}`,
    );
    this.events.emit('removed', by);
  }

  private lost(node: string, reason: NodeDownReason): void {
    if (!this.local.isMember(node)) return;
    if (this.liveness.lost(node, this.now())) this.o.log.warn({ peer: node, reason }, 'member down');
  }

  // ---- helpers ---------------------------------------------------------------------------

  private async callOrDown(node: string, channel: string, payload: unknown): Promise<unknown> {
    try {
      return await this.o.dist.call(node, channel, payload, this.timeout);
    } catch (err) {
      throw new ClusterError('node_down', node, `${node} did not answer: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

function linkFailure(err: unknown, target: string): ClusterError {
  if (err instanceof LinkError) {
    if (err.code === 'authentication_failed') return new ClusterError('authentication_failed', target, err.message);
    // The cause is shown to the operator as it is (node_down gets its whole message).
    if (err.code === 'tls_handshake_failed') return new ClusterError('tls_handshake_failed', target, err.detail ?? err.message);
    return new ClusterError('node_down', target, `${err.code}: ${err.message}`);
  }
  return new ClusterError('node_down', target, err instanceof Error ? err.message : String(err));
}
