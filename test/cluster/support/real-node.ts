// A cluster node in this process over the real link layer (TCP on its own loopback address)
// and the real storage engine: for protocol tests that need real sockets but not processes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createDist, type Dist } from '../../../src/link/index.js';
import { Store } from '../../../src/db/store/index.js';
import { startClusterParts, type ClusterParts } from '../../../src/cluster/parts.js';
import { silentLog } from '../../../src/base/log.js';
import type { ClusterConfig, DistTlsOptions } from '../../../src/config/types.js';
import { clusterConfig } from '../../helpers/cluster-config.js';

export interface RealNode {
  readonly name: string;
  readonly dir: string;
  readonly dist: Dist;
  readonly store: Store;
  readonly parts: ClusterParts;
  /** Graceful stop; keeps the directory. */
  stop(): Promise<void>;
}

export function tempRoot(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function startRealNode(
  name: string,
  opts: { basePort: number; root: string; cookie?: string; config?: Partial<ClusterConfig>; netTicktimeMs?: number; tls?: DistTlsOptions },
): Promise<RealNode> {
  const dist = createDist({
    self: name,
    cookie: opts.cookie ?? 'bench-cookie',
    clusterName: 'emqxcl',
    protoDist: opts.tls ? 'inet_tls' : 'inet_tcp',
    ...(opts.tls ? { tls: opts.tls } : {}),
    basePort: opts.basePort,
    netTicktimeMs: opts.netTicktimeMs ?? 4000,
    logger: pino({ level: 'silent' }),
    meshGossip: false,
    reconnectMaxMs: 500,
  });
  await dist.start();
  const dir = join(opts.root, name);
  const store = await Store.open(dir);
  const parts = await startClusterParts({ dist, store, log: silentLog, config: clusterConfig(opts.config), callTimeoutMs: 5000 });
  let stopped = false;
  return {
    name,
    dir,
    dist,
    store,
    parts,
    async stop() {
      if (stopped) return;
      stopped = true;
      await parts.stop();
      await dist.stop();
      await store.close();
    },
  };
}
