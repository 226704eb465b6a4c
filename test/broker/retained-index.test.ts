import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RetainedIndex } from '../../src/broker/retained-index.js';
import { matches } from '../../src/mqtt/topic.js';
import { intRng as prng, randomFilter, randomTopic } from '../helpers/random-topics.js';

function found<M>(idx: RetainedIndex<M>, filter: string): string[] {
  const out: string[] = [];
  idx.match(filter, (t) => out.push(t));
  return out.sort();
}

test('set, replace, get, delete and size', () => {
  const idx = new RetainedIndex<string>();
  idx.set('a/b', 'one');
  idx.set('a/b', 'two');
  idx.set('a', 'three');
  assert.equal(idx.size, 2);
  assert.equal(idx.get('a/b'), 'two');
  assert.equal(idx.has('a'), true);
  assert.equal(idx.get('a/c'), undefined);
  assert.deepEqual([...idx.topics()].sort(), ['a', 'a/b']);
  assert.equal(idx.delete('a/c'), false);
  assert.equal(idx.delete('a'), true);
  assert.equal(idx.delete('a'), false);
  assert.deepEqual(found(idx, 'a/#'), ['a/b']);
  assert.deepEqual(found(idx, 'a'), []);
  assert.equal(idx.delete('a/b'), true);
  assert.equal(idx.size, 0);
  const root = (idx as unknown as { root: { children?: unknown } }).root;
  assert.equal(root.children, undefined, 'deleting the last topic leaves no trie behind');
});

test('deleting a topic keeps the topics below it', () => {
  const idx = new RetainedIndex<number>();
  idx.set('a', 1);
  idx.set('a/b/c', 2);
  idx.delete('a');
  assert.deepEqual(found(idx, 'a/#'), ['a/b/c']);
  idx.delete('a/b/c');
  idx.set('a/b', 3);
  assert.deepEqual(found(idx, '#'), ['a/b']);
});

test('wildcards, empty levels, # with its parent, and the $ rule', () => {
  const idx = new RetainedIndex<number>();
  const all = ['a', 'a/b', 'a/b/c', 'a/', '/a', '/', 'a//b', '$SYS/broker', '$SYS', 'b/$x'];
  all.forEach((t, i) => idx.set(t, i));
  assert.deepEqual(found(idx, '#'), ['/', '/a', 'a', 'a/', 'a//b', 'a/b', 'a/b/c', 'b/$x']);
  assert.deepEqual(found(idx, '+'), ['a']);
  assert.deepEqual(found(idx, '+/+'), ['/', '/a', 'a/', 'a/b', 'b/$x']);
  assert.deepEqual(found(idx, 'a/#'), ['a', 'a/', 'a//b', 'a/b', 'a/b/c']);
  assert.deepEqual(found(idx, 'a/+'), ['a/', 'a/b']);
  assert.deepEqual(found(idx, 'a//+'), ['a//b']);
  assert.deepEqual(found(idx, '/#'), ['/', '/a']);
  assert.deepEqual(found(idx, '$SYS/#'), ['$SYS', '$SYS/broker']);
  assert.deepEqual(found(idx, '$SYS/+'), ['$SYS/broker']);
  assert.deepEqual(found(idx, '+/broker'), []);
  assert.deepEqual(found(idx, '$SYS/broker'), ['$SYS/broker']);
  assert.deepEqual(found(idx, 'a/b'), ['a/b']);
  assert.deepEqual(found(idx, 'nope'), []);
  const msgs: number[] = [];
  idx.match('a/+/c', (_t, m) => msgs.push(m));
  assert.deepEqual(msgs, [2]);
});

test('clear empties everything', () => {
  const idx = new RetainedIndex<number>();
  idx.set('a', 1);
  idx.set('b/c', 1);
  idx.clear();
  assert.equal(idx.size, 0);
  assert.deepEqual(found(idx, '#'), []);
  idx.set('a', 2);
  assert.deepEqual(found(idx, '#'), ['a']);
});

test('property: match equals a scan with matches(), over random topics, sets, deletes and filters', () => {
  for (const seed of [7, 8, 9, 20261206]) {
    const rnd = prng(seed);
    const idx = new RetainedIndex<number>();
    const model = new Map<string, number>();
    for (let step = 0; step < 6_000; step++) {
      const t = randomTopic(rnd);
      if (rnd(3) === 0) {
        assert.equal(idx.delete(t), model.delete(t), `seed ${seed}: delete ${t}`);
      } else {
        idx.set(t, step);
        model.set(t, step);
      }
    }
    assert.equal(idx.size, model.size);
    assert.deepEqual([...idx.topics()].sort(), [...model.keys()].sort());

    let nonEmpty = 0;
    for (let i = 0; i < 3_000; i++) {
      const filter = randomFilter(rnd);
      const want = [...model.keys()].filter((t) => matches(filter, t)).sort();
      const got: string[] = [];
      idx.match(filter, (t, m) => {
        assert.equal(m, model.get(t), `seed ${seed}: message of ${t}`);
        got.push(t);
      });
      assert.deepEqual(got.sort(), want, `seed ${seed}: filter ${JSON.stringify(filter)}`);
      if (want.length > 0) nonEmpty++;
    }
    assert.ok(nonEmpty > 500, `seed ${seed}: only ${nonEmpty} filters found anything`);
  }
});
