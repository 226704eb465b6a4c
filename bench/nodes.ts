// Real daemons for the formation and memory benchmarks: started with bin/emqx (through
// test/helpers/launcher.ts, each in its own sandbox), observed through their control sockets.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ctlRequest } from '../src/ctl/client.js';
import { allocDistBase, createTestNode, type TestNode } from '../test/helpers/launcher.js';

/** A static-discovery cluster of `names` (not started): every node lists all of them as seeds. */
export async function staticCluster(names: readonly string[]): Promise<TestNode[]> {
  const base = await allocDistBase(names);
  const seeds = names.map((n) => `"${n}"`).join(', ');
  const conf = `cluster.discovery_strategy = static\ncluster.static.seeds = [${seeds}]\n`;
  return Promise.all(names.map((name) => createTestNode(undefined, { name, distBasePort: base, conf })));
}

/** `cluster status --json` over the control socket (no CLI process per poll). */
export async function runningNodes(n: TestNode): Promise<string[]> {
  const r = await ctlRequest(join(n.dataDir, 'emqx_ctl.sock'), { kind: 'C', args: ['cluster', 'status', '--json'] }, { replyTimeoutMs: 10_000 });
  if (r.code !== 0) return [];
  return (JSON.parse(r.output.toString('utf8')) as { running_nodes: string[] }).running_nodes;
}

/** Resolves once every node reports all `nodes` running; bounded by timeoutMs. */
export async function untilFormed(nodes: readonly TestNode[], timeoutMs: number): Promise<void> {
  const want = nodes.length;
  const done = new Set<TestNode>();
  const deadline = Date.now() + timeoutMs;
  while (done.size < want) {
    if (Date.now() > deadline) throw new Error(`only ${done.size} of ${want} nodes saw all ${want} running within ${timeoutMs} ms`);
    await Promise.all(
      nodes.filter((n) => !done.has(n)).map(async (n) => {
        const running = await runningNodes(n).catch(() => []);
        if (running.length === want) done.add(n);
      }),
    );
    if (done.size < want) await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts at most `parallel` daemons at a time (bin/emqx start returns once the node is ready). */
export async function startAll(nodes: readonly TestNode[], parallel: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, nodes.length) }, async () => {
      while (next < nodes.length) await nodes[next++]!.startOk({ timeoutMs: 120_000 });
    }),
  );
}

export async function cleanupAll(nodes: readonly TestNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.cleanup().catch(() => undefined)));
}

/** VmRSS of a process in MiB. */
export function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}
