// Mesh formation: N real daemons (bin/emqx start) on 127.0.96.x with static discovery, all
// seeds listing all nodes. Measured from the first `emqx start` to the moment every member's
// `cluster status` shows all N running. Starts run 8 at a time (each `emqx start` waits for its
// node to be ready), so the figure includes booting N Node.js processes on this machine.
// Reference in the same run: N bare Erlang/OTP nodes (no EMQX) started at once on 127.0.0.1,
// each pinging one seed, until every node's nodes() lists all others (global's full mesh).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
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

const ERLANG = 'Erlang/OTP nodes: ping one seed, global full mesh';

/** ms from spawning `size` erl nodes until each printed that it sees all the others. */
async function erlangFormation(size: number): Promise<number> {
  const epmdPort = 15_000 + Math.floor(Math.random() * 1000);
  // All on 127.0.0.1 (epmd hands out the ports; it listens on at most 16 addresses).
  const env = { ...process.env, ERL_EPMD_PORT: String(epmdPort), ERL_EPMD_ADDRESS: '127.0.0.1' };
  const procs: ChildProcess[] = [spawn('epmd', ['-port', String(epmdPort)], { env, stdio: 'ignore' })];
  try {
    await new Promise((r) => setTimeout(r, 300));
    const seed = 'e1@127.0.0.1';
    const t0 = performance.now();
    const formed = Array.from({ length: size }, (_, i) => {
      const code = [
        `Seed = '${seed}', N = ${size},`,
        `Ping = fun P() -> case net_adm:ping(Seed) of pong -> ok; pang -> timer:sleep(20), P() end end,`,
        `node() =/= Seed andalso Ping(),`,
        `Wait = fun W() -> case length(nodes()) >= N - 1 of true -> io:format("formed~n"); false -> timer:sleep(10), W() end end,`,
        `Wait(), timer:sleep(infinity).`,
      ].join(' ');
      // Distribution listens on the node's loopback address only.
      const child = spawn('erl', ['-noshell', '-name', `e${i + 1}@127.0.0.1`, '-setcookie', 'formbench', '-kernel', 'inet_dist_use_interface', '{127,0,0,1}', '-eval', code], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let errText = '';
      child.stderr!.on('data', (d: Buffer) => (errText = (errText + d.toString()).slice(-300)));
      procs.push(child);
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`erl e${i + 1} did not see all ${size} nodes within 60 s`)), 60_000);
        createInterface({ input: child.stdout! }).on('line', (l) => {
          if (l.trim() === 'formed') {
            clearTimeout(timer);
            resolve();
          }
        });
        child.once('exit', (c) => reject(new Error(`erl e${i + 1} exited (${c}): ${errText.trim()}`)));
      });
    });
    await Promise.all(formed);
    return performance.now() - t0;
  } catch (e) {
    process.stderr.write(`formation: Erlang reference failed: ${(e as Error).message}\n`);
    throw e;
  } finally {
    for (const p of procs) p.kill('SIGKILL');
  }
}

export async function run({ quick }: { quick: boolean }): Promise<BenchSection[]> {
  const rows: BenchRow[] = [];
  for (const size of quick ? [8] : [16, 32]) {
    const r = await formation(size);
    const erl = await erlangFormation(size).catch(() => null);
    rows.push({ name: `mesh formation, ${size} nodes: first start → every member sees all ${size} running`, unit: 'ms', ours: r.formedMs, reference: erl, referenceName: ERLANG, higherIsBetter: false });
    rows.push({ name: `  of which: all ${size} daemons started (8 at a time)`, unit: 'ms', ours: r.bootMs });
  }
  return [{ title: 'Cluster formation (static discovery, real daemons)', rows }];
}
