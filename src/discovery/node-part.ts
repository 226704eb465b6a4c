// The discovery part of a running node: the configured strategy, the autocluster loop on top
// of membership, the probe answer every node gives, and `cluster discovery enable` (merged into
// the `cluster` command). The daemon adds it right after the cluster part.
import type { Logger } from 'pino';
import type { NodePart } from '../base/part.js';
import type { ClusterConfig, Config } from '../config/types.js';
import type { CtlCommand, CtlResult } from '../ctl/types.js';
import type { Dist } from '../link/types.js';
import type { ClusterParts } from '../cluster/parts.js';
import { Autocluster, type AutoclusterOptions } from './autocluster.js';
import { discoveryDisabledNotice, DISCOVERY_USAGE, notJoinTargetLines, runDiscoveryCommand, type DiscoverySwitch } from './ctl.js';
import { clustersAutomatically, createStrategy } from './strategies.js';
import { distProbe, serveProbe } from './probe.js';
import type { DiscoveryStrategy } from './types.js';

export interface DiscoveryPartHost {
  readonly config: Config;
  readonly logger: Logger;
  /** This node's boot time (ms since epoch): the oldest node is the one the others join. */
  readonly startedAt: number;
  dist(): Dist;
  /** The started membership part (clusterPart(...).parts()). */
  cluster(): ClusterParts | undefined;
  register(cmd: CtlCommand): void;
  /** Loop pace (tests shorten it). */
  readonly autocluster?: AutoclusterOptions;
}

export interface DiscoveryPart extends NodePart {
  readonly name: 'discovery';
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Hot reload: a changed strategy or strategy setting restarts discovery (SPEC §8). Rejects
   * (DiscoveryError naming the key) when the new settings cannot work; the old discovery then
   * keeps running.
   */
  reconfigure(config: Config): Promise<void>;
  /** The running loop, when the strategy clusters automatically. */
  loop(): Autocluster | undefined;
}

/** The strategy and its settings. */
export const DISCOVERY_KEYS = ['cluster.discovery_strategy', 'cluster.static', 'cluster.dns', 'cluster.etcd', 'cluster.k8s'];

/** The strategy-relevant slice of the config: a reload that leaves it alone leaves discovery alone. */
export function discoverySettings(c: ClusterConfig): string {
  const slice: Record<string, unknown> = { strategy: c.discovery_strategy };
  if (c.discovery_strategy === 'static') slice.static = c.static;
  if (c.discovery_strategy === 'dns') slice.dns = c.dns;
  if (c.discovery_strategy === 'etcd') slice.etcd = c.etcd;
  if (c.discovery_strategy === 'k8s') slice.k8s = c.k8s;
  return JSON.stringify(slice);
}

/**
 * The `cluster` command with `discovery enable` added, leave disabling discovery as EMQX does, and
 * the nodes that are not join targets under `status --verbose`. The one place where operator
 * commands switch discovery (a remote force-leave or removal does it through membership events).
 */
export function withDiscovery(base: CtlCommand, loop: () => DiscoverySwitch | undefined, self: string): CtlCommand {
  return {
    name: base.name,
    usage: [...base.usage, ...DISCOVERY_USAGE],
    async run(args): Promise<CtlResult> {
      const own = runDiscoveryCommand(loop(), args);
      if (own) return own;
      if (args.length === 1 && args[0] === 'leave') {
        // As EMQX: discovery is disabled first, so the loop cannot pull the node straight back.
        const wasOn = (await loop()?.disable?.()) ?? false;
        const r = await base.run(args);
        return wasOn ? { ...r, output: discoveryDisabledNotice(self) + r.output } : r;
      }
      const r = await base.run(args);
      if (args.length === 2 && args[0] === 'status' && args[1] === '--verbose') {
        return { ...r, output: r.output + notJoinTargetLines(loop()?.notJoinTargets?.() ?? []) };
      }
      return r;
    },
  };
}

export function discoveryPart(host: DiscoveryPartHost): DiscoveryPart {
  const log = host.logger.child({ part: 'discovery' });
  let settings = host.config.cluster;
  let strategy: DiscoveryStrategy | undefined;
  let loop: Autocluster | undefined;
  // A manual leave survives a reload of the discovery settings; only enable or a restart undo it.
  let disabledByOperator = false;
  const offs: Array<() => void> = [];

  const operatorSwitch: DiscoverySwitch = {
    enable: () => {
      disabledByOperator = false;
      loop?.enable();
    },
    disable: async () => {
      disabledByOperator = true;
      return (await loop?.disable()) ?? false;
    },
    notJoinTargets: () => loop?.notJoinTargets() ?? [],
  };

  const parts = (): ClusterParts => {
    const p = host.cluster();
    if (!p) throw new Error('discovery needs the cluster part to be started first');
    return p;
  };

  /** Builds the strategy first: settings that cannot work throw before anything is torn down. */
  function startLoop(built: DiscoveryStrategy): void {
    const dist = host.dist();
    const { cluster } = parts();
    strategy = built;
    if (!clustersAutomatically(settings.discovery_strategy)) return;
    loop = new Autocluster(
      strategy,
      {
        self: dist.self,
        startedAt: host.startedAt,
        members: () => cluster.members(),
        // A link to a member, or to the node a join (by hand or by discovery) now runs to, stays:
        // dropping the probe's link under a join that started meanwhile failed it with node_down.
        probe: distProbe(dist, (n) => cluster.members().includes(n) || cluster.busy() === n),
        join: (n) => cluster.join(n),
      },
      log,
      host.autocluster,
    );
    if (disabledByOperator) void loop.disable();
    loop.start();
    log.info({ strategy: settings.discovery_strategy }, 'automatic cluster discovery started');
  }

  async function stopLoop(): Promise<void> {
    const l = loop;
    const s = strategy;
    loop = undefined;
    strategy = undefined;
    await l?.stop();
    await s?.close();
  }

  return {
    name: 'discovery',
    async start() {
      const dist = host.dist();
      const { cluster, commands } = parts();
      serveProbe(dist, () => loop?.info() ?? { startedAt: host.startedAt, discovery: false, clusterSize: cluster.members().length });
      const disable = (): void => {
        disabledByOperator = true;
        void loop?.disable();
      };
      cluster.events.on('left', disable);
      cluster.events.on('removed', disable);
      offs.push(() => cluster.events.off('left', disable), () => cluster.events.off('removed', disable));
      const base = commands.find((c) => c.name === 'cluster');
      if (base) host.register(withDiscovery(base, () => (loop ? operatorSwitch : undefined), dist.self));
      startLoop(createStrategy(settings, dist.self, log));
    },
    async stop() {
      offs.splice(0).forEach((o) => o());
      await stopLoop();
    },
    reloadKeys: DISCOVERY_KEYS,
    refusal: { key: 'cluster.discovery', reason: 'the new discovery settings cannot work, discovery keeps running as before' },
    async reconfigure(config) {
      const next = config.cluster;
      if (discoverySettings(next) === discoverySettings(settings)) {
        settings = next;
        return;
      }
      // Throws (DiscoveryError naming the key) with the running discovery left as it was.
      const built = createStrategy(next, host.dist().self, log);
      log.info({ from: settings.discovery_strategy, to: next.discovery_strategy }, 'discovery settings changed; restarting discovery');
      await stopLoop();
      settings = next;
      startLoop(built);
    },
    loop: () => loop,
  };
}
