import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SubscriptionIndex } from '../../src/broker/subscription-index.js';
import { matches } from '../../src/mqtt/topic.js';
import { intRng as prng, randomFilter, randomTopic } from '../helpers/random-topics.js';

function matchedFilters<V>(idx: SubscriptionIndex<V>, topic: string): string[] {
  const out: string[] = [];
  idx.match(topic, (f) => out.push(f));
  return out.sort();
}

test('exact and wildcard filters, each with its subscribers', () => {
  const idx = new SubscriptionIndex<number>();
  assert.equal(idx.add('a/b', 'c1', 1), true);
  assert.equal(idx.add('a/b', 'c2', 2), true);
  assert.equal(idx.add('a/+', 'c1', 3), true);
  assert.equal(idx.add('#', 'c3', 4), true);
  assert.equal(idx.add('a/b', 'c1', 5), false, 'same pair again: value replaced');
  assert.equal(idx.get('a/b', 'c1'), 5);
  assert.equal(idx.get('a/+', 'c1'), 3);
  assert.equal(idx.get('a/+', 'c9'), undefined);
  assert.equal(idx.get('x', 'c1'), undefined);
  assert.equal(idx.size, 4);
  assert.equal(idx.filterCount, 3);
  assert.deepEqual([...idx.filters()].sort(), ['#', 'a/+', 'a/b']);
  assert.deepEqual([...idx.subscribers('a/b')!.entries()], [['c1', 5], ['c2', 2]]);

  const seen: [string, string[]][] = [];
  idx.match('a/b', (f, subs) => seen.push([f, [...subs.keys()]]));
  assert.deepEqual(seen.sort(), [['#', ['c3']], ['a/+', ['c1']], ['a/b', ['c1', 'c2']]]);
  assert.deepEqual(matchedFilters(idx, 'a/c'), ['#', 'a/+']);
  assert.deepEqual(matchedFilters(idx, '$SYS/x'), []);
  assert.equal(idx.hasMatch('$SYS/x'), false);
  assert.equal(idx.hasMatch('z'), true);
});

test('remove drops a pair, then the filter with its last subscriber, and prunes the trie', () => {
  const idx = new SubscriptionIndex<string>();
  idx.add('a/+/c', 'x', 'v');
  idx.add('a/+/c', 'y', 'v');
  idx.add('a/+/c/#', 'x', 'v');
  idx.add('a/b', 'x', 'v');
  assert.equal(idx.remove('a/+/c', 'z'), false);
  assert.equal(idx.remove('nope', 'x'), false);
  assert.equal(idx.remove('a/+/c', 'x'), true);
  assert.equal(idx.remove('a/+/c', 'x'), false);
  assert.deepEqual(matchedFilters(idx, 'a/b/c'), ['a/+/c', 'a/+/c/#']);
  assert.equal(idx.remove('a/+/c', 'y'), true);
  assert.equal(idx.subscribers('a/+/c'), undefined);
  assert.deepEqual(matchedFilters(idx, 'a/b/c'), ['a/+/c/#']);
  assert.equal(idx.remove('a/+/c/#', 'x'), true);
  assert.equal(idx.remove('a/b', 'x'), true);
  assert.equal(idx.size, 0);
  assert.equal(idx.filterCount, 0);
  assert.equal(idx.hasMatch('a/b/c'), false);
  // Nothing of the trie is left behind: the root has no branch.
  const root = (idx as unknown as { root: { only?: unknown; children?: Map<string, unknown>; plus?: unknown; hash?: unknown } }).root;
  assert.equal(root.only, undefined);
  assert.equal(root.children, undefined);
  assert.equal(root.plus, undefined);
  assert.equal(root.hash, undefined);
});

test('a filter shorter than its sibling branch keeps the branch when removed', () => {
  const idx = new SubscriptionIndex<number>();
  idx.add('a/+', 's', 1);
  idx.add('a/+/b/+', 's', 2);
  idx.remove('a/+', 's');
  assert.deepEqual(matchedFilters(idx, 'a/x/b/y'), ['a/+/b/+']);
  assert.deepEqual(matchedFilters(idx, 'a/x'), []);
  idx.add('a/+', 's', 3);
  assert.deepEqual(matchedFilters(idx, 'a/x'), ['a/+']);
});

