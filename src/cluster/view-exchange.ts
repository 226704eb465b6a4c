// The hello/view protocol: on every link up members exchange views (hello, both ways), merge them
// (greater version wins, membership.ts), and push their view to the running members whenever it
// changes (gossip). Meeting a peer also decides what it is to us: running, removed (it must stay
// out), in another cluster, or kept apart by a partition while cluster.autoheal is off. A node
// that learns it was put out goes alone and stays out.
import { randomUUID } from 'node:crypto';
import { compareHlc } from '../base/hlc.js';
import type { LinkInfo, NodeDownReason } from '../link/types.js';
import { startAlone, type ClusterContext } from './context.js';
import { forcedOut, maxVersion, membersEqual, mergeMembers, parseView, type MemberEntry, type Members, type View } from './membership.js';
import { CLUSTER_CHANNELS, parseHello, parseRemovalNotice, type Hello, type Verdict } from './messages.js';

/** What the exchange asks of the operator workflows. */
export interface ExchangeHooks {
  /** Our data directory was empty but a cluster lists us as a member: take its copy back. */
  rejoin(peer: string): Promise<void>;
  /** Records a node as gone (see Operations.remove). */
  remove(node: string, why: string, forced: boolean): Promise<void>;
}

export class ViewExchange {
  /** Who this node is this run: a peer that comes back with the same one was partitioned, not restarted. */
  private readonly bootId = randomUUID();
  private regreetTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  // Only members are greeted: a link opened to probe a candidate (discovery) or by a node outside
  // the cluster carries no membership traffic from this side, so it cannot disturb membership.
  // (A node that is not in our view but lists us greets us itself, and is answered.)
  private readonly onUp = (node: string, _info: LinkInfo): void => {
    if (this.ctx.local.isMember(node)) void this.greet(node);
  };
  private readonly onDown = (node: string, reason: NodeDownReason): void => this.lost(node, reason);

  constructor(
    private readonly ctx: ClusterContext,
    private readonly hooks: ExchangeHooks,
    private readonly regreetMs = 2000,
  ) {}

  /** Answers hellos, views and removal notices. */
  serve(): void {
    const d = this.ctx.dist;
    d.handle(CLUSTER_CHANNELS.hello, (from, p) => this.onHello(from, p));
    d.handle(CLUSTER_CHANNELS.view, (from, p) => this.onView(from, p));
    d.handle(CLUSTER_CHANNELS.removed, (from, p) => this.onRemovedNotice(from, p));
    d.on('nodeup', this.onUp);
    d.on('nodedown', this.onDown);
  }

