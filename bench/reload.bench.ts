// Config directory watcher: how long after a save the node notices it (write → onChange), for
// each kind of save, and what the content hash costs. The debounce (200 ms by default) is the
// floor of every latency: what is above it is the watcher's own overhead.
// Then with real daemons (bin/emqx): save → change applied on a running node, and the time N
// nodes on `static` take from a cold start to one cluster. Node addresses 127.0.92.x.
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { hashFiles, watchConfigDir } from '../src/daemon/config-watcher.js';
import { percentile, type BenchRow, type BenchSection } from './types.js';
import { allocDistBase, createTestNode, type TestNode } from '../test/helpers/launcher.js';
import { untilFormed } from './nodes.js';

const DEBOUNCE_MS = 200;
const silent = { debug() {}, warn() {}, error() {} };

type Save = (dir: string, i: number) => Promise<void>;

const saves: Array<[string, Save]> = [
  ['in-place write', (dir, i) => writeFile(join(dir, 'emqx.conf'), `cluster.name = c${i}\n`)],
  ['atomic save (temp + rename)', async (dir, i) => {
    await writeFile(join(dir, '.emqx.conf.tmp'), `cluster.name = c${i}\n`);
    await rename(join(dir, '.emqx.conf.tmp'), join(dir, 'emqx.conf'));
  }],
  ['Kubernetes ..data symlink swap', async (dir, i) => {
    const ts = join(dir, `..ts_${i}`);
    await mkdir(ts);
    await writeFile(join(ts, 'emqx.conf'), `cluster.name = c${i}\n`);
    await symlink(`..ts_${i}`, join(dir, '..data_tmp'));
    await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  }],
];

async function latency(save: Save, symlinked: boolean, runs: number): Promise<number[]> {
  const dir = await mkdtemp(join(tmpdir(), 'reload-bench-'));
  try {
    if (symlinked) {
      await mkdir(join(dir, '..ts_init'));
      await writeFile(join(dir, '..ts_init', 'emqx.conf'), 'cluster.name = init\n');
      await symlink('..ts_init', join(dir, '..data'));
      await symlink('..data/emqx.conf', join(dir, 'emqx.conf'));
    } else {
      await writeFile(join(dir, 'emqx.conf'), 'cluster.name = init\n');
    }
    let notify: (() => void) | undefined;
    const w = await watchConfigDir(dir, () => [join(dir, 'emqx.conf')], () => notify?.(), silent, { debounceMs: DEBOUNCE_MS });
    const out: number[] = [];
    try {
      for (let i = 0; i < runs; i++) {
        const seen = new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('change not seen within 5 s')), 5000);
          notify = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        const t0 = performance.now();
        await save(dir, i);
        await seen;
        out.push(performance.now() - t0);
      }
    } finally {
      await w.close();
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Times (ms since epoch) of the node's `config reloaded` log lines. */
async function reloadTimes(n: TestNode): Promise<number[]> {
  const text = await readFile(join(n.logDir, 'emqx.log'), 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.includes('"msg":"config reloaded"')).map((l) => Date.parse((JSON.parse(l) as { time: string }).time));
}

/** Atomic saves flipping cluster.autoheal on a running daemon; save → applied, from its log's timestamps. */
async function appliedLatency(runs: number): Promise<number[]> {
  const name = 'rb1@127.0.92.1';
  const n = await createTestNode(undefined, { name, conf: 'cluster.autoheal = true' });
  try {
    await n.startOk();
    const out: number[] = [];
    for (let i = 0; i < runs; i++) {
      const before = (await reloadTimes(n)).length;
      const value = i % 2 === 0 ? 'false' : 'true';
      const t0 = Date.now();
      await writeFile(`${n.confFile}.tmp`, `cluster.autoheal = ${value}\n`);
      await rename(`${n.confFile}.tmp`, n.confFile);
      const end = Date.now() + 5000;
      let times = await reloadTimes(n);
      while (times.length === before && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 20));
        times = await reloadTimes(n);
      }
      if (times.length === before) throw new Error('change not applied within 5 s');
      const shown = (await n.ctl(['conf', 'show', 'cluster.autoheal'])).stdout;
      if (shown !== `cluster.autoheal = ${value}\n`) throw new Error(`conf show after the reload: ${shown}`);
      out.push(times[times.length - 1]! - t0);
    }
    return out;
  } finally {
    await n.cleanup();
  }
}

/** N daemons on `static`, all started at once: `emqx start` → every node lists all N running. */
async function formation(count: number): Promise<number> {
  const names = Array.from({ length: count }, (_, i) => `fb${i + 1}@127.0.92.${i + 10}`);
  const base = await allocDistBase(names);
  const conf = `node.dist_net_ticktime = 5s\ncluster.discovery_strategy = static\ncluster.static.seeds = [${names.map((x) => `"${x}"`).join(', ')}]`;
  const nodes = await Promise.all(names.map((name) => createTestNode(undefined, { name, distBasePort: base, conf })));
  try {
    const t0 = performance.now();
    await Promise.all(nodes.map((n) => n.startOk()));
    // `--json`: the text form is broken over lines past 80 columns, as Erlang's ~p does.
    await untilFormed(nodes, 120_000);
    return performance.now() - t0;
  } finally {
    await Promise.all(nodes.map((n) => n.cleanup()));
  }
}

export async function run({ quick }: { quick: boolean }): Promise<BenchSection[]> {
  const runs = quick ? 3 : 10;
  const rows: BenchRow[] = [];
  for (const [name, save] of saves) {
    const sample = await latency(save, name.includes('symlink'), runs);
    rows.push({ name: `save → reload triggered, ${name} (p50 of ${runs})`, unit: 'ms', ours: percentile(sample, 50), higherIsBetter: false, note: `includes the ${DEBOUNCE_MS} ms debounce` });
  }
  const dir = await mkdtemp(join(tmpdir(), 'reload-bench-'));
  try {
    const files = [join(dir, 'emqx.conf'), join(dir, 'ssl_dist.conf')];
    await writeFile(files[0]!, 'x = 1\n'.repeat(400));
    await writeFile(files[1]!, '[].\n'.repeat(50));
    const n = quick ? 200 : 2000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await hashFiles(files);
    rows.push({ name: 'content hash of emqx.conf + ssl_dist.conf (2.6 KB)', unit: 'µs', ours: ((performance.now() - t0) * 1000) / n });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const live: BenchRow[] = [];
  const applied = await appliedLatency(quick ? 5 : 20);
  for (const p of [50, 99]) {
    live.push({ name: `save → change applied on a running node (p${p} of ${applied.length})`, unit: 'ms', ours: percentile(applied, p), higherIsBetter: false, note: `atomic save of emqx.conf; includes the ${DEBOUNCE_MS} ms debounce` });
  }
  for (const count of quick ? [3] : [3, 8, 16]) {
    live.push({ name: `${count} nodes on static, cold start → one cluster`, unit: 'ms', ours: await formation(count), higherIsBetter: false, note: 'all started at once; includes process start' });
  }
  return [{ title: 'Config directory watcher', rows }, { title: 'Hot reload and cluster formation (real daemons)', rows: live }];
}
