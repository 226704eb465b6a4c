// The HTTP API on a three-node cluster with one member down (killed): GET /nodes and
// GET /prometheus/stats?mode=all_nodes_aggregated latency p50/p99, which must not wait for the
// dead member's timeout on any call, and requests per second for GET /status with a few
// connections kept alive. Every request goes to 127.0.0.1; every node is stopped by PID.
// Run alone: `npx tsx bench/api.bench.ts [--quick]` (after `npm run build`).
import { Agent, request } from 'node:http';
import { percentile, type BenchRow, type BenchSection } from './types.js';
import { allocDistBase, createTestNode, type TestNode } from '../test/helpers/launcher.js';

const NAMES = ['emqx1@127.0.0.1', 'emqx2@127.0.0.1', 'emqx3@127.0.0.1'];

function get(agent: Agent, port: number, path: string, token?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers: token ? { authorization: `Bearer ${token}` } : {}, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

async function latency(agent: Agent, port: number, path: string, n: number, token?: string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const status = await get(agent, port, path, token);
    out.push(performance.now() - t0);
    if (status !== 200) throw new Error(`GET ${path}: ${status}`);
  }
  return out;
}

/** Requests per second over `ms` with `conns` keep-alive connections each looping. */
async function throughput(port: number, path: string, conns: number, ms: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: conns });
  let done = 0;
  const until = performance.now() + ms;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: conns }, async () => {
      while (performance.now() < until) {
        await get(agent, port, path);
        done++;
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  agent.destroy();
  return done / s;
}

export async function run(opts: { quick: boolean }): Promise<BenchSection[]> {
  const base = await allocDistBase(NAMES);
  const nodes: TestNode[] = [];
  try {
    for (const name of NAMES) nodes.push(await createTestNode(undefined, { name, distBasePort: base, dashboard: true }));
    for (const n of nodes) await n.startOk();
    for (const n of nodes.slice(1)) {
      const r = await n.ctl(['cluster', 'join', nodes[0]!.name]);
      if (r.code !== 0) throw new Error(`join failed: ${r.stdout}${r.stderr}`);
    }
    const port = nodes[0]!.dashboardPort!;
    const login = await fetch(`http://127.0.0.1:${port}/api/v5/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'public' }) });
    const token = ((await login.json()) as { token: string }).token;
    // One member down the hard way: killed, as a crash would.
    nodes[2]!.kill('SIGKILL');
    await nodes[2]!.waitExit();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const n = opts.quick ? 100 : 1000;
    // The first calls right after the kill are part of what is measured: none may wait for a timeout.
    const nodesMs = await latency(agent, port, '/api/v5/nodes', n, token);
    const promMs = await latency(agent, port, '/api/v5/prometheus/stats?mode=all_nodes_aggregated', n);
    agent.destroy();
    const rps = await throughput(port, '/api/v5/status', 8, opts.quick ? 2000 : 10_000);
    const rows: BenchRow[] = [
      { name: 'GET /nodes, 3 members, 1 killed: p50', unit: 'ms', ours: percentile(nodesMs, 50), rounds: { ours: nodesMs, reference: [] } },
      { name: 'GET /nodes, 3 members, 1 killed: p99', unit: 'ms', ours: percentile(nodesMs, 99), note: `max ${Math.max(...nodesMs).toFixed(1)} ms over ${n} calls` },
      { name: 'GET /prometheus/stats?mode=all_nodes_aggregated, 1 killed: p50', unit: 'ms', ours: percentile(promMs, 50) },
      { name: 'GET /prometheus/stats?mode=all_nodes_aggregated, 1 killed: p99', unit: 'ms', ours: percentile(promMs, 99), note: `max ${Math.max(...promMs).toFixed(1)} ms` },
      { name: 'GET /status, 8 keep-alive connections', unit: 'req/s', ours: Math.round(rps), higherIsBetter: true },
    ];
    return [{ title: 'HTTP API (3-node cluster, one member killed)', rows }];
  } finally {
    for (const node of nodes) await node.cleanup();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const sections = await run({ quick: process.argv.includes('--quick') });
  for (const s of sections) {
    console.log(s.title);
    for (const r of s.rows) console.log(`  ${r.name}: ${typeof r.ours === 'number' ? r.ours.toFixed(2) : r.ours} ${r.unit}${r.note ? ` (${r.note})` : ''}`);
  }
}
