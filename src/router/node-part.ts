// The router as a part of a running node: started after membership and the broker, before the
// listeners, it attaches to the broker and follows the links and the member list: a member whose
// link comes up exchanges route tables with this node, one whose link goes down has its routes
// dropped, one that leaves is forgotten. It also puts the retained and the delayed messages in
// the replicated table, decides `$exclusive/` subscriptions for the whole cluster and keeps the
// list of metered topics.
import type { Logger } from 'pino';
import type { NodePart } from '../base/part.js';
import type { Broker } from '../broker/broker.js';
import type { ClusterParts } from '../cluster/parts.js';
import type { Config } from '../config/types.js';
import type { Dist, LinkInfo, NodeDownReason } from '../link/types.js';
import { attachDelayedTable } from './delayed-store.js';
import { attachRetainedTable } from './retained-store.js';
import { ClusterExclusive, EXCLUSIVE_TABLE } from './exclusive-store.js';
import { TopicMetricsList } from './topic-metrics-store.js';
import { Router } from './router.js';
import { restoreSessions, saveSessions } from './session-file.js';

const sessions = (n: number): string => `${n} session${n === 1 ? '' : 's'}`;

/** At most this long (and at most a tick time) a starting node waits for its members' routes. */
const ROUTES_WAIT_MS = 5000;

/** Polls `missing()` every 10 ms until it is empty or `ms` passed; returns what is still missing. */
async function untilRoutes(missing: () => string[], ms: number): Promise<string[]> {
  const end = Date.now() + ms;
  let left = missing();
  while (left.length > 0 && Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    left = missing();
  }
  return left;
}

/** How long a graceful stop spends handing sessions on (the node bounds each part's stop at 10 s). */
const EVACUATION_DEADLINE_MS = 7000;

export interface RouterPartHost {
  readonly config: Config;
  readonly logger: Logger;
  dist(): Dist;
  cluster(): ClusterParts | undefined;
  readonly broker: Broker;
}

export interface RouterPart extends NodePart {
  router(): Router | undefined;
  /** The cluster's metered topics, once the router runs. */
  topicMetrics(): TopicMetricsList | undefined;
}

