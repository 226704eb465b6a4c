import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareHlc, HlcClock, maxHlc } from '../../src/base/hlc.js';

test('timestamps from one clock strictly increase even when wall time stands still or goes back', () => {
  let wall = 1000;
  const c = new HlcClock('a@h', () => wall);
  const a = c.now();
  const b = c.now();
  wall = 900;
  const d = c.now();
  assert.ok(compareHlc(a, b) < 0);
  assert.ok(compareHlc(b, d) < 0);
  assert.equal(d.t, 1000);
});

test('observing a remote timestamp makes the next local one sort after it', () => {
  const slow = new HlcClock('slow@h', () => 10);
  const remote = { t: 5000, c: 7, n: 'fast@h' };
  slow.observe(remote);
  const next = slow.now();
  assert.ok(compareHlc(next, remote) > 0);
  assert.equal(next.n, 'slow@h');
});

test('node name breaks ties so the order is total', () => {
  const x = { t: 1, c: 0, n: 'a@h' };
  const y = { t: 1, c: 0, n: 'b@h' };
  assert.ok(compareHlc(x, y) < 0);
  assert.equal(maxHlc(x, y), y);
  assert.equal(compareHlc(x, { ...x }), 0);
});
