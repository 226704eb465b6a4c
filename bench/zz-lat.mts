// ad-hoc: cross-node vs one-node latency at 2,000 msg/s, N interleaved runs
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const root = process.env.ROOT ?? '/work/main';
const { allocDistBase, createTestNode } = await import('../test/helpers/launcher.js');
const work = mkdtempSync(join(tmpdir(), 'lat-'));
const bin = join(work, 'loadgen');
spawnSync('cc', ['-O2', '-o', bin, join(root, 'bench/mqtt/loadgen.c')]);
function gen(args: string[]): Promise<any> {
  return new Promise((resolve) => {
    const child = spawn(bin, [...args, '--id', `x${Math.random()}`], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.once('close', () => { try { resolve(JSON.parse(out)); } catch { resolve(undefined); } });
  });
}
const names = ['lt1@127.0.0.1', 'lt2@127.0.0.2', 'lt3@127.0.0.3'];
const base = await allocDistBase(names);
const nodes: any[] = [];
const N = Number(process.env.N ?? 7);
const secs = process.env.SECS ?? '5';
try {
  for (const name of names) nodes.push(await createTestNode(undefined, { name, distBasePort: base, mqtt: true }));
  for (const n of nodes) await n.startOk({ timeoutMs: 60_000 });
  for (const n of nodes.slice(1)) await n.ctl(['cluster', 'join', names[0]]);
  const single = ['--port', String(nodes[0].mqttPort), '--seconds', secs, '--mode', 'latency', '--clients', '10', '--rate', '2000'];
  const cross = [...single, '--sub-host', '127.0.0.1', '--sub-port', String(nodes[1].mqttPort)];
  const c: number[][] = [], s: number[][] = [];
  for (let i = 0; i < N; i++) {
    const a = await gen(cross); const b = await gen(single);
    c.push([a.latency_us.p50, a.latency_us.p99]); s.push([b.latency_us.p50, b.latency_us.p99]);
    console.log(`run ${i}: cross ${a.latency_us.p50.toFixed(0)}/${a.latency_us.p99.toFixed(0)}  single ${b.latency_us.p50.toFixed(0)}/${b.latency_us.p99.toFixed(0)}`);
  }
  const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const cp50 = med(c.map((x) => x[0]!)), cp99 = med(c.map((x) => x[1]!)), sp50 = med(s.map((x) => x[0]!)), sp99 = med(s.map((x) => x[1]!));
  console.log(`median cross ${cp50.toFixed(0)}/${cp99.toFixed(0)} single ${sp50.toFixed(0)}/${sp99.toFixed(0)} ratio p99 ${(cp99 / sp99).toFixed(2)} p50 ${(cp50 / sp50).toFixed(2)}`);
} finally {
  for (const n of nodes) await n.cleanup();
}