export function routerPart(host: RouterPartHost): RouterPart {
  const log = host.logger.child({ part: 'router' });
  let router: Router | undefined;
  let topicMetrics: TopicMetricsList | undefined;
  let members = new Set<string>();
  const offs: Array<() => void> = [];
  let config = host.config;

  return {
    name: 'router',
    async start() {
      const dist = host.dist();
      const parts = host.cluster();
      if (!parts) throw new Error('the router needs membership to be started first');
      const { cluster } = parts;
      const self = dist.self;
      members = new Set(cluster.members());
      const r = new Router({
        self,
        dist,
        log,
        broker: host.broker,
        isMember: (n) => members.has(n),
        running: () => cluster.status().running,
        strategy: () => config.mqtt.shared_subscription_strategy,
        graceMs: () => config.node.dist_net_ticktime,
      });
      router = r;
      host.broker.attachCluster(r);
      // Delayed messages too; who publishes the messages of a node that is gone follows membership.
      // Those that fell due while this node was down wait until the members' routes are here (or
      // a tick time has passed: a member that is down sends none), so they reach subscribers on
      // the other nodes.
      const startedAt = Date.now();
      const routesKnown = (): boolean => Date.now() - startedAt >= config.node.dist_net_ticktime || [...members].every((n) => n === self || r.routesFrom(n));
      const delayed = attachDelayedTable(host.broker.delayed, parts.db, { self, isMember: (n) => members.has(n), running: () => cluster.status().running, mayPublish: routesKnown });
      offs.push(() => delayed.detach());
      const onUp = (n: string, _info: LinkInfo): void => {
        if (members.has(n)) r.peerUp(n);
        delayed.membershipChanged();
      };
      const onDown = (n: string, _why: NodeDownReason): void => {
        if (members.has(n)) r.peerDown(n);
        delayed.membershipChanged();
      };
      const onMembers = (list: string[]): void => {
        const next = new Set(list);
        const before = members;
        members = next;
        for (const n of before) if (!next.has(n) && n !== self) r.peerGone(n);
        for (const n of next) if (!before.has(n) && n !== self && dist.isUp(n)) r.peerUp(n);
        delayed.membershipChanged();
      };
      dist.on('nodeup', onUp);
      dist.on('nodedown', onDown);
      cluster.events.on('members', onMembers);
      offs.push(
        () => dist.off('nodeup', onUp),
        () => dist.off('nodedown', onDown),
        () => cluster.events.off('members', onMembers),
      );
      for (const n of members) if (n !== self && dist.isUp(n)) r.peerUp(n);
      // Retained messages live in the replicated table from now on.
      offs.push(attachRetainedTable(host.broker.retainer, parts.db));
      // So do the `$exclusive/` locks.
      const exclusive = new ClusterExclusive({
        self,
        dist,
        db: parts.db,
        log,
        running: () => cluster.status().running,
        alive: (id) => host.broker.sessions.has(id) || r.clients.nodesOf(id).some((n) => n !== self && cluster.status().running.includes(n)),
        timeoutMs: 5000,
      });
      exclusive.serve();
      // The metered topics too.
      topicMetrics = new TopicMetricsList(parts.db, host.broker.topicMetrics, config.topic_metrics.map((t) => t.topic), Date.now());
      offs.push(topicMetrics.attach());
      // A node joining keeps the locks its clients hold unless the cluster's are newer.
      parts.db.mergeOnJoin(EXCLUSIVE_TABLE);
      host.broker.attachExclusive(exclusive);
      // The listeners open after this part. A node restarting into its cluster waits (bounded)
      // until every member has sent its routes and sessions: a client let in before would get a
      // new session where it has one elsewhere, and its publishes would miss the subscribers
      // there (EMQX likewise starts its listeners once its tables are in).
      // A member whose dial failed (refused: it is down) is not waited for.
      const unreachable = (n: string): boolean => !dist.isUp(n) && (dist.failedDials?.(n) ?? 0) > 0;
      const missing = await untilRoutes(() => [...members].filter((n) => n !== self && !r.routesFrom(n) && !unreachable(n)), Math.min(config.node.dist_net_ticktime, ROUTES_WAIT_MS));
      if (missing.length > 0) log.warn({ members: missing, waited_ms: Math.min(config.node.dist_net_ticktime, ROUTES_WAIT_MS) }, 'MQTT listeners open without the routes and sessions of members that did not answer in time; they are taken when those members link up');
      // The sessions the last graceful stop could not hand on, before any client is let in.
      try {
        const back = await restoreSessions(host.broker, config.node.data_dir, self, (id) => r.clients.nodesOf(id).some((n) => n !== self));
        if (back) log.info({ ...back }, `${sessions(back.restored)} taken back from the last stop`);
      } catch (err) {
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'the sessions saved at the last stop could not be taken back');
      }
    },
    async stop() {
      // The listeners closed every connection before this part stops: the persistent sessions
      // left move to the members that stay, while the links are still up.
      if (router) {
        const started = Date.now();
        const r = await router.evacuate(EVACUATION_DEADLINE_MS).catch((err: unknown) => {
          log.warn({ err: err instanceof Error ? err.message : String(err) }, 'handing sessions to other members failed');
          return undefined;
        });
        if (r && r.moved > 0) {
          const line = r.left > 0 ? `${sessions(r.moved)} handed to the members that stay; ${r.left} stay here` : `${sessions(r.moved)} handed to the members that stay`;
          log.info({ moved: r.moved, left: r.left, ms: Date.now() - started }, line);
        }
        // What could not move (alone, or the others are down) waits on disk for the next start.
        const saving = Date.now();
        const saved = await saveSessions(host.broker, config.node.data_dir, host.dist().self).catch((err: unknown) => {
          log.warn({ err: err instanceof Error ? err.message : String(err) }, 'the sessions left could not be saved; they end with this node');
          return 0;
        });
        if (saved > 0) log.info({ saved, ms: Date.now() - saving }, `${sessions(saved)} saved for the next start`);
      }
      offs.splice(0).forEach((off) => off());
      router?.stop();
      router = undefined;
      topicMetrics = undefined;
    },
    reloadKeys: ['mqtt.shared_subscription_strategy', 'broker.shared_subscription_strategy', 'node.dist_net_ticktime', 'topic_metrics'],
    reconfigure(next) {
      config = next;
      topicMetrics?.reconfigure(next.topic_metrics.map((t) => t.topic));
    },
    router: () => router,
    topicMetrics: () => topicMetrics,
  };
}
