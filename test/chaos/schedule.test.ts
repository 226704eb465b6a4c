import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeRng } from './prng.js';
import { FAULT_KINDS, blockedPairs, makeSchedule } from './schedule.js';

test('the same seed gives the same schedule; five faults cover every kind', () => {
  const a = makeSchedule(makeRng(42), 5);
  const b = makeSchedule(makeRng(42), 5);
  const fa = Array.from({ length: 20 }, () => a());
  assert.deepEqual(fa, Array.from({ length: 20 }, () => b()));
  assert.deepEqual(new Set(fa.slice(0, 5).map((f) => f.kind)), new Set(FAULT_KINDS));
  assert.notDeepEqual(fa, Array.from({ length: 20 }, makeSchedule(makeRng(43), 5)));
});

test('partition shapes block the right pairs', () => {
  const order = [3, 1, 4, 0, 2];
  assert.equal(blockedPairs('isolate', order).blocked.length, 4);
  assert.equal(blockedPairs('split', order).blocked.length, 6);
  // bridge: 3 reaches both sides {1,4} and {0,2}
  assert.deepEqual(blockedPairs('bridge', order).blocked, [[1, 0], [1, 2], [4, 0], [4, 2]]);
  // ring 3-1-4-0-2: each reaches its two neighbours only
  const ring = blockedPairs('ring', order).blocked.map(([x, y]) => [x, y].sort().join(''));
  assert.deepEqual(ring.sort(), ['01', '03', '12', '24', '34']);
});
