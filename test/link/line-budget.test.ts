import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineBudget } from '../../src/link/line-budget.js';

test('a budget admits its lines per window, counts the rest by reason, and starts over in the next window', () => {
  const b = new LineBudget(2, 1000);
  assert.deepEqual([b.admit(0, 'timeout'), b.admit(10, 'timeout'), b.admit(20, 'timeout'), b.admit(30, 'authentication_failed')], [true, true, false, false]);
  assert.equal(b.windowEnd(), 1000);
  assert.deepEqual(b.takeHeld(), { count: 2, reasons: { timeout: 1, authentication_failed: 1 } });
  assert.equal(b.takeHeld(), undefined, 'taken once');
  assert.equal(b.admit(999, 'timeout'), false);
  assert.equal(b.admit(1000, 'timeout'), true, 'a new window');
  assert.equal(b.windowEnd(), 2000);
  assert.deepEqual(b.takeHeld(), { count: 1, reasons: { timeout: 1 } });
});
