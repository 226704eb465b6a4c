// Reproduction (found by the chaos suite, seed 7, fault #1): a member removed by force-leave while
// cut off, told so when the network heals, cannot `cluster join` back at once:
//   Failed to join the cluster: {node_down,'r2@127.0.90.32'}
//   (timeout: cannot link to r2@127.0.90.32: timeout: the other link of a simultaneous dial did not come up)
// Run: npx tsx test/chaos/repro/rejoin-after-sticky-removal.ts [tries] [delay before the join, ms]
import { allocDistBase, createTestNode, type TestNode } from '../../helpers/launcher.js';
import { Partition } from '../../helpers/partition.js';

const names = ['r1@127.0.90.31', 'r2@127.0.90.32', 'r3@127.0.90.33'];
const tries = Number(process.argv[2] ?? 1);
const delayMs = Number(process.argv[3] ?? 1666);
const part = new Partition();
const nodes: TestNode[] = [];
const status = async (n: TestNode): Promise<{ running_nodes: string[]; stopped_nodes: string[] }> => JSON.parse((await n.ctl(['cluster', 'status', '--json'])).stdout) as never;
async function until(what: string, f: () => Promise<boolean>): Promise<void> {
  for (let end = Date.now() + 15_000; !(await f()); ) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
try {
  const base = await allocDistBase(names);
  for (const name of names) nodes.push(await createTestNode(undefined, { name, distBasePort: base, conf: 'cluster.discovery_strategy = manual' }));
  const [, r2, r3] = nodes as [TestNode, TestNode, TestNode];
  await part.install();
  await Promise.all(nodes.map((n) => n.startOk()));
  for (const n of [r2, r3]) console.log((await n.ctl(['cluster', 'join', names[0]!])).stdout.trim());
  for (let k = 1; k <= tries; k++) {
    await part.split(['127.0.90.33'], ['127.0.90.31', '127.0.90.32']);
    await until('r2 sees r3 down', async () => (await status(r2)).stopped_nodes.includes(names[2]!));
    console.log(`#${k} force-leave:`, (await r2.ctl(['cluster', 'force-leave', names[2]!])).stdout.trim());
    await part.heal();
    const t0 = Date.now();
    await until('r3 told it was removed', async () => { const s = await status(r3); return s.running_nodes.length === 1 && s.stopped_nodes.length === 0; });
    console.log(`#${k} r3 alone after ${Date.now() - t0} ms`);
    await new Promise((r) => setTimeout(r, delayMs));
    for (let attempt = 1; attempt <= 5; attempt++) {
      const j = await r3.ctl(['cluster', 'join', names[1]!]);
      console.log(`#${k} join attempt ${attempt} (${Math.round(j.durationMs)} ms, ${Date.now() - t0} ms after heal): exit ${j.code}: ${(j.stdout + j.stderr).trim()}`);
      if (j.code === 0) break;
    }
  }
} finally {
  await part.remove();
  if (process.env.EMQX_TEST_KEEP === '1') for (const n of nodes) console.log('kept', n.dir);
  await Promise.all(nodes.map((n) => n.cleanup()));
}