test('empty levels, the $ rule and # matching its parent', () => {
  const idx = new SubscriptionIndex<number>();
  for (const f of ['#', '+', '+/+', '/+', '+/', 'a/#', 'a//#', '$SYS/#', '$SYS/+', '/', 'a/', '+/#']) idx.add(f, 'c', 0);
  assert.deepEqual(matchedFilters(idx, 'a'), ['#', '+', '+/#', 'a/#']);
  assert.deepEqual(matchedFilters(idx, 'a/'), ['#', '+/', '+/#', '+/+', 'a/', 'a/#', 'a//#']);
  assert.deepEqual(matchedFilters(idx, '/'), ['#', '+/', '+/#', '+/+', '/', '/+']);
  assert.deepEqual(matchedFilters(idx, '/a'), ['#', '+/#', '+/+', '/+']);
  assert.deepEqual(matchedFilters(idx, '$SYS'), ['$SYS/#']);
  assert.deepEqual(matchedFilters(idx, '$SYS/x'), ['$SYS/#', '$SYS/+']);
  assert.deepEqual(matchedFilters(idx, '$SYS/x/y'), ['$SYS/#']);
});

test('with no wildcard filter, match is the exact lookup only', () => {
  const idx = new SubscriptionIndex<number>();
  idx.add('a/b', 'c', 1);
  idx.add('a/+', 'c', 1);
  idx.remove('a/+', 'c');
  const topic = { toString: () => 'unused' } as unknown as string;
  // A topic that is not a string would throw if it were split: only the Map lookup happens.
  assert.doesNotThrow(() => idx.match(topic, () => assert.fail('no match expected')));
  assert.deepEqual(matchedFilters(idx, 'a/b'), ['a/b']);
});

test('clear empties everything', () => {
  const idx = new SubscriptionIndex<number>();
  idx.add('a', 'c', 1);
  idx.add('#', 'c', 1);
  idx.clear();
  assert.equal(idx.size, 0);
  assert.equal(idx.filterCount, 0);
  assert.equal(idx.hasMatch('a'), false);
  assert.deepEqual([...idx.filters()], []);
  idx.add('+', 'c', 2);
  assert.deepEqual(matchedFilters(idx, 'a'), ['+']);
});

test('property: match equals a scan with matches(), over random filters, topics, adds and removes', () => {
  for (const seed of [1, 2, 3, 20261206]) {
    const rnd = prng(seed);
    const idx = new SubscriptionIndex<number>();
    // The model: filter -> ids.
    const model = new Map<string, Set<string>>();
    for (let step = 0; step < 6_000; step++) {
      const f = randomFilter(rnd);
      const id = `c${rnd(4)}`;
      if (rnd(3) === 0) {
        const had = model.get(f)?.delete(id) ?? false;
        if (model.get(f)?.size === 0) model.delete(f);
        assert.equal(idx.remove(f, id), had, `seed ${seed}: remove ${f} ${id}`);
      } else {
        const isNew = !(model.get(f)?.has(id) ?? false);
        if (!model.has(f)) model.set(f, new Set());
        model.get(f)!.add(id);
        assert.equal(idx.add(f, id, step), isNew, `seed ${seed}: add ${f} ${id}`);
      }
    }
    let pairs = 0;
    for (const ids of model.values()) pairs += ids.size;
    assert.equal(idx.size, pairs);
    assert.equal(idx.filterCount, model.size);
    assert.deepEqual([...idx.filters()].sort(), [...model.keys()].sort());

    let nonEmpty = 0;
    for (let i = 0; i < 3_000; i++) {
      const topic = randomTopic(rnd);
      const want = [...model.keys()].filter((f) => matches(f, topic)).sort();
      const got: string[] = [];
      idx.match(topic, (f, subs) => {
        assert.deepEqual([...subs.keys()].sort(), [...model.get(f)!].sort(), `seed ${seed}: subscribers of ${f}`);
        got.push(f);
      });
      assert.deepEqual(got.sort(), want, `seed ${seed}: topic ${JSON.stringify(topic)}`);
      assert.equal(idx.hasMatch(topic), want.length > 0, `seed ${seed}: hasMatch ${topic}`);
      if (want.length > 0) nonEmpty++;
    }
    assert.ok(nonEmpty > 1_000, `seed ${seed}: only ${nonEmpty} topics matched anything`);
  }
});
