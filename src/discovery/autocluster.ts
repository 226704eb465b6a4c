// The autocluster loop (SPEC §9, as ekka): after boot, discover, probe who is alive, join the
// best-ranked live node (largest cluster, then oldest; see autocluster-decide.ts) that is not
// already ours; repeat every few seconds (with jitter) until
// stable, then keep checking at a slower pace. A manual leave disables it until enable() (the
// `cluster discovery enable` command) or a restart.
import { decide, notJoinTargets, type Decision, type NodeInfo } from './autocluster-decide.js';
import type { DiscoveryLogger, DiscoveryStrategy } from './types.js';

export type { NodeInfo } from './autocluster-decide.js';

/** What the loop needs from the membership layer; small so the daemon can wire it easily. */
export interface AutoclusterHost {
  readonly self: string;
  /** This node's boot time (ms since epoch). */
  readonly startedAt: number;
  /** Current cluster members, including this node. */
  members(): readonly string[];
  /** Asks a node about itself; undefined when it cannot be reached (or refuses us). */
  probe(node: string, signal: AbortSignal): Promise<NodeInfo | undefined>;
  /** Joins the cluster of `node`; throws on failure. */
  join(node: string): Promise<void>;
}

export interface AutoclusterOptions {
  /** Period until stable (default 2 s; ekka uses 5 s). */
  readonly fastMs?: number;
  /** Period once stable. */
  readonly slowMs?: number;
  /** ± fraction of jitter on every period, so nodes booted together do not move in lockstep. */
  readonly jitter?: number;
  /** Random delay before the first round is up to this (ekka sleeps up to 3 s). */
  readonly firstDelayMs?: number;
  /** Probe deadline per node. */
  readonly probeTimeoutMs?: number;
  readonly random?: () => number;
}

export interface RoundResult {
  readonly discovered: readonly string[];
  readonly decision?: Decision;
  /** Set when the round failed (discovery, lock or join); the loop retries at the fast pace. */
  readonly error?: string;
  readonly joined?: string;
}

export class Autocluster {
  private enabledFlag = true;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<RoundResult> | undefined;
  private abort = new AbortController();
  private stable = false;
  private readonly listeners = new Set<(r: RoundResult) => void>();
  /** Discovered nodes that are not join targets (their discovery is off), as of the last round. */
  private discoveryOff = new Set<string>();

  constructor(
    private readonly strategy: DiscoveryStrategy,
    private readonly host: AutoclusterHost,
    private readonly logger: DiscoveryLogger,
    private readonly opts: AutoclusterOptions = {},
  ) {}

  get enabled(): boolean {
    return this.enabledFlag;
  }

  /** What this node answers to a probe. */
  info(): NodeInfo {
    return { startedAt: this.host.startedAt, discovery: this.enabledFlag && this.running, clusterSize: new Set([this.host.self, ...this.host.members()]).size };
  }

  /** Discovered nodes outside this cluster whose discovery is off: never joined (last round). */
  notJoinTargets(): string[] {
    return [...this.discoveryOff].sort();
  }

  /** Called after every round (tests and logs). */
  onRound(fn: (r: RoundResult) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    // Register at once, before the first round: nodes started together then all see each other
    // in their first round and go straight to the true oldest instead of hopping via a younger one.
    if (this.enabledFlag && this.strategy.register) {
      this.strategy.register().catch((err: Error) => this.logger.warn({ err: err.message }, 'could not register this node for discovery; retrying every round'));
    }
    this.schedule(this.rand() * (this.opts.firstDelayMs ?? 1000));
  }

  /** Stops the loop (and withdraws this node's registration). */
  async stop(): Promise<void> {
    this.running = false;
    this.clearTimer();
    this.abort.abort(new Error('autocluster stopped'));
    await this.round?.catch(() => undefined);
    await this.strategy.unregister?.().catch(() => undefined);
  }

  /**
   * After a manual leave: stop joining anybody (and withdraw from the registry, so nobody is
   * pointed at us) until enable(). Returns whether it was enabled.
   */
  async disable(): Promise<boolean> {
    const was = this.enabledFlag;
    this.enabledFlag = false;
    this.clearTimer();
    if (was) this.logger.info({}, 'automatic cluster discovery disabled on this node');
    await this.strategy.unregister?.().catch((err: Error) => this.logger.warn({ err: err.message }, 'could not withdraw this node from discovery'));
    return was;
  }