  /** Greets the members linked already, and from now on those linked but not confirmed. */
  start(): void {
    const { dist, local, liveness } = this.ctx;
    for (const n of dist.nodes()) if (local.isMember(n)) void this.greet(n);
    // A hello lost to a timeout must not leave a linked member looking stopped until the next
    // link flap: members linked but not confirmed are greeted again.
    this.regreetTimer = setInterval(() => {
      for (const n of local.peers()) {
        if (dist.isUp(n) && !liveness.isRunning(n) && !liveness.isPartitioned(n)) void this.greet(n);
      }
    }, this.regreetMs);
    this.regreetTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.regreetTimer);
    this.ctx.dist.off('nodeup', this.onUp);
    this.ctx.dist.off('nodedown', this.onDown);
  }

  /** Exchanges views with a member both ways. */
  async greet(node: string): Promise<void> {
    if (this.stopped) return;
    const { dist, log, timeoutMs } = this.ctx;
    try {
      const reply = parseHello(await dist.call(node, CLUSTER_CHANNELS.hello, this.hello(), timeoutMs), `hello reply from ${node}`);
      await this.meet(node, reply);
    } catch (err) {
      log.debug({ peer: node, err: String(err) }, 'hello failed');
    }
  }

  /** Pushes our view to every running member. */
  gossip(): void {
    const { dist, liveness, local } = this.ctx;
    for (const p of liveness.runningNodes()) dist.send(p, CLUSTER_CHANNELS.view, local.view);
  }

  private hello(verdict?: Verdict): Hello {
    const { local } = this.ctx;
    return {
      clusterId: local.view.clusterId,
      members: local.view.members,
      bootId: this.bootId,
      ...(verdict ? { verdict } : {}),
      ...(local.fresh ? { fresh: true } : {}),
    };
  }

  private async onHello(from: string, msg: unknown): Promise<Hello> {
    const verdict = await this.meet(from, parseHello(msg, `hello from ${from}`));
    return this.hello(verdict);
  }

  /** Reconciles with a peer's view; returns our verdict about the peer (see Verdict). */
  private async meet(peer: string, their: Hello): Promise<Verdict> {
    const { self, local, liveness, dist, log } = this.ctx;
    if (their.verdict === 'removed') {
      await this.removalNotice(peer, their.clusterId, their.members[self]);
      return 'removed';
    }
    const mine = local.view.members;
    if (their.clusterId !== local.view.clusterId) {
      const theirSelf = their.members[peer];
      const ours = mine[peer];
      if (local.fresh && their.members[self]?.state === 'member' && !local.joining) {
        void this.hooks.rejoin(peer);
        return 'foreign';
      }
      // The peer moved to another cluster while we did not hear: it is gone from ours. (Unless it
      // lost its data directory: then it rejoins us by itself.)
      if (!their.fresh && ours?.state === 'member' && theirSelf && their.members[self] === undefined && compareHlc(theirSelf.version, ours.version) > 0) {
        await this.hooks.remove(peer, 'now in another cluster', false);
      }
      return 'foreign';
    }
    const tomb = mine[peer];
    const theirSelf = their.members[peer];
    // Decided on versions, not arrival order: the tombstone counts only if the peer's own entry
    // is not newer (a newer one means it was joined again, and the merge below takes it back).
    if (tomb?.state === 'removed' && (!theirSelf || compareHlc(tomb.version, theirSelf.version) >= 0)) {
      // It left by itself or moved to another cluster: this is an old hello that crossed its
      // leave or join. It knows where it is; nothing to tell it and nothing to merge.
      if (!tomb.forced) return 'foreign';
      log.warn({ peer }, 'a removed node came back; telling it to stay out');
      dist.send(peer, CLUSTER_CHANNELS.removed, { clusterId: local.view.clusterId, entry: tomb });
      return 'removed';
    }
    // Back with the boot it had: a partition if the link was lost to silence (nothing heard for
    // the ticktime) or stayed down for half a ticktime. Not when a peer that answers closed it
    // and it was back at once: two links crossing (both sides dialing when one restarts) end with
    // one closed by the peer and the other up a moment later. A real split silences at least one
    // side for a ticktime, and the side that saw that decides for both (its verdict).
    const minDown = (dist.ticktimeMs?.() ?? 0) / 2;
    const split = liveness.cameBackUnrestarted(peer, their.bootId) && (liveness.lostToSilence(peer) || liveness.downFor(peer, this.ctx.now(), 0) >= minDown);
    const wasApart = liveness.isPartitioned(peer);
    const lostAt = liveness.since(peer) ?? this.ctx.now();
    if (!this.ctx.settings().autoheal && split) {
      if (liveness.keepApart(peer)) {
        log.error({ peer }, 'network partition detected and cluster.autoheal is false: the sides stay apart until one of them is restarted');
        this.ctx.events.emit('partition', peer, 'detected', lostAt);
      }
      return 'partitioned';
    }
    if (their.verdict === 'partitioned') return 'partitioned';
    this.ctx.cleanup.heardFrom(peer, their);
    await this.mergeIn(their.members, peer);
    if (!local.isMember(self)) return 'ok';
    if (local.isMember(peer) && dist.isUp(peer) && liveness.met(peer, their.bootId, this.ctx.now())) {
      log.info({ peer }, 'member running');
      if (split || wasApart) this.ctx.events.emit('partition', peer, 'healed', lostAt);
      void this.ctx.data().syncWith(peer).catch((err: unknown) => log.warn({ peer, err: String(err) }, 'anti-entropy failed; will retry on next link up'));
    }
    return 'ok';
  }

  private async mergeIn(received: Members, from: string): Promise<void> {
    const { self, local, liveness, dist, log, clock, cleanup } = this.ctx;
    const mv = maxVersion(received);
    if (mv) clock.observe(mv);
    const merged = mergeMembers(local.view.members, cleanup.withoutCollected(received));
    if (membersEqual(merged, local.view.members)) return;
    const wasMember = new Set(local.members());
    await local.setView({ clusterId: local.view.clusterId, members: merged });
    if (!local.isMember(self)) {
      const tomb = forcedOut(merged, self);
      if (tomb) await this.becomeRemoved(tomb.version.n, from, local.view.clusterId);
      else if (!local.leaving && !local.joining) await this.goAlone(from);
      // While leaving (or joining elsewhere, which ends with a leave), our own leave echoing back
      // is expected: the leave or join finishes the job.
      return;
    }
    for (const n of wasMember) {
      if (!local.isMember(n) && n !== self) {
        if (liveness.isPartitioned(n)) this.ctx.events.emit('partition', n, 'healed', liveness.since(n) ?? this.ctx.now());
        liveness.forget(n);
        cleanup.forget(n);
        dist.disconnect(n);
        log.info({ peer: n }, 'node left the cluster');
      }
    }
    for (const n of local.peers()) if (!wasMember.has(n)) liveness.notMetSince(n, this.ctx.now());
    this.gossip();
  }

  private async onView(from: string, v: unknown): Promise<boolean> {
    const view: View = parseView(v, `view from ${from}`);
    if (view.clusterId !== this.ctx.local.view.clusterId) return false;
    this.ctx.cleanup.heardFrom(from, view);
    await this.mergeIn(view.members, from);
    return true;
  }

  private async onRemovedNotice(from: string, p: unknown): Promise<void> {
    const notice = parseRemovalNotice(p, this.ctx.self, `removal notice from ${from}`);
    if (notice) await this.removalNotice(from, notice.clusterId, notice.entry);
  }

  /**
   * A member says we were removed. It applies only to our current cluster, only for a forced
   * tombstone, and only if that tombstone is newer than our own entry (a notice sent before we
   * were joined again, or about a cluster we have since left, is stale), and never mid-join (the
   * join replaces the membership anyway; a failed join meets the member again and is told again).
   */
  private async removalNotice(via: string, clusterId: string, tomb: MemberEntry | undefined): Promise<void> {
    const { self, local, log } = this.ctx;
    const own = local.view.members[self];
    if (clusterId !== local.view.clusterId || !tomb || tomb.state !== 'removed' || !tomb.forced) return;
    if (own && compareHlc(tomb.version, own.version) <= 0) return;
    if (local.joining || local.leaving) {
      log.info({ by: tomb.version.n, via }, 'told that this node was removed while it joins or leaves; ignored');
      return;
    }
    await this.becomeRemoved(tomb.version.n, via, clusterId);
  }

  /**
   * Our entry says we went by ourselves, yet we still hold that cluster's view (a copy of our own
   * leave arriving after a restart cut the leave short): go alone, without any removal notice.
   */
  private async goAlone(via: string): Promise<void> {
    await startAlone(this.ctx);
    this.ctx.log.warn({ via }, 'this node had left its cluster; running alone');
  }

  /**
   * We were force-left while away: stay out, stop reconnecting, say so until an operator acts.
   * `by` put us out (the tombstone's issuer); `via` passed the news on, and is running.
   */
  private async becomeRemoved(by: string, via: string, clusterId: string): Promise<void> {
    const { local, log, events } = this.ctx;
    if (clusterId !== local.view.clusterId) return;
    local.removedNotice = { by, ...(via !== by ? { via } : {}), at: this.ctx.now(), clusterId };
    await startAlone(this.ctx);
    await this.ctx.data().clear();
    log.error(
      { by, via, clusterId },
      `this node was removed from its cluster by ${by}${via !== by ? ` (told by ${via})` : ''}; it stays out and no longer reconnects. To rejoin, run: emqx ctl cluster join ${via}`,
    );
    events.emit('removed', by);
  }

  private lost(node: string, reason: NodeDownReason): void {
    if (!this.ctx.local.isMember(node)) return;
    if (this.ctx.liveness.lost(node, this.ctx.now(), reason === 'heartbeat_timeout')) this.ctx.log.warn({ peer: node, reason }, 'member down');
  }
}
