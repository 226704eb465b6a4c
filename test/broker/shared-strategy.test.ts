import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fnv1a, isSharedStrategy, SHARED_STRATEGIES, SharedPicker, type SharedStrategy } from '../../src/broker/shared-strategy.js';
import { prng as seeded } from '../helpers/prng.js';

const KEY = 'g/sensors/+';
const ctx = (publisher: string, topic = 'sensors/1') => ({ publisher, topic });

function tally(picks: (string | undefined)[]): Map<string | undefined, number> {
  const m = new Map<string | undefined, number>();
  for (const p of picks) m.set(p, (m.get(p) ?? 0) + 1);
  return m;
}

test('the strategies are EMQX’s seven', () => {
  assert.deepEqual([...SHARED_STRATEGIES].sort(), ['hash_clientid', 'hash_topic', 'local', 'random', 'round_robin', 'round_robin_per_group', 'sticky']);
  assert.equal(isSharedStrategy('sticky'), true);
  assert.equal(isSharedStrategy('hash'), false, "EMQX 4's 'hash' is hash_clientid now");
});

/** Random always 0: a new round-robin group starts at the first member. */
const first = (): number => 0;

test('no members: no pick, for every strategy', () => {
  const p = new SharedPicker();
  for (const s of SHARED_STRATEGIES) assert.equal(p.pick(s, KEY, [], ctx('p')), undefined, s);
});

test('round robin is fair across publishers: 3 interleaved publishers, each member gets exactly n/k', () => {
  for (const strategy of ['round_robin', 'round_robin_per_group'] as const) {
    const p = new SharedPicker(seeded(11));
    const members = ['m1', 'm2', 'm3', 'm4'];
    const picks: (string | undefined)[] = [];
    for (let i = 0; i < 1200; i++) {
      // Publishers in an irregular interleaving: a per-publisher counter would not come out even.
      const pub = ['p1', 'p2', 'p3'][(i * 7 + (i >> 3)) % 3]!;
      picks.push(p.pick(strategy, KEY, members, ctx(pub)));
    }
    assert.deepEqual([...tally(picks).entries()].sort(), members.map((m) => [m, 300]), strategy);
    // In turn: every window of k consecutive picks covers every member once.
    for (let i = 0; i + 4 <= picks.length; i += 4) assert.equal(new Set(picks.slice(i, i + 4)).size, 4);
  }
});

test('round robin: publishers sending one message each still rotate the group (emqx#8454)', () => {
  const p = new SharedPicker(first);
  const picks = Array.from({ length: 9 }, (_, i) => p.pick('round_robin', KEY, ['a', 'b', 'c'], ctx(`client-${i}`)));
  assert.deepEqual(picks, ['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c']);
});

test('round robin: groups count separately; membership changes keep the rotation going', () => {
  const p = new SharedPicker(first);
  assert.equal(p.pick('round_robin', 'g1/t', ['a', 'b', 'c'], ctx('p')), 'a');
  assert.equal(p.pick('round_robin', 'g1/t', ['a', 'b', 'c'], ctx('p')), 'b');
  assert.equal(p.pick('round_robin', 'g2/t', ['a', 'b', 'c'], ctx('p')), 'a');
  assert.equal(p.pick('round_robin', 'g1/t', ['a', 'b', 'c'], ctx('p')), 'c');
  assert.equal(p.pick('round_robin', 'g1/t', ['a', 'b', 'c'], ctx('p')), 'a');
  assert.equal(p.pick('round_robin', 'g1/t', ['a', 'b', 'c'], ctx('p')), 'b');
  // 'c' left: the next index (2) wraps onto the two members left.
  const after = Array.from({ length: 4 }, () => p.pick('round_robin', 'g1/t', ['a', 'b'], ctx('p')));
  assert.deepEqual(after, ['a', 'b', 'a', 'b']);
  assert.equal(p.stateCount, 2);
  p.forget('g1/t');
  assert.equal(p.stateCount, 1);
  assert.equal(p.pick('round_robin', 'g1/t', ['a', 'b', 'c'], ctx('p')), 'a', 'a forgotten group starts over');
});

test('round robin: new groups start at a random member', () => {
  const p = new SharedPicker(seeded(12));
  const firsts = tally(Array.from({ length: 300 }, (_, i) => p.pick('round_robin', `g/${i}`, ['a', 'b', 'c'], ctx('p'))));
  for (const m of ['a', 'b', 'c']) assert.ok(firsts.get(m)! > 60, `${m} began ${firsts.get(m)} of 300 groups`);
});

test('round robin with exclusions skips the excluded members and keeps its turn', () => {
  const p = new SharedPicker(first);
  const members = ['a', 'b', 'c'];
  assert.equal(p.pickExcept('round_robin', KEY, members, ctx('p'), new Set(['a'])), 'b');
  assert.equal(p.pick('round_robin', KEY, members, ctx('p')), 'c');
  assert.equal(p.pickExcept('round_robin', KEY, members, ctx('p'), new Set(['a', 'b'])), 'c');
  assert.equal(p.pickExcept('round_robin', KEY, members, ctx('p'), new Set(members)), undefined);
  assert.equal(p.pick('round_robin', KEY, members, ctx('p')), 'a');
});

