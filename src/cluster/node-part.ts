// The membership + database part of a running node: opens the store in the node's mnesia
// directory, starts the replicated tables and membership over the node's Dist, and registers the
// `cluster`, `admins` and `data` commands. The daemon adds it right after the dist part.
import type { Logger } from 'pino';
import type { NodePart } from '../base/part.js';
import type { Config } from '../config/types.js';
import type { CtlCommand } from '../ctl/types.js';
import type { Dist } from '../link/types.js';
import { Store } from '../db/store/index.js';
import { dataCommand } from '../db/backup/data-ctl.js';
import { startClusterParts, type ClusterParts } from './parts.js';

export interface ClusterPartHost {
  readonly config: Config;
  readonly logger: Logger;
  /** `<data_dir>/mnesia/<node.name>/` */
  readonly mnesiaDir: string;
  /** For the META of `data export`. */
  readonly version: string;
  /** The started link layer (the dist part comes first in boot order). */
  dist(): Dist;
  register(cmd: CtlCommand): void;
}

export interface ClusterPart extends NodePart {
  readonly name: 'cluster';
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Available after start(). */
  parts(): ClusterParts | undefined;
  /** Hot reload: applies cluster.autoheal, cluster.autoclean and the discovery strategy live. */
  reconfigure(config: Config): void;
}

/** What membership applies live (the strategy itself is the discovery part's). */
export const MEMBERSHIP_KEYS = ['cluster.autoheal', 'cluster.autoclean'];

export function clusterPart(host: ClusterPartHost): ClusterPart {
  let store: Store | undefined;
  let parts: ClusterParts | undefined;
  const log = host.logger.child({ part: 'cluster' });
  return {
    name: 'cluster',
    async start() {
      // A damaged database refuses to open (StoreCorruptError names the file): the node then
      // refuses to start rather than serve or replicate damaged data.
      store = await Store.open(host.mnesiaDir, { logger: host.logger.child({ part: 'store' }) });
      try {
        parts = await startClusterParts({ dist: host.dist(), store, log, config: host.config.cluster });
      } catch (err) {
        await store.close().catch(() => undefined);
        store = undefined;
        // parseView and the record check say what is wrong; add where, and what to do.
        if (err instanceof Error && (err.message.startsWith('membership state of') || err.name === 'DbCorruptError')) {
          throw new Error(
            `the database in ${host.mnesiaDir} is not usable: ${err.message}. ` +
              'The node refuses to serve it. Move that directory aside and start again: if the cluster still lists this node, it rejoins and copies the data.',
            { cause: err },
          );
        }
        throw err;
      }
      for (const c of parts.commands) host.register(c);
      const p = parts;
      const { node, paths } = host.config;
      host.register(dataCommand({ db: p.db, node: node.name, version: host.version, dataDir: node.data_dir, confFile: paths.conf_file, busy: () => p.cluster.busy() }));
    },
    async stop() {
      await parts?.stop();
      await store?.close();
      parts = undefined;
      store = undefined;
    },
    parts: () => parts,
    reloadKeys: MEMBERSHIP_KEYS,
    reconfigure: (config) => parts?.reconfigure(config.cluster),
  };
}