  /** `cluster discovery enable`: runs a round now and keeps going. */
  enable(): void {
    this.enabledFlag = true;
    this.stable = false;
    if (this.running) {
      this.clearTimer();
      this.schedule(0);
    }
  }

  /** One round now (the loop's body); rounds never overlap. */
  runOnce(): Promise<RoundResult> {
    if (this.round) return this.round;
    const p = this.doRound().finally(() => {
      if (this.round === p) this.round = undefined;
    });
    this.round = p;
    return p;
  }

  private rand(): number {
    return (this.opts.random ?? Math.random)();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(delayMs: number): void {
    if (!this.running || !this.enabledFlag) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runOnce().then((r) => {
        if (this.timer) return; // enable() already scheduled the next one
        const base = r.error === undefined && this.stable ? (this.opts.slowMs ?? 30_000) : (this.opts.fastMs ?? 2000);
        const j = this.opts.jitter ?? 0.2;
        this.schedule(base * (1 - j + 2 * j * this.rand()));
      });
    }, delayMs);
    this.timer.unref?.();
  }

  private async doRound(): Promise<RoundResult> {
    let result: RoundResult;
    try {
      const work = (signal: AbortSignal): Promise<RoundResult> => this.discoverAndJoin(signal);
      const signal = this.abort.signal;
      result = this.strategy.lock ? await this.strategy.lock(() => work(signal), signal) : await work(signal);
    } catch (err) {
      result = { discovered: [], error: (err as Error).message };
      this.stable = false;
      if (!this.abort.signal.aborted) this.logger.warn({ strategy: this.strategy.name, err: (err as Error).message }, 'cluster discovery round failed; retrying');
    }
    // disable() may have raced a registration still in flight in this round: withdraw again.
    if (!this.enabledFlag) await this.strategy.unregister?.().catch(() => undefined);
    for (const l of this.listeners) l(result);
    return result;
  }

  private async discoverAndJoin(signal: AbortSignal): Promise<RoundResult> {
    // Idempotent; renews a registration etcd lost (lease expired while it was unreachable).
    if (this.enabledFlag) await this.strategy.register?.();
    const discovered = await this.strategy.discover(signal);
    const self = this.host.self;
    const probes = new Map<string, NodeInfo | undefined>();
    await Promise.all(
      [...new Set(discovered)].filter((n) => n !== self).map(async (n) => {
        const timeout = AbortSignal.timeout(this.opts.probeTimeoutMs ?? 3000);
        const info = await this.host.probe(n, AbortSignal.any([signal, timeout])).catch(() => undefined);
        probes.set(n, info);
      }),
    );
    signal.throwIfAborted();
    const view = { self, selfStartedAt: this.host.startedAt, members: this.host.members(), discovered, probes };
    this.noteDiscoveryOff(notJoinTargets(view));
    const decision = decide(view);
    let joined: string | undefined;
    if (decision.kind === 'join' && this.enabledFlag) {
      this.logger.info({ target: decision.target, reason: decision.reason }, 'autocluster: joining');
      await this.host.join(decision.target);
      joined = decision.target;
      this.stable = false;
    } else if (decision.kind === 'stay') {
      if (decision.stable !== this.stable) {
        this.logger.info({ members: this.host.members(), unreachable: decision.unreachable }, decision.stable ? 'autocluster: stable' : `autocluster: waiting (${decision.reason})`);
      }
      this.stable = decision.stable;
    }
    return { discovered, decision, ...(joined ? { joined } : {}) };
  }

  /**
   * Says once why a discovered node is never joined (without it, a static node whose seeds run
   * `manual` only showed its probe links coming and going); again only if it changes back.
   */
  private noteDiscoveryOff(nodes: readonly string[]): void {
    for (const n of nodes) {
      if (this.discoveryOff.has(n)) continue;
      this.logger.warn(
        { peer: n, hint: 'its cluster.discovery_strategy is manual or singleton, or a leave turned its discovery off; join it with cluster join, or turn its discovery on' },
        `'${n}' has discovery off: not a join target`,
      );
    }
    this.discoveryOff = new Set(nodes);
  }
}
