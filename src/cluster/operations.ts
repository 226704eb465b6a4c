// The operator workflows and their other side: join (and answering a joiner), leave, force-leave
// (and obeying one), and recording a node as gone. They run one at a time on a node.
import { LinkError } from '../link/types.js';
import { startAlone, type ClusterContext } from './context.js';
import { ClusterError } from './errors.js';
import { maxVersion, memberNames, parseView, withEntry, type View } from './membership.js';
import { CLUSTER_CHANNELS, parseJoinBeginReply, parseJoinCommit, parseOk, type JoinBeginReply } from './messages.js';

/** What the workflows ask of the hello/view exchange. */
export interface OperationsExchange {
  greet(node: string): Promise<void>;
  gossip(): void;
}

export class Operations {
  /** Operator actions run one at a time: a join must not overlap the tail of a leave (clear). */
  private opChain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ctx: ClusterContext,
    private readonly exchange: OperationsExchange,
  ) {}

  /** Answers joiners and force-leaves. */
  serve(): void {
    const d = this.ctx.dist;
    d.handle(CLUSTER_CHANNELS.joinBegin, (from) => this.onJoinBegin(from));
    d.handle(CLUSTER_CHANNELS.joinCommit, (from, p) => this.onJoinCommit(from, p));
    d.handle(CLUSTER_CHANNELS.joinAbort, (from) => this.onJoinAbort(from));
    d.handle(CLUSTER_CHANNELS.leaveRequest, (from) => this.onLeaveRequest(from));
  }

  async join(target: string): Promise<void> {
    const { self, local } = this.ctx;
    if (target === self) throw new ClusterError('ignore', target, 'Ignore.');
    if (local.joining) throw new ClusterError('join_in_progress', local.joining, `a join to ${local.joining} is in progress`);
    if (this.ctx.settings().discoveryStrategy === 'singleton') throw new ClusterError('singleton', undefined, 'this node is configured as singleton');
    if (local.isMember(target)) throw new ClusterError('already_in_cluster', target, `${target} is already in this cluster`);
    local.joining = target;
    try {
      await this.exclusive(() => this.joinSteps(target));
    } finally {
      // joinSteps clears it once the node is a member; a later join may have set it since.
      if (local.joining === target) local.joining = undefined;
    }
  }

  /** Leaves the current cluster; the node continues alone with an empty database. */
  async leave(): Promise<void> {
    const { local, log, events } = this.ctx;
    if (local.joining) throw new ClusterError('join_in_progress', local.joining, `a join to ${local.joining} is in progress`);
    await this.exclusive(async () => {
      if (local.peers().length === 0) throw new ClusterError('node_not_in_cluster', undefined, 'this node is not in a cluster');
      await this.ctx.data().drain();
      await this.leaveOldCluster();
      await this.ctx.data().clear();
      log.info({}, 'left the cluster; running alone with an empty database');
      events.emit('left');
    });
  }

  async forceLeave(node: string): Promise<void> {
    const { self, local } = this.ctx;
    if (node === self) throw new ClusterError('ignore', node, 'Ignore.');
    if (local.joining) throw new ClusterError('join_in_progress', local.joining, `a join to ${local.joining} is in progress`);
    await this.exclusive(() => this.forceLeaveSteps(node));
  }

  /**
   * Records `node` as gone. `forced` when this node puts it out (force-leave, autoclean): such a
   * tombstone keeps it out if it comes back with its old view. Not forced when the node went by
   * itself (it joined another cluster, or abandoned its join): it is never told "removed".
   */
  async remove(node: string, why: string, forced: boolean): Promise<void> {
    const { local, liveness, cleanup, dist, log, clock } = this.ctx;
    const members = withEntry(local.view.members, node, { state: 'removed', version: clock.now(), ...(forced ? { forced: true } : {}) });
    if (liveness.isPartitioned(node)) this.ctx.events.emit('partition', node, 'healed', liveness.since(node) ?? this.ctx.now());
    liveness.forget(node);
    cleanup.forget(node);
    await local.setView({ clusterId: local.view.clusterId, members });
    dist.disconnect(node);
    log.warn({ peer: node, why }, 'removed a node from the cluster');
    this.exchange.gossip();
  }

  /** Our data directory was empty but a cluster lists us as a member: take its copy back. */
  async rejoin(peer: string): Promise<void> {
    const { log } = this.ctx;
    log.warn({ via: peer }, 'this node started on an empty data directory but its cluster still lists it as a member: rejoining');
    try {
      await this.join(peer);
    } catch (err) {
      log.warn({ via: peer, err: err instanceof Error ? err.message : String(err) }, 'automatic rejoin failed; will retry when the link comes up again');
    }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.opChain.then(fn, fn);
    this.opChain = run.catch(() => undefined);
    return run;
  }

  private async joinSteps(target: string): Promise<void> {
    const { self, dist, local, liveness, clock, log, events, timeoutMs } = this.ctx;
    try {
      await dist.connect(target, { timeoutMs });
    } catch (err) {
      throw linkFailure(err, target);
    }
    const begin = parseJoinBeginReply(await this.callOrDown(target, CLUSTER_CHANNELS.joinBegin, {}), `join reply from ${target}`);
    if (!begin.ok) {
      if (begin.reason === 'singleton') throw new ClusterError('singleton', target, `${target} is configured as singleton`);
      if (begin.reason === 'join_in_progress') throw new ClusterError('target_join_in_progress', target, `${target} is itself joining a cluster`);
      throw new ClusterError('join_failed', target, begin.reason ?? 'refused');
    }
    let adopted: View | undefined;
    try {
      await this.ctx.data().replaceFrom(target, async () => {
        // Everything has arrived. Become a member first, so a failure here leaves us as we were;
        // only then leave the old cluster (announced, so its members see a leave, not a failure).
        try {
          const reply = await dist.call(target, CLUSTER_CHANNELS.joinCommit, { members: local.view.members }, timeoutMs);
          adopted = parseView(reply, `join reply from ${target}`);
        } catch (err) {
          // The target may have added us before the reply was lost: ask it to take that back.
          dist.send(target, CLUSTER_CHANNELS.joinAbort, {});
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
    if (mv) clock.observe(mv);
    local.removedNotice = undefined;
    local.fresh = false;
    // Members not met yet count as down from now, not from our boot: a node up longer than
    // cluster.autoclean would otherwise remove a member that stopped a minute ago.
    liveness.reset(memberNames(v.members).filter((n) => n !== self), this.ctx.now());
    // A member from here on: once status shows the new cluster nothing may call it "joining". A
    // leave or another join asked for during the linking below waits for it (exclusive) instead
    // of being refused with join_in_progress.
    local.joining = undefined;
    await local.setView({ clusterId: v.clusterId, members: v.members });
    log.info({ target, members: local.members() }, 'joined the cluster');
    events.emit('joined', target);
    // Link to and greet every member before answering (bounded: a stopped member costs at most
    // a second), so the status printed after "Join the cluster successfully." is current and
    // the next write reaches every running member directly.
    await Promise.allSettled(local.peers().map((n) => dist.connect(n, { timeoutMs: 1000 })));
    await Promise.all(local.peers().filter((n) => dist.isUp(n) && !liveness.isRunning(n)).map((n) => this.exchange.greet(n)));
  }

  /** Tells the old members we are leaving (so they see a leave, not a failure) and goes alone. */
  private async leaveOldCluster(): Promise<void> {
    const { self, local, liveness, dist, clock, timeoutMs } = this.ctx;
    // Whatever happened before, the node is now where the operator put it: an old "removed by"
    // notice no longer describes it.
    local.removedNotice = undefined;
    if (local.peers().length === 0) return;
    // Not forced: the node goes by itself, so no member will ever tell it "you were removed".
    const leaving: View = { clusterId: local.view.clusterId, members: withEntry(local.view.members, self, { state: 'removed', version: clock.now() }) };
    local.leaving = true;
    try {
      await Promise.allSettled(liveness.runningNodes().map((p) => dist.call(p, CLUSTER_CHANNELS.view, leaving, timeoutMs)));
    } finally {
      local.leaving = false;
    }
    await startAlone(this.ctx);
  }

  private async forceLeaveSteps(node: string): Promise<void> {
    const { local, liveness, dist, log, timeoutMs } = this.ctx;
    if (!local.isMember(node)) throw new ClusterError('node_not_in_cluster', node, `${node} is not in this cluster`);
    if (liveness.isRunning(node)) {
      try {
        const ok = parseOk(await dist.call(node, CLUSTER_CHANNELS.leaveRequest, {}, timeoutMs));
        if (ok && !local.isMember(node)) return;
      } catch (err) {
        log.warn({ peer: node, err: String(err) }, 'the node did not leave when asked; removing it');
      }
      if (!local.isMember(node)) return;
    }
    await this.remove(node, 'force-leave', true);
  }

  private onJoinBegin(from: string): JoinBeginReply {
    if (this.ctx.settings().discoveryStrategy === 'singleton') return { ok: false, reason: 'singleton' };
    if (this.ctx.local.joining) return { ok: false, reason: 'join_in_progress' };
    this.ctx.log.info({ peer: from }, 'a node asks to join; streaming the database to it');
    return { ok: true };
  }

  private async onJoinCommit(from: string, p: unknown): Promise<View> {
    const { local, liveness, clock, log } = this.ctx;
    const mv = maxVersion(parseJoinCommit(p, `join commit from ${from}`));
    if (mv) clock.observe(mv);
    const members = withEntry(local.view.members, from, { state: 'member', version: clock.now() });
    liveness.notMetSince(from, this.ctx.now());
    // A node removed earlier that others join is in a cluster again: the notice is history.
    local.removedNotice = undefined;
    await local.setView({ clusterId: local.view.clusterId, members });
    log.info({ peer: from }, 'node joined the cluster');
    this.exchange.gossip();
    return local.view;
  }

  private async onJoinAbort(from: string): Promise<void> {
    // Only undo a membership the joiner never adopted: it is not running with us.
    if (this.ctx.local.isMember(from) && !this.ctx.liveness.isRunning(from)) await this.remove(from, 'join aborted by the joiner', false);
  }

  private async onLeaveRequest(from: string): Promise<{ ok: boolean }> {
    this.ctx.log.warn({ by: from }, 'asked to leave the cluster (force-leave)');
    await this.leave();
    return { ok: true };
  }

  private async callOrDown(node: string, channel: string, payload: unknown): Promise<unknown> {
    try {
      return await this.ctx.dist.call(node, channel, payload, this.ctx.timeoutMs);
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
