// Storage engine throughput: single and batched writes (every one fsynced before it resolves),
// group commit under concurrency, a full replace of ~100 MB as a join does, and reopening it.
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, type StoredRecord } from '../src/db/store/index.js';
import type { BenchRow, BenchSection } from './types.js';

const rec = (i: number, value: unknown): StoredRecord => ({ table: 'bench', key: `k${i}`, value, meta: { t: i, c: 0, n: 'b@127.0.0.1' } });

/** Runs `step` until `ms` have passed; returns operations per second. */
async function rate(ms: number, step: (i: number) => Promise<number>): Promise<number> {
  const start = performance.now();
  let ops = 0;
  for (let i = 0; performance.now() - start < ms; i++) ops += await step(i);
  return ops / ((performance.now() - start) / 1000);
}

/** The disk's own limit for durable single writes: append + fdatasync of the same size, no store. */
async function rawFsyncRate(dir: string, ms: number, bytes: number): Promise<number> {
  const fh = await open(join(dir, 'raw'), 'w');
  const buf = Buffer.alloc(bytes, 7);
  let pos = 0;
  try {
    return await rate(ms, async () => {
      await fh.write(buf, 0, buf.length, pos);
      pos += buf.length;
      await fh.datasync();
      return 1;
    });
  } finally {
    await fh.close();
  }
}

export async function run({ quick }: { quick: boolean }): Promise<BenchSection[]> {
  const base = mkdtempSync(join(tmpdir(), 'store-bench-'));
  const ms = quick ? 500 : 2000;
  const small = { user: 'alice', hash: 'x'.repeat(60) };
  const rows: BenchRow[] = [];
  try {
    // The reference first, on the same disk, with a frame's worth of bytes per write.
    const reference = await rawFsyncRate(base, ms, 120);
    const s = await Store.open(join(base, 'w'));
    const single = await rate(ms, async (i) => (await s.write([rec(i, small)]), 1));
    rows.push({
      name: 'single-record writes, one at a time',
      unit: 'records/s',
      ours: single,
      reference,
      referenceName: 'raw write+fdatasync',
      higherIsBetter: true,
    });
    const inFlight = 64;
    const concurrent = await rate(ms, async (i) => {
      await Promise.all(Array.from({ length: inFlight }, (_, j) => s.write([rec(i * inFlight + j, small)])));
      return inFlight;
    });
    rows.push({ name: `single-record writes, ${inFlight} in flight (group commit)`, unit: 'records/s', ours: concurrent, higherIsBetter: true });
    const batch = 100;
    const batched = await rate(ms, async (i) => (await s.write(Array.from({ length: batch }, (_, j) => rec(i * batch + j, small))), batch));
    rows.push({ name: `batched writes, ${batch} records per batch`, unit: 'records/s', ours: batched, higherIsBetter: true });
    const { batches, logBytes } = s.stats();
    await s.close();
    const tr = performance.now();
    const replayed = await Store.open(join(base, 'w'), { compactLogBytes: Number.MAX_SAFE_INTEGER });
    const replayS = (performance.now() - tr) / 1000;
    const records = replayed.size();
    await replayed.close();
    rows.push({
      name: `reopen replaying the log written above (${batches} batches, ${(logBytes / 1e6).toFixed(1)} MB, ${records} records)`,
      unit: 'batches/s',
      ours: batches / replayS,
      higherIsBetter: true,
    });

    const n = quick ? 10_000 : 100_000;
    const value = { blob: 'v'.repeat(1000), n: 0 };
    const r = await Store.open(join(base, 'r'));
    const t0 = performance.now();
    const h = r.beginReplace();
    for (let i = 0; i < n; i += 1000) await h.add(Array.from({ length: 1000 }, (_, j) => rec(i + j, { ...value, n: i + j })));
    await h.commit();
    const replaceS = (performance.now() - t0) / 1000;
    const bytes = r.stats().snapshotBytes;
    await r.close();
    rows.push({ name: `replace of ${n} records (${(bytes / 1e6).toFixed(0)} MB), staged and committed`, unit: 'records/s', ours: n / replaceS, higherIsBetter: true, note: `${(bytes / 1e6 / replaceS).toFixed(0)} MB/s` });
    const t1 = performance.now();
    const again = await Store.open(join(base, 'r'));
    const openS = (performance.now() - t1) / 1000;
    await again.close();
    rows.push({ name: `reopen (recovery) of ${n} records`, unit: 's', ours: openS, higherIsBetter: false });
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  return [{ title: 'Storage engine (fsync on every acknowledged write)', rows }];
}