test('sticky keeps its member, and moves on when it leaves or fails a message', () => {
  const p = new SharedPicker(seeded(1));
  let members = ['a', 'b', 'c', 'd'];
  const first = p.pick('sticky', KEY, members, ctx('p1'))!;
  assert.ok(members.includes(first));
  for (let i = 0; i < 50; i++) assert.equal(p.pick('sticky', KEY, members, ctx(`p${i % 3}`)), first);
  members = members.filter((m) => m !== first);
  const second = p.pick('sticky', KEY, members, ctx('p1'))!;
  assert.ok(members.includes(second));
  for (let i = 0; i < 50; i++) assert.equal(p.pick('sticky', KEY, members, ctx('p2')), second);
  // A member that refused a message: the re-dispatch goes elsewhere and sticks there.
  const third = p.pickExcept('sticky', KEY, members, ctx('p1'), new Set([second]))!;
  assert.notEqual(third, second);
  assert.ok(members.includes(third));
  assert.equal(p.pick('sticky', KEY, members, ctx('p1')), third);
  assert.equal(p.pickExcept('sticky', KEY, members, ctx('p1'), new Set(members)), undefined);
  assert.equal(p.pick('sticky', KEY, members, ctx('p1')), third, 'a failed re-dispatch leaves the choice as it was');
});

test('sticky picks are spread across groups at random', () => {
  const p = new SharedPicker(seeded(2));
  const members = ['a', 'b', 'c'];
  const picks = Array.from({ length: 300 }, (_, i) => p.pick('sticky', `g${i}/t`, members, ctx('p')));
  for (const m of members) assert.ok((tally(picks).get(m) ?? 0) > 60, `${m} was chosen too rarely`);
});

test('random is roughly uniform and honours exclusions', () => {
  const p = new SharedPicker(seeded(3));
  const members = ['a', 'b', 'c', 'd', 'e'];
  const t = tally(Array.from({ length: 10_000 }, () => p.pick('random', KEY, members, ctx('p'))));
  for (const m of members) assert.ok(Math.abs(t.get(m)! - 2000) < 200, `${m}: ${t.get(m)}`);
  const ex = tally(Array.from({ length: 3_000 }, () => p.pickExcept('random', KEY, members, ctx('p'), new Set(['a', 'c']))));
  assert.deepEqual([...ex.keys()].sort(), ['b', 'd', 'e']);
  for (const m of ['b', 'd', 'e']) assert.ok(Math.abs(ex.get(m)! - 1000) < 150, `${m}: ${ex.get(m)}`);
  assert.equal(p.pickExcept('random', KEY, members, ctx('p'), new Set(members)), undefined);
  assert.equal(p.stateCount, 0, 'random keeps no state');
});

test('local prefers members on this node, else any member', () => {
  const p = new SharedPicker(seeded(4));
  const members = ['n1:a', 'n2:b', 'n1:c', 'n3:d'];
  const onN1 = (m: string): boolean => m.startsWith('n1:');
  const t = tally(Array.from({ length: 2_000 }, () => p.pick('local', KEY, members, ctx('p'), onN1)));
  assert.deepEqual([...t.keys()].sort(), ['n1:a', 'n1:c']);
  assert.ok(Math.abs(t.get('n1:a')! - 1000) < 120);
  assert.equal(p.pickExcept('local', KEY, members, ctx('p'), new Set(['n1:a']), onN1), 'n1:c');
  const rest = tally(Array.from({ length: 300 }, () => p.pickExcept('local', KEY, members, ctx('p'), new Set(['n1:a', 'n1:c']), onN1)));
  assert.deepEqual([...rest.keys()].sort(), ['n2:b', 'n3:d'], 'no local member left: any other');
  const none = tally(Array.from({ length: 300 }, () => p.pick('local', KEY, members, ctx('p'), () => false)));
  assert.equal(none.size, 4);
  const noHint = tally(Array.from({ length: 300 }, () => p.pick('local', KEY, members, ctx('p'))));
  assert.equal(noHint.size, 4, 'without isLocal it is random');
});

test('hash strategies: stable for a key, spread across members, probing past exclusions', () => {
  const members = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  for (const [strategy, c] of [
    ['hash_clientid', (i: number) => ctx(`client-${i}`, 'same/topic')],
    ['hash_topic', (i: number) => ctx('same-client', `devices/${i}/state`)],
  ] as [SharedStrategy, (i: number) => { publisher: string; topic: string }][]) {
    const a = new SharedPicker(seeded(5));
    const b = new SharedPicker(seeded(6));
    const picks: (string | undefined)[] = [];
    for (let i = 0; i < 7_000; i++) {
      const m = a.pick(strategy, KEY, members, c(i));
      assert.equal(b.pick(strategy, 'other/key', members, c(i)), m, 'same input, same member, whatever the picker');
      assert.equal(a.pick(strategy, KEY, members, c(i)), m, 'same input, same member, every time');
      picks.push(m);
    }
    const t = tally(picks);
    for (const m of members) assert.ok(Math.abs(t.get(m)! - 1000) < 150, `${strategy}: ${m} got ${t.get(m)}`);
    const m0 = a.pick(strategy, KEY, members, c(0))!;
    const next = members[(members.indexOf(m0) + 1) % members.length];
    assert.equal(a.pickExcept(strategy, KEY, members, c(0), new Set([m0])), next);
    assert.equal(a.pickExcept(strategy, KEY, members, c(0), new Set(members)), undefined);
  }
  const p = new SharedPicker();
  assert.notEqual(p.pick('hash_clientid', KEY, members, ctx('x', 't1')), undefined);
  assert.equal(p.pick('hash_clientid', KEY, members, ctx('x', 't1')), p.pick('hash_clientid', KEY, members, ctx('x', 't2')));
});

test('fnv1a is the standard 32-bit FNV-1a', () => {
  // Published test vectors for ASCII input.
  assert.equal(fnv1a(''), 0x811c9dc5);
  assert.equal(fnv1a('a'), 0xe40c292c);
  assert.equal(fnv1a('foobar'), 0xbf9cf968);
});
