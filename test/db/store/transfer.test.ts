// Records in transfer form (the store's own frames) and staging them as they are: what a join
// streams from the seed and writes into the joiner's staged snapshot without re-encoding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeRecordFrames, encodeRecordFrame } from '../../../src/db/store/transfer.js';
import { normalize, type StoredRecord } from '../../../src/db/store/record.js';
import { Store, StoreRecordError } from '../../../src/db/store/index.js';

const rec = (key: string, value: unknown, deleted = false): StoredRecord =>
  normalize({ table: 'retained', key, value, ...(deleted ? { deleted: true } : {}), meta: { hlc: { t: 1, c: 0, n: 'a@h' } } });

const runOf = (...frames: StoredRecord[][]): Buffer => Buffer.concat(frames.flatMap((f) => encodeRecordFrame(f)));

test('frames round-trip: several back to back, Buffers stay Buffers, tombstones carry no value', () => {
  const a = [rec('t/1', { payload: Buffer.from('hello'), qos: 1 }), rec('t/2', null, true)];
  const b = [rec('t/3', { payload: Buffer.alloc(70_000, 7), qos: 0, props: { contentType: 'x' } })];
  const back = decodeRecordFrames(runOf(a, b));
  assert.deepEqual(back, [...a, ...b]);
  assert.ok(Buffer.isBuffer((back[0]!.value as { payload: unknown }).payload));
  assert.equal(back[1]!.value, undefined);
  assert.deepEqual(decodeRecordFrames(Buffer.alloc(0)), []);
});

test('every single-byte flip and every cut inside a frame is refused, naming the offset', () => {
  const bytes = runOf([rec('a', { payload: Buffer.from('one') })], [rec('b', 'two'), rec('c', 3)]);
  const firstFrame = encodeRecordFrame([rec('a', { payload: Buffer.from('one') })]).reduce((n, p) => n + p.length, 0);
  for (let i = 0; i < bytes.length; i++) {
    const bad = Buffer.from(bytes);
    bad[i] = bad[i]! ^ 0x10;
    assert.throws(() => decodeRecordFrames(bad), (e: unknown) => e instanceof StoreRecordError && /offset \d+/.test(e.message), `flip at ${i}`);
  }
  for (let cut = 1; cut < bytes.length; cut++) {
    if (cut === firstFrame) {
      // A cut between frames leaves whole frames: fewer records, which the join's count check catches.
      assert.equal(decodeRecordFrames(bytes.subarray(0, cut)).length, 1);
      continue;
    }
    assert.throws(() => decodeRecordFrames(bytes.subarray(0, cut)), StoreRecordError, `cut at ${cut}`);
  }
});

test('a store stages transferred frames as they are: committed, reopened, identical', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'transfer-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const s = await Store.open(dir);
  await s.write([rec('old', 1)]);
  const all = Array.from({ length: 3000 }, (_, i) => rec(`k${i}`, { payload: Buffer.alloc(i % 5000, i % 256), i }, i % 97 === 0));
  const txn = s.beginReplace();
  // Transferred frames and plain adds may be mixed; later records for a key win.
  const staged = await txn.addEncoded(Buffer.concat(s.encodeTransfer(all.slice(0, 1000))));
  assert.equal(staged.length, 1000);
  await txn.add(all.slice(1000, 2000));
  await txn.addEncoded(Buffer.concat([...s.encodeTransfer(all.slice(2000, 2500)), ...s.encodeTransfer(all.slice(2500))]));
  await assert.rejects(txn.addEncoded(Buffer.from('not frames at all')), StoreRecordError);
  assert.equal(s.get('retained', 'old')?.value, 1, 'nothing is visible before commit');
  await txn.commit();
  assert.equal(s.get('retained', 'old'), undefined);
  await s.close();
  const again = await Store.open(dir);
  t.after(() => again.close());
  assert.equal(again.size(), 3000);
  for (const r of all) assert.deepEqual(again.get(r.table, r.key), r);
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
});
