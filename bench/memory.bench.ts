// Memory per node: VmRSS (/proc/<pid>/status) of an idle daemon (bin/emqx start, alone; without
// listeners, and with the MQTT tcp listener and the dashboard on), and
// of each member of an idle 5-node cluster (static discovery), on 127.0.94.x. References from
// the same run: an idle bare Node.js process (the runtime alone) and an idle Erlang VM
// (`erl -noshell`, no distribution, no applications: the floor under an EMQX node, not EMQX).
import { spawn, type ChildProcess } from 'node:child_process';
import type { BenchRow, BenchSection } from './types.js';
import { cleanupAll, rssMiB, staticCluster, startAll, untilFormed } from './nodes.js';
import { createTestNode } from '../test/helpers/launcher.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** RSS of a bare runtime process after `idleMs`; the process is killed by PID afterwards. */
async function idleRss(cmd: string, args: string[], idleMs: number): Promise<number | null> {
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, { stdio: 'ignore' });
  } catch {
    return null;
  }
  const failed = new Promise<null>((r) => child.once('error', () => r(null)));
  try {
    const ok = await Promise.race([sleep(idleMs).then(() => true), failed]);
    if (!ok || child.pid === undefined || child.exitCode !== null) return null;
    return rssMiB(child.pid);
  } finally {
    child.kill('SIGKILL');
  }
}

export async function run({ quick }: { quick: boolean }): Promise<BenchSection[]> {
  const idleMs = quick ? 2000 : 10_000;
  const rows: BenchRow[] = [];
  const node = process.execPath;
  const bareNode = await idleRss(node, ['-e', 'setInterval(() => {}, 1000)'], idleMs);
  const erl = await idleRss('erl', ['-noshell', '-eval', 'timer:sleep(infinity).'], idleMs);

  /** RSS of one daemon started alone, after idleMs. */
  const idleNode = async (name: string, what: string, spec: { mqtt?: boolean; dashboard?: boolean }): Promise<void> => {
    const n = await createTestNode(undefined, { name, ...spec });
    try {
      await n.startOk();
      await sleep(idleMs);
      rows.push({ name: `idle node, alone, ${what} (RSS after ${idleMs / 1000} s)`, unit: 'MiB', ours: rssMiB(n.pid!), reference: erl, referenceName: 'idle Erlang VM, erl -noshell', higherIsBetter: false });
    } finally {
      await n.cleanup();
    }
  };
  await idleNode('m1@127.0.94.1', 'no MQTT or dashboard listener', {});
  // As shipped: the MQTT tcp listener and the dashboard on (the launcher binds them to loopback).
  await idleNode('m7@127.0.94.7', 'MQTT listener and dashboard on', { mqtt: true, dashboard: true });

  const members = await staticCluster([2, 3, 4, 5, 6].map((i) => `m${i}@127.0.94.${i}`));
  try {
    await startAll(members, 5);
    await untilFormed(members, 60_000);
    await sleep(idleMs);
    const rss = members.map((m) => rssMiB(m.pid!));
    const mean = rss.reduce((x, y) => x + y, 0) / rss.length;
    rows.push({ name: 'idle member of a 5-node cluster, mean', unit: 'MiB', ours: mean, reference: erl, referenceName: 'idle Erlang VM, erl -noshell', higherIsBetter: false });
    rows.push({ name: 'idle member of a 5-node cluster, largest', unit: 'MiB', ours: Math.max(...rss), higherIsBetter: false });
  } finally {
    await cleanupAll(members);
  }
  rows.push({ name: 'bare Node.js process, idle (the runtime alone)', unit: 'MiB', ours: bareNode, higherIsBetter: false });
  return [{ title: 'Memory per node (RSS)', rows }];
}
