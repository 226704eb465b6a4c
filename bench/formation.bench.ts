// Mesh formation: N real daemons (bin/emqx start) on 127.0.96.x with static discovery, all
// seeds listing all nodes. Measured from the first `emqx start` to the moment every member's
// `cluster status` shows all N running. Starts run 8 at a time (each `emqx start` waits for its
// node to be ready), so the figure includes booting N Node.js processes on this machine.
import type { BenchRow, BenchSection } from './types.js';
import { cleanupAll, staticCluster, startAll, untilFormed } from './nodes.js';

async function formation(size: number): Promise<{ bootMs: number; formedMs: number }> {
  const names = Array.from({ length: size }, (_, i) => `f${i + 1}@127.0.96.${i + 1}`);
  const nodes = await staticCluster(names);
  try {
    const t0 = performance.now();
    await startAll(nodes, 8);
    const bootMs = performance.now() - t0;
    await untilFormed(nodes, 180_000);
    return { bootMs, formedMs: performance.now() - t0 };
  } finally {
    await cleanupAll(nodes);
  }
}

export async function run({ quick }: { quick: boolean }): Promise<BenchSection[]> {
  const rows: BenchRow[] = [];
  for (const size of quick ? [8] : [16, 32]) {
    const r = await formation(size);
    rows.push({ name: `mesh formation, ${size} nodes: first start → every member sees all ${size} running`, unit: 'ms', ours: r.formedMs });
    rows.push({ name: `  of which: all ${size} daemons started (8 at a time)`, unit: 'ms', ours: r.bootMs });
  }
  return [{ title: 'Cluster formation (static discovery, real daemons)', rows }];
}
