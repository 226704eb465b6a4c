// The pure parts of handing sessions off a stopping node: where each goes (the owner its client
// id will have among the members that stay, as a claim computes it) and how the messages are cut
// into calls a link carries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bySize, evacuationPlan } from '../../src/router/evacuation.js';
import { fnv1a } from '../../src/broker/shared-strategy.js';
import type { EvacuatedSession } from '../../src/broker/session.js';
import type { Delivery } from '../../src/mqtt/port.js';

test('each session goes to the owner of its client id among the members that stay, whatever order they are listed in', () => {
  const ids = Array.from({ length: 1000 }, (_, i) => `dev-${i}`);
  const staying = ['n3@h', 'n1@h', 'n4@h'];
  const plan = evacuationPlan(ids, staying);
  const sorted = [...staying].sort();
  assert.deepEqual([...plan.keys()].sort(), sorted, 'every member that stays gets some');
  let total = 0;
  for (const [to, list] of plan) {
    total += list.length;
    for (const id of list) assert.equal(to, sorted[fnv1a(id) % sorted.length]);
    assert.ok(list.length > 200, `${to}: ${list.length} of 1000`);
  }
  assert.equal(total, ids.length);
  assert.deepEqual(evacuationPlan(ids, ['n4@h', 'n3@h', 'n1@h']), plan);
  assert.equal(evacuationPlan(ids, []).size, 0);
});

test('messages go in calls of bounded size; a session larger than the bound goes alone', () => {
  const session = (payloads: number[]): EvacuatedSession => ({
    state: {
      createdAt: 0,
      subscriptions: [],
      inflight: [],
      queue: payloads.map((n) => ({ msg: { payload: Buffer.alloc(n) } }) as unknown as Delivery),
      awaiting: [],
      delivered: 0,
      dropped: 0,
    },
  });
  const items: Array<[string, EvacuatedSession | null]> = [
    ['a', session([400, 400])],
    ['b', null],
    ['c', session([5000])],
    ['d', session([100])],
    ['e', session([100])],
  ];
  const runs = bySize(items, 2000);
  assert.deepEqual(
    runs.map((r) => r.map(([id]) => id)),
    [['a', 'b'], ['c'], ['d', 'e']],
  );
  assert.deepEqual(bySize([], 10), []);
});
