import { test } from 'node:test';
import assert from 'node:assert/strict';
import { digest, wanted, wins, type DbRecord } from '../../src/db/record.js';

const rec = (key: string, t: number, value: unknown, deleted = false, n = 'a@h'): DbRecord => ({
  table: 'admins',
  key,
  value,
  ...(deleted ? { deleted: true } : {}),
  meta: { hlc: { t, c: 0, n } },
});

test('last writer wins by HLC; a tombstone at equal version wins', () => {
  assert.ok(wins(rec('k', 2, 'new'), rec('k', 1, 'old')));
  assert.ok(!wins(rec('k', 1, 'old'), rec('k', 2, 'new')));
  assert.ok(wins(rec('k', 1, null, true), rec('k', 1, 'v')));
  assert.ok(!wins(rec('k', 1, 'v'), rec('k', 1, null, true)));
  assert.ok(wins(rec('k', 0, 'x'), undefined));
  // Deletion with an older version does not erase a newer write.
  assert.ok(!wins(rec('k', 1, null, true), rec('k', 3, 'v')));
});

test('replicas applying the same records in any order end identical (randomized)', () => {
  const all: DbRecord[] = [];
  for (let i = 0; i < 200; i++) all.push(rec(`k${i % 13}`, Math.floor(i / 3), i, i % 7 === 0, `n${i % 3}@h`));
  const apply = (order: DbRecord[]): Map<string, DbRecord> => {
    const m = new Map<string, DbRecord>();
    for (const r of order) if (wins(r, m.get(r.key))) m.set(r.key, r);
    return m;
  };
  const ref = apply(all);
  for (let s = 0; s < 20; s++) {
    const shuffled = [...all].sort(() => Math.random() - 0.5);
    assert.deepEqual(apply(shuffled), ref);
  }
});

test('digests are order-independent and change with any version', () => {
  const a = [rec('x', 1, 1), rec('y', 2, 2), rec('z', 3, 3)];
  assert.deepEqual(digest(a), digest([...a].reverse()));
  const b = [rec('x', 1, 1), rec('y', 5, 2), rec('z', 3, 3)];
  const da = digest(a);
  const db = digest(b);
  assert.equal(da.filter((d, i) => d !== db[i]).length, 1);
});

test('wanted lists what the remote has newer or we lack', () => {
  const local = new Map([['x', rec('x', 5, 'ours')], ['y', rec('y', 1, 'old')]]);
  const w = wanted(
    [
      { table: 'admins', key: 'x', hlc: { t: 4, c: 0, n: 'a@h' }, deleted: false },
      { table: 'admins', key: 'y', hlc: { t: 2, c: 0, n: 'a@h' }, deleted: false },
      { table: 'admins', key: 'z', hlc: { t: 1, c: 0, n: 'a@h' }, deleted: true },
    ],
    (_t, k) => local.get(k),
  );
  assert.deepEqual(w.map((v) => v.key), ['y', 'z']);
});
