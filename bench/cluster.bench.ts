// Cluster benchmarks: join wall time into a 3-node cluster (empty and loaded database), status
// latency with a member down, replicated write throughput, and the loopback TCP ceiling measured
// in the same run so the join transfer speed can be read as a fraction of it.
// Nodes run in this process over real loopback sockets and real stores in a temporary directory.
import { randomInt } from 'node:crypto';
import { createServer, connect } from 'node:net';
import { percentile, type BenchRow, type BenchSection } from './types.js';
import { startRealNode, tempRoot, type RealNode } from '../test/cluster/support/real-node.js';

async function tcpCeilingMBps(totalMB: number): Promise<number> {
  const chunk = Buffer.alloc(1 << 20, 7);
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.78.1', r));
  const port = (server.address() as { port: number }).port;
  const received = new Promise<number>((resolve) => {
    server.on('connection', (s) => {
      let n = 0;
      const t0 = performance.now();
      s.on('data', (d: Buffer) => {
        n += d.length;
        if (n >= totalMB << 20) {
          resolve(totalMB / ((performance.now() - t0) / 1000));
          s.destroy();
        }
      });
    });
  });
  const c = connect(port, '127.0.78.1');
  await new Promise((r) => c.on('connect', r));
  for (let i = 0; i < totalMB; i++) if (!c.write(chunk)) await new Promise((r) => c.once('drain', r));
  const mbps = await received;
  c.destroy();
  server.close();
  return mbps;
}

async function formCluster(names: string[], basePort: number, root: string): Promise<RealNode[]> {
  const nodes: RealNode[] = [];
  for (const n of names) nodes.push(await startRealNode(n, { basePort, root }));
  for (const n of nodes.slice(1)) await n.parts.cluster.join(names[0]!);
  return nodes;
}

async function timedJoin(joiner: RealNode, target: string): Promise<number> {
  const t0 = performance.now();
  await joiner.parts.cluster.join(target);
  return performance.now() - t0;
}

export async function run({ quick }: { quick: boolean }): Promise<BenchSection[]> {
  const root = tempRoot('cluster-bench-');
  const basePort = 20_000 + randomInt(0, 300) * 100;
  const all: RealNode[] = [];
  const rows: BenchRow[] = [];
  try {
    const ceiling = await tcpCeilingMBps(quick ? 256 : 1024);
    rows.push({ name: 'loopback TCP ceiling (one connection)', unit: 'MB/s', ours: ceiling, higherIsBetter: true, note: 'raw socket, same run' });

    const cl = await formCluster(['b1@127.0.78.2', 'b2@127.0.78.3', 'b3@127.0.78.4'], basePort, root.dir);
    all.push(...cl);
    const [a, b, c] = cl as [RealNode, RealNode, RealNode];

    const j0 = await startRealNode('b4@127.0.78.5', { basePort, root: root.dir });
    all.push(j0);
    rows.push({ name: 'cluster join into 3 nodes, empty database', unit: 'ms', ours: await timedJoin(j0, a.name) });
    await j0.parts.cluster.leave();

    // Replicated writes: 3 running members, each write fsynced on all three before it returns.
    const writes = quick ? 3000 : 20000;
    const conc = 64;
    const payload = 'x'.repeat(100);
    let next = 0;
    const lat: number[] = [];
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: conc }, async () => {
        while (next < writes) {
          const i = next++;
          const s = performance.now();
          await b.parts.db.write('bench', `w${i}`, payload);
          lat.push(performance.now() - s);
        }
      }),
    );
    const wps = writes / ((performance.now() - t0) / 1000);
    rows.push({ name: `replicated writes, 3 members, ${conc} in flight, 100 B`, unit: 'writes/s', ours: wps, higherIsBetter: true });
    rows.push({ name: 'replicated write latency p50 (under that load)', unit: 'ms', ours: percentile(lat, 50) });
    rows.push({ name: 'replicated write latency p99 (under that load)', unit: 'ms', ours: percentile(lat, 99) });

    // Loaded database: ~1 KB per record.
    const records = quick ? 20_000 : 100_000;
    const value = 'v'.repeat(1000);
    for (let i = 0; i < records; i += 1000) {
      await a.parts.db.writeMany(Array.from({ length: Math.min(1000, records - i) }, (_, k) => ({ table: 'load', key: `k${i + k}`, value })));
    }
    const j1 = await startRealNode('b5@127.0.78.6', { basePort, root: root.dir });
    all.push(j1);
    const ms = await timedJoin(j1, a.name);
    const mb = (records * 1040) / (1 << 20);
    rows.push({ name: `cluster join into 3 nodes, ${records} records (~${mb.toFixed(0)} MB)`, unit: 'ms', ours: ms });
    const speed = mb / (ms / 1000);
    rows.push({ name: 'join transfer speed', unit: 'MB/s', ours: speed, reference: ceiling, referenceName: 'loopback TCP ceiling', higherIsBetter: true, note: `${((speed / ceiling) * 100).toFixed(1)}% of the ceiling` });

    // Status with one member down must not wait on it.
    await c.stop();
    const deadline = Date.now() + 10_000;
    while (!a.parts.cluster.status().stopped.includes(c.name) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const cmd = a.parts.commands.find((x) => x.name === 'cluster')!;
    const st: number[] = [];
    for (let i = 0; i < (quick ? 200 : 1000); i++) {
      const s = performance.now();
      await cmd.run(['status']);
      st.push(performance.now() - s);
    }
    rows.push({ name: 'cluster status with one member down, p50', unit: 'ms', ours: percentile(st, 50) });
    rows.push({ name: 'cluster status with one member down, p99', unit: 'ms', ours: percentile(st, 99) });
  } finally {
    for (const n of all) await n.stop().catch(() => {});
    root.remove();
  }
  return [{ title: 'Cluster membership and database', rows }];
}
