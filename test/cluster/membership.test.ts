import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectableTombstones, memberNames, membersEqual, mergeMembers, parseView, pickEntry, withoutEntries, type MemberEntry, type Members } from '../../src/cluster/membership.js';

const e = (state: MemberEntry['state'], t: number, n = 'x@h', c = 0): MemberEntry => ({ state, version: { t, c, n } });

test('the newer version wins per node; tombstones beat older member entries', () => {
  const a: Members = { 'a@h': e('member', 1), 'b@h': e('member', 1) };
  const b: Members = { 'b@h': e('removed', 2), 'c@h': e('member', 3) };
  const m = mergeMembers(a, b);
  assert.deepEqual(memberNames(m), ['a@h', 'c@h']);
  assert.equal(m['b@h']!.state, 'removed');
  // A stale "member" entry arriving later does not resurrect the removed node.
  assert.equal(mergeMembers(m, { 'b@h': e('member', 1) })['b@h']!.state, 'removed');
});

test('equal versions resolve to removal whatever the order', () => {
  assert.equal(pickEntry(e('member', 5), e('removed', 5)).state, 'removed');
  assert.equal(pickEntry(e('removed', 5), e('member', 5)).state, 'removed');
});

test('a forced removal beats a leave of the same version, in either order, and survives parsing', () => {
  const forced: MemberEntry = { ...e('removed', 5), forced: true };
  assert.equal(pickEntry(e('removed', 5), forced), forced);
  assert.equal(pickEntry(forced, e('removed', 5)), forced);
  assert.ok(!membersEqual({ 'a@h': forced }, { 'a@h': e('removed', 5) }));
  const v = parseView(JSON.parse(JSON.stringify({ clusterId: 'c', members: { 'a@h': forced, 'b@h': e('removed', 1) } })), 'test');
  assert.equal(v.members['a@h']!.forced, true);
  assert.equal(v.members['b@h']!.forced, undefined);
  assert.throws(() => parseView({ clusterId: 'c', members: { 'a@h': { ...forced, forced: 'yes' } } }, 'state file'), /state file: bad membership entry for 'a@h'/);
});

function rnd(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function randomMembers(r: () => number): Members {
  const out: Record<string, MemberEntry> = {};
  for (let i = 0; i < 6; i++) {
    if (r() < 0.6) {
      const entry = e(r() < 0.3 ? 'removed' : 'member', Math.floor(r() * 5), `n${Math.floor(r() * 3)}@h`, Math.floor(r() * 2));
      out[`n${i}@h`] = entry.state === 'removed' && r() < 0.5 ? { ...entry, forced: true } : entry;
    }
  }
  return out;
}

test('merge is commutative, associative and idempotent (randomized)', () => {
  const r = rnd(42);
  for (let i = 0; i < 500; i++) {
    const a = randomMembers(r);
    const b = randomMembers(r);
    const c = randomMembers(r);
    assert.ok(membersEqual(mergeMembers(a, b), mergeMembers(b, a)), 'commutative');
    assert.ok(membersEqual(mergeMembers(mergeMembers(a, b), c), mergeMembers(a, mergeMembers(b, c))), 'associative');
    assert.ok(membersEqual(mergeMembers(a, a), mergeMembers(a, {})), 'idempotent');
  }
});

test('random pairwise gossip converges every replica to the merge of all (randomized)', () => {
  const r = rnd(7);
  for (let round = 0; round < 50; round++) {
    const replicas = Array.from({ length: 5 }, () => randomMembers(r));
    const all = replicas.reduce((x, y) => mergeMembers(x, y), {} as Members);
    // Gossip along random pairs until a full sweep changes nothing (bounded).
    for (let step = 0; step < 500; step++) {
      const i = Math.floor(r() * 5);
      const j = Math.floor(r() * 5);
      const m = mergeMembers(replicas[i]!, replicas[j]!);
      replicas[i] = m;
      replicas[j] = m;
    }
    for (const rep of replicas) assert.ok(membersEqual(rep, all));
  }
});

test('parseView names what is wrong', () => {
  assert.throws(() => parseView(null, 'state.json'), /state.json: membership view is not an object/);
  assert.throws(() => parseView({ clusterId: 'c', members: { 'a@h': { state: 'zombie', version: { t: 1, c: 0, n: 'a' } } } }, 'w'), /bad membership entry for 'a@h'/);
  const v = parseView({ clusterId: 'c', members: { 'b@h': e('member', 1), 'a@h': e('removed', 2) } }, 'w');
  assert.deepEqual(Object.keys(v.members), ['a@h', 'b@h']);
});

test('a leave tombstone is collectable once old enough and held by every other member; a forced one never', () => {
  const left = e('removed', 100);
  const forced: MemberEntry = { ...e('removed', 100), forced: true };
  const view: Members = { 'a@h': e('member', 1), 'b@h': e('member', 1), 'c@h': left, 'd@h': forced };
  const heard: Record<string, Members> = { 'b@h': { 'c@h': left, 'd@h': forced } };
  const collect = (now: number, from: Record<string, Members>): string[] => collectableTombstones(view, 'a@h', (m) => from[m], now, 50).collect;
  assert.deepEqual(collect(149, heard), [], 'too young');
  assert.deepEqual(collect(150, heard), ['c@h']);
  assert.deepEqual(collect(150, {}), [], 'b has not been heard from');
  assert.deepEqual(collect(150, { 'b@h': {} }), ['c@h'], 'b has no entry for c: it cannot bring it back');
  assert.deepEqual(collectableTombstones(view, 'a@h', () => undefined, 150, 50).waitingOn, ['b@h']);
  assert.deepEqual(collect(150, { 'b@h': { 'c@h': e('member', 50) } }), [], 'b holds an older entry');
  assert.deepEqual(collect(150, { 'b@h': { 'c@h': e('member', 120) } }), ['c@h'], 'b holds a newer entry: nothing to bring back');
  assert.deepEqual(Object.keys(withoutEntries(view, ['c@h'])), ['a@h', 'b@h', 'd@h']);
});
