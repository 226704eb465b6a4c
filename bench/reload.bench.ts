// Config directory watcher: how long after a save the node notices it (write → onChange), for
// each kind of save, and what the content hash costs. The debounce (200 ms by default) is the
// floor of every latency: what is above it is the watcher's own overhead.
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { hashFiles, watchConfigDir } from '../src/daemon/config-watcher.js';
import { percentile, type BenchRow, type BenchSection } from './types.js';

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
  return [{ title: 'Config directory watcher', rows }];
}
