// Several cluster nodes in one process over the in-memory link layer, for protocol tests.
import type { ClusterConfig } from '../../../src/config/types.js';
import { startClusterParts, type ClusterParts } from '../../../src/cluster/parts.js';
import { silentLog, type Log } from '../../../src/base/log.js';
import { clusterConfig } from '../../helpers/cluster-config.js';
import { MemoryNet, type MemoryDist } from '../../helpers/memory-dist.js';
import { MemoryStore } from '../../db/support/memory-store.js';

export interface SimNode {
  readonly name: string;
  readonly dist: MemoryDist;
  readonly store: MemoryStore;
  readonly parts: ClusterParts;
}

export class Sim {
  readonly net = new MemoryNet();
  readonly nodes = new Map<string, SimNode>();

  async start(
    name: string,
    opts: { config?: Partial<ClusterConfig>; store?: MemoryStore; cookie?: string; tombstoneRetentionMs?: number; tombstoneGcMs?: number; log?: Log } = {},
  ): Promise<SimNode> {
    const dist = this.net.create(name, opts.cookie);
    await dist.start();
    const store = opts.store ?? new MemoryStore();
    const parts = await startClusterParts({ dist, store, log: opts.log ?? silentLog, config: clusterConfig(opts.config),
      callTimeoutMs: 1000,
      autocleanCheckMs: 20,
      ...(opts.tombstoneRetentionMs !== undefined ? { tombstoneRetentionMs: opts.tombstoneRetentionMs } : {}),
      ...(opts.tombstoneGcMs !== undefined ? { tombstoneGcMs: opts.tombstoneGcMs } : {}),
    });
    const node = { name, dist, store, parts };
    this.nodes.set(name, node);
    return node;
  }

  get(name: string): SimNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  /** Stops abruptly; the store survives for a restart. */
  async kill(name: string): Promise<MemoryStore> {
    const n = this.get(name);
    n.parts.cluster.stop();
    n.parts.db.close();
    await n.dist.stop();
    this.nodes.delete(name);
    return n.store;
  }

  async stopAll(): Promise<void> {
    for (const name of [...this.nodes.keys()]) await this.kill(name);
  }

  async run(name: string, ...args: string[]): Promise<{ code: number; output: string; stderr?: string }> {
    const [cmd, ...rest] = args;
    const c = this.get(name).parts.commands.find((x) => x.name === cmd);
    if (!c) throw new Error(`no command ${cmd}`);
    return c.run(rest);
  }

  status(name: string): { running: string[]; stopped: string[] } {
    return this.get(name).parts.cluster.status();
  }
}

/** Polls a condition every 10 ms until it holds, failing after `ms` with `what`. */
export async function until(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
