// Wires membership, the replicated tables and their ctl commands on top of a started Dist and an
// opened store; the daemon calls this once and stops the result before stopping Dist.
import type { ClusterConfig } from '../config/types.js';
import type { CtlCommand } from '../ctl/types.js';
import type { Dist } from '../link/types.js';
import { Admins } from '../db/admins.js';
import { adminsCommand } from '../db/admins-ctl.js';
import { Db } from '../db/db.js';
import type { RecordStore } from '../db/storage.js';
import { Cluster, type ClusterSettings } from './cluster.js';
import { clusterCommand } from './ctl.js';
import { HlcClock } from '../base/hlc.js';
import type { Log } from '../base/log.js';

export interface ClusterParts {
  readonly cluster: Cluster;
  readonly db: Db;
  readonly admins: Admins;
  readonly commands: readonly CtlCommand[];
  /** Applies a reloaded cluster config (autoheal, autoclean, discovery strategy). */
  reconfigure(cfg: ClusterConfig): void;
  stop(): Promise<void>;
}

export interface ClusterPartsOptions {
  readonly dist: Dist;
  readonly store: RecordStore;
  readonly log: Log;
  readonly config: ClusterConfig;
  readonly callTimeoutMs?: number;
  readonly autocleanCheckMs?: number;
  /** Tests: how long a leave's tombstone is kept at least, and how often collection runs. */
  readonly tombstoneRetentionMs?: number;
  readonly tombstoneGcMs?: number;
}

export function settingsOf(cfg: ClusterConfig): ClusterSettings {
  return { discoveryStrategy: cfg.discovery_strategy, autoheal: cfg.autoheal, autoclean: cfg.autoclean };
}

export async function startClusterParts(o: ClusterPartsOptions): Promise<ClusterParts> {
  const clock = new HlcClock(o.dist.self);
  // The database asks membership who is running; membership is created after the database opens.
  const ref: { cluster?: Cluster } = {};
  const db = new Db({ dist: o.dist, store: o.store, clock, log: o.log, runningPeers: () => ref.cluster?.runningPeers() ?? [] });
  await db.open();
  const cluster = new Cluster({
    dist: o.dist,
    state: o.store,
    clock,
    log: o.log,
    settings: settingsOf(o.config),
    ...(o.callTimeoutMs ? { callTimeoutMs: o.callTimeoutMs } : {}),
    ...(o.autocleanCheckMs ? { autocleanCheckMs: o.autocleanCheckMs } : {}),
    ...(o.tombstoneRetentionMs !== undefined ? { tombstoneRetentionMs: o.tombstoneRetentionMs } : {}),
    ...(o.tombstoneGcMs ? { tombstoneGcMs: o.tombstoneGcMs } : {}),
  });
  ref.cluster = cluster;
  await cluster.start(db);
  const c = cluster;
  const admins = new Admins(db);
  return {
    cluster: c,
    db,
    admins,
    commands: [clusterCommand(c), adminsCommand(admins, () => c.busy())],
    reconfigure: (cfg) => c.reconfigure(settingsOf(cfg)),
    async stop() {
      // Finish acknowledged-in-progress writes before the links go away.
      await db.drain();
      c.stop();
      db.close();
    },
  };
}
