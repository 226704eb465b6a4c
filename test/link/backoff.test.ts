import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay } from '../../src/link/backoff.js';

test('backoff doubles, stays within [exp/2, exp] and is capped', () => {
  assert.equal(backoffDelay(0, 100, 3000, () => 0), 50);
  assert.equal(backoffDelay(0, 100, 3000, () => 1), 100);
  assert.equal(backoffDelay(3, 100, 3000, () => 1), 800);
  assert.equal(backoffDelay(50, 100, 3000, () => 1), 3000);
  assert.equal(backoffDelay(50, 100, 3000, () => 0), 1500);
});
