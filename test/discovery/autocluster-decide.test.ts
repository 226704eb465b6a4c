import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, notJoinTargets, type NodeInfo, type RoundView } from '../../src/discovery/autocluster-decide.js';

const on = (startedAt: number, clusterSize = 1): NodeInfo => ({ startedAt, discovery: true, clusterSize });
const view = (over: Partial<RoundView>): RoundView => ({
  self: 'n2@127.0.0.1',
  selfStartedAt: 200,
  members: ['n2@127.0.0.1'],
  discovered: [],
  probes: new Map(),
  ...over,
});
const target = (v: RoundView): string | undefined => {
  const d = decide(v);
  return d.kind === 'join' ? d.target : undefined;
};

test('nobody else out there: stay, but alone is never stable (the others may not have registered yet)', () => {
  const d = decide(view({ discovered: ['n2@127.0.0.1'] }));
  assert.deepEqual(d, { kind: 'stay', stable: false, unreachable: [], reason: 'no other live node discovered' });
});

test('fresh nodes (all alone): join the oldest live node', () => {
  const d = decide(view({
    discovered: ['n1@127.0.0.1', 'n2@127.0.0.1', 'n3@127.0.0.1'],
    probes: new Map([['n1@127.0.0.1', on(300)], ['n3@127.0.0.1', on(100)]]),
  }));
  assert.deepEqual(d, { kind: 'join', target: 'n3@127.0.0.1', reason: 'n3@127.0.0.1 ranks first: it is the oldest live node' });
});

test('the oldest stays and waits for the others (not stable until they are in)', () => {
  const d = decide(view({ selfStartedAt: 50, discovered: ['n1@127.0.0.1'], probes: new Map([['n1@127.0.0.1', on(300)]]) }));
  assert.deepEqual(d, { kind: 'stay', stable: false, unreachable: [], reason: 'this node ranks first; the others join it' });
  const after = decide(view({ selfStartedAt: 50, members: ['n1@127.0.0.1', 'n2@127.0.0.1'], discovered: ['n1@127.0.0.1'], probes: new Map([['n1@127.0.0.1', on(300, 2)]]) }));
  assert.equal(after.kind === 'stay' && after.stable, true);
});

test('same boot time: the smaller name ranks first, so two nodes never join each other', () => {
  assert.equal(target(view({ self: 'a@127.0.0.1', selfStartedAt: 100, members: ['a@127.0.0.1'], discovered: ['b@127.0.0.1'], probes: new Map([['b@127.0.0.1', on(100)]]) })), undefined);
  assert.equal(target(view({ self: 'b@127.0.0.1', selfStartedAt: 100, members: ['b@127.0.0.1'], discovered: ['a@127.0.0.1'], probes: new Map([['a@127.0.0.1', on(100)]]) })), 'a@127.0.0.1');
});

test('a larger cluster ranks before an older node: an old node that left does not pull the cluster over', () => {
  // n1 is the oldest but alone (it left, its database is empty); n2 is in a cluster of four.
  const members = ['n2@127.0.0.1', 'n3@127.0.0.1', 'n4@127.0.0.1', 'n5@127.0.0.1'];
  const probes = new Map([['n1@127.0.0.1', on(1, 1)], ['n3@127.0.0.1', on(300, 4)], ['n4@127.0.0.1', on(400, 4)], ['n5@127.0.0.1', on(500, 4)]]);
  const inCluster = decide(view({ members, discovered: ['n1@127.0.0.1', ...members], probes }));
  assert.equal(inCluster.kind, 'stay');
  // n1 itself joins the cluster (its oldest member, n2).
  const lone = decide(view({
    self: 'n1@127.0.0.1',
    selfStartedAt: 1,
    members: ['n1@127.0.0.1'],
    discovered: ['n1@127.0.0.1', ...members],
    probes: new Map([['n2@127.0.0.1', on(200, 4)], ['n3@127.0.0.1', on(300, 4)], ['n4@127.0.0.1', on(400, 4)], ['n5@127.0.0.1', on(500, 4)]]),
  }));
  assert.deepEqual(lone, { kind: 'join', target: 'n2@127.0.0.1', reason: 'n2@127.0.0.1 ranks first: its cluster is larger (4 > 1)' });
});

test('two clusters of equal size: the one with the oldest node wins', () => {
  const d = decide(view({
    members: ['n2@127.0.0.1', 'n3@127.0.0.1'],
    discovered: ['n1@127.0.0.1', 'n3@127.0.0.1', 'n4@127.0.0.1'],
    probes: new Map([['n1@127.0.0.1', on(5, 2)], ['n3@127.0.0.1', on(7, 2)], ['n4@127.0.0.1', on(9, 2)]]),
  }));
  assert.deepEqual(d.kind === 'join' && d.target, 'n1@127.0.0.1');
});

test('already in the cluster of the best-ranked node: stay, stable', () => {
  const d = decide(view({
    members: ['n1@127.0.0.1', 'n2@127.0.0.1', 'n3@127.0.0.1'],
    discovered: ['n1@127.0.0.1', 'n2@127.0.0.1', 'n3@127.0.0.1'],
    probes: new Map([['n1@127.0.0.1', on(10, 3)], ['n3@127.0.0.1', on(300, 3)]]),
  }));
  assert.deepEqual(d, { kind: 'stay', stable: true, unreachable: [], reason: 'already in the cluster of n1@127.0.0.1, which ranks first' });
});

test('unreachable nodes are never targets and keep the round unstable', () => {
  const d = decide(view({ discovered: ['n0@127.0.0.1'], probes: new Map([['n0@127.0.0.1', undefined]]) }));
  assert.deepEqual(d, { kind: 'stay', stable: false, unreachable: ['n0@127.0.0.1'], reason: 'no other live node discovered' });
});

test('a node with discovery off (left manually, singleton) is not a target and not waited for', () => {
  const d = decide(view({ members: ['n2@127.0.0.1', 'n3@127.0.0.1'], discovered: ['n0@127.0.0.1'], probes: new Map([['n0@127.0.0.1', { startedAt: 1, discovery: false, clusterSize: 9 }]]) }));
  assert.equal(d.kind, 'stay');
  assert.equal(d.kind === 'stay' && d.stable, true);
});

test('duplicates in the discovered list do not matter', () => {
  assert.equal(target(view({ discovered: ['n1@127.0.0.1', 'n1@127.0.0.1'], probes: new Map([['n1@127.0.0.1', on(1)]]) })), 'n1@127.0.0.1');
});

test('nodes with discovery off outside this cluster are named as not join targets; members are not', () => {
  const off = (startedAt: number): NodeInfo => ({ startedAt, discovery: false, clusterSize: 1 });
  const v = view({
    members: ['n2@127.0.0.1', 'n3@127.0.0.1'],
    discovered: ['n0@127.0.0.1', 'n1@127.0.0.1', 'n3@127.0.0.1', 'n4@127.0.0.1', 'n0@127.0.0.1'],
    probes: new Map([['n0@127.0.0.1', off(1)], ['n1@127.0.0.1', on(1)], ['n3@127.0.0.1', off(1)], ['n4@127.0.0.1', undefined]]),
  });
  assert.deepEqual(notJoinTargets(v), ['n0@127.0.0.1']);
});
