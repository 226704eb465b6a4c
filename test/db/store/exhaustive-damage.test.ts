// Every single-byte flip of every store file is refused, and every truncation of the log yields
// exactly the batches that are complete: no damage is ever served silently.
import assert from 'node:assert/strict';
import { cpSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Store, StoreCorruptError } from '../../../src/db/store/index.js';
import { rec, tempDir } from './fixtures.js';

/** A closed store with a snapshot (2 records), a log of 3 batches on top, and a state document. */
async function sample(t: TestContext): Promise<string> {
  const dir = tempDir(t);
  const s = await Store.open(dir);
  await s.write([rec('t', 'a', 1), rec('t', 'b', { x: [1, 2] })]);
  await s.compact();
  await s.write([rec('t', 'c', 'three')]);
  await s.write([rec('u', 'd', 4), { table: 't', key: 'a', value: undefined, deleted: true, meta: 9 }]);
  await s.write([rec('t', 'e', 5)]);
  await s.writeState('view', { n: 1 });
  await s.close();
  return dir;
}

async function openResult(dir: string): Promise<{ ok: true; keys: string[] } | { ok: false; err: unknown }> {
  try {
    const s = await Store.open(dir);
    const keys = [...s.entries()].map((r) => `${r.table}/${r.key}${r.deleted ? '(x)' : ''}`).sort();
    await s.close();
    return { ok: true, keys };
  } catch (err) {
    return { ok: false, err };
  }
}

test('every single-byte flip in the manifest, the snapshot and the log is refused with StoreCorruptError naming the file', async (t) => {
  const pristine = await sample(t);
  const work = tempDir(t);
  const files = readdirSync(pristine).filter((f) => f === 'MANIFEST' || f.endsWith('.snap') || f.endsWith('.wal'));
  assert.equal(files.length, 3, files.join(' '));
  let flips = 0;
  for (const f of files) {
    const good = readFileSync(join(pristine, f));
    for (let i = 0; i < good.length; i++) {
      cpSync(pristine, work, { recursive: true });
      const bad = Buffer.from(good);
      bad[i] = bad[i]! ^ (1 << i % 8);
      writeFileSync(join(work, f), bad);
      const r = await openResult(work);
      assert.ok(!r.ok && r.err instanceof StoreCorruptError && r.err.file === join(work, f), `flip of byte ${i} of ${f} was not refused: ${r.ok ? r.keys.join(',') : String(r.err)}`);
      flips++;
    }
  }
  t.diagnostic(`${flips} flips, all refused`);
});

test('every single-byte flip in a state document makes readState refuse it', async (t) => {
  const dir = await sample(t);
  const file = join(dir, 'view.state');
  const good = readFileSync(file);
  const s = await Store.open(dir);
  t.after(() => s.close());
  for (let i = 0; i < good.length; i++) {
    const bad = Buffer.from(good);
    bad[i] = bad[i]! ^ 0x01;
    writeFileSync(file, bad);
    await assert.rejects(s.readState('view'), (e: unknown) => e instanceof StoreCorruptError && e.file === file, `flip of byte ${i}`);
  }
});

test('every truncation of the newest log recovers exactly the complete batches before the cut', async (t) => {
  const pristine = await sample(t);
  const work = tempDir(t);
  const log = readdirSync(pristine).find((f) => f.endsWith('.wal'))!;
  const good = readFileSync(join(pristine, log));
  const ends: number[] = [];
  for (let at = 8; at < good.length; at += 12 + good.readUInt32LE(at)) ends.push(at + 12 + good.readUInt32LE(at));
  const after = [
    ['t/a', 't/b'],
    ['t/a', 't/b', 't/c'],
    ['t/a(x)', 't/b', 't/c', 'u/d'],
  ];
  for (let n = 0; n < good.length; n++) {
    cpSync(pristine, work, { recursive: true });
    writeFileSync(join(work, log), good.subarray(0, n));
    const r = await openResult(work);
    const complete = ends.filter((e) => e <= n).length;
    assert.ok(r.ok, `truncation to ${n} bytes was refused: ${r.ok ? '' : String(r.err)}`);
    assert.deepEqual(r.keys, after[complete], `truncation to ${n} bytes`);
  }
});
