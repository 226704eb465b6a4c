import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, type NodeInfo, type RoundView } from '../../src/discovery/autocluster-decide.js';

const on = (startedAt: number): NodeInfo => ({ startedAt, discovery: true });
const view = (over: Partial<RoundView>): RoundView => ({
  self: 'n2@127.0.0.1',
  selfStartedAt: 200,
  members: ['n2@127.0.0.1'],
  discovered: [],
  probes: new Map(),
  ...over,
});

test('nobody else out there: stay, but alone is never stable (the others may not have registered yet)', () => {
  const d = decide(view({ discovered: ['n2@127.0.0.1'] }));
  assert.deepEqual(d, { kind: 'stay', stable: false, unreachable: [], reason: 'no other live node discovered' });
});

test('join the oldest live node', () => {
  const d = decide(view({
    discovered: ['n1@127.0.0.1', 'n2@127.0.0.1', 'n3@127.0.0.1'],
    probes: new Map([['n1@127.0.0.1', on(300)], ['n3@127.0.0.1', on(100)]]),
  }));
  assert.equal(d.kind, 'join');
  assert.equal(d.kind === 'join' && d.target, 'n3@127.0.0.1');
});

test('the oldest stays and waits for the others (not stable until they are in)', () => {
  const d = decide(view({ selfStartedAt: 50, discovered: ['n1@127.0.0.1'], probes: new Map([['n1@127.0.0.1', on(300)]]) }));
  assert.deepEqual(d, { kind: 'stay', stable: false, unreachable: [], reason: 'this node is the oldest; the others join it' });
  const after = decide(view({ selfStartedAt: 50, members: ['n1@127.0.0.1', 'n2@127.0.0.1'], discovered: ['n1@127.0.0.1'], probes: new Map([['n1@127.0.0.1', on(300)]]) }));
  assert.equal(after.kind === 'stay' && after.stable, true);
});

test('same boot time: the smaller name is the older, so two nodes never join each other', () => {
  const a = decide(view({ self: 'a@127.0.0.1', selfStartedAt: 100, members: ['a@127.0.0.1'], discovered: ['b@127.0.0.1'], probes: new Map([['b@127.0.0.1', on(100)]]) }));
  const b = decide(view({ self: 'b@127.0.0.1', selfStartedAt: 100, members: ['b@127.0.0.1'], discovered: ['a@127.0.0.1'], probes: new Map([['a@127.0.0.1', on(100)]]) }));
  assert.equal(a.kind, 'stay');
  assert.deepEqual(b.kind === 'join' && b.target, 'a@127.0.0.1');
});

test('already in the oldest node\'s cluster: stay', () => {
  const d = decide(view({
    members: ['n1@127.0.0.1', 'n2@127.0.0.1', 'n3@127.0.0.1'],
    discovered: ['n1@127.0.0.1', 'n2@127.0.0.1', 'n3@127.0.0.1'],
    probes: new Map([['n1@127.0.0.1', on(10)], ['n3@127.0.0.1', on(300)]]),
  }));
  assert.deepEqual(d, { kind: 'stay', stable: true, unreachable: [], reason: 'already in the cluster of the oldest node n1@127.0.0.1' });
});

test('unreachable nodes are never targets and keep the round unstable', () => {
  const d = decide(view({ discovered: ['n0@127.0.0.1'], probes: new Map([['n0@127.0.0.1', undefined]]) }));
  assert.deepEqual(d, { kind: 'stay', stable: false, unreachable: ['n0@127.0.0.1'], reason: 'no other live node discovered' });
});

test('a node with discovery off (left manually, singleton) is not a target and not waited for', () => {
  const d = decide(view({ members: ['n2@127.0.0.1', 'n3@127.0.0.1'], discovered: ['n0@127.0.0.1'], probes: new Map([['n0@127.0.0.1', { startedAt: 1, discovery: false }]]) }));
  assert.equal(d.kind, 'stay');
  assert.equal(d.kind === 'stay' && d.stable, true);
});

test('in another cluster than the oldest: join it (the join leaves the old cluster properly)', () => {
  const d = decide(view({
    members: ['n2@127.0.0.1', 'n3@127.0.0.1'],
    discovered: ['n1@127.0.0.1', 'n3@127.0.0.1'],
    probes: new Map([['n1@127.0.0.1', on(5)], ['n3@127.0.0.1', on(7)]]),
  }));
  assert.deepEqual(d.kind === 'join' && d.target, 'n1@127.0.0.1');
});

test('duplicates in the discovered list do not matter', () => {
  const d = decide(view({ discovered: ['n1@127.0.0.1', 'n1@127.0.0.1'], probes: new Map([['n1@127.0.0.1', on(1)]]) }));
  assert.deepEqual(d.kind === 'join' && d.target, 'n1@127.0.0.1');
});
