import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginLock } from '../../src/api/auth/login-lock.js';

const s = { maxAttempts: 3, intervalMs: 60_000, lockMs: 600_000 };

test('a name is locked at its max-th failure within the interval, for the lock duration; older failures and a success clear', () => {
  const l = new LoginLock();
  assert.equal(l.fail('a', 0, s), false);
  assert.equal(l.fail('a', 1000, s), false);
  assert.equal(l.lockedFor('a', 1000), 0);
  assert.equal(l.fail('a', 2000, s), true);
  assert.equal(l.lockedFor('a', 2000), 600_000);
  assert.equal(l.lockedFor('a', 602_000), 0, 'unlocked after the duration');
  // Failures spread wider than the interval never lock.
  for (let i = 0; i < 10; i++) assert.equal(l.fail('b', i * 40_000, s), false);
  // A success forgets the failures so far.
  l.fail('c', 0, s);
  l.fail('c', 1, s);
  l.succeed('c');
  assert.equal(l.fail('c', 2, s), false);
});

test('memory is bounded: the least recently failing names are forgotten first', () => {
  const l = new LoginLock(100);
  l.fail('early', 0, s);
  l.fail('early', 1, s);
  for (let i = 0; i < 200; i++) l.fail(`n${i}`, 10 + i, s);
  l.fail('late', 300, s);
  l.fail('late', 301, s);
  // 'early' was pushed out by 200 newer names: its count starts again; 'late' is still tracked.
  assert.equal(l.fail('early', 400, s), false);
  assert.equal(l.fail('late', 400, s), true);
});
