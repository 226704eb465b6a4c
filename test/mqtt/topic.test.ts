import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  describeTopicProblem,
  isWildcard,
  matches,
  MAX_TOPIC_BYTES,
  parseShared,
  type TopicProblem,
  validateFilter,
  validateTopicName,
} from '../../src/mqtt/topic.js';
import { intRng } from '../helpers/random-topics.js';

const MAX = 128;

test('topic names: valid ones, including empty levels and $ topics', () => {
  for (const name of ['a', 'a/b/c', '/', '//', '/a', 'a/', 'a//b', '$SYS/broker', 'sport/tennis player1/ranking', 'ü/日本/🚀', ' ']) {
    assert.equal(validateTopicName(name, MAX), undefined, name);
  }
});

test('topic names: each problem has its code', () => {
  const cases: [string, TopicProblem][] = [
    ['', 'empty'],
    ['a/+', 'wildcard_in_name'],
    ['a/#', 'wildcard_in_name'],
    ['a+b', 'wildcard_in_name'],
    ['#', 'wildcard_in_name'],
    ['a\u0000b', 'null_char'],
  ];
  for (const [name, problem] of cases) assert.equal(validateTopicName(name, MAX), problem, JSON.stringify(name));
});

test('topic names: the level limit counts levels, empty ones included', () => {
  assert.equal(validateTopicName('a/b/c', 3), undefined);
  assert.equal(validateTopicName('a/b/c/', 3), 'too_many_levels');
  assert.equal(validateTopicName('///', 3), 'too_many_levels');
  assert.equal(validateTopicName('///', 4), undefined);
});

test('the byte limit is on UTF-8 bytes, not characters', () => {
  assert.equal(validateTopicName('a'.repeat(MAX_TOPIC_BYTES), MAX), undefined);
  assert.equal(validateTopicName('a'.repeat(MAX_TOPIC_BYTES + 1), MAX), 'too_long');
  // 'é' is two bytes: 32768 of them are 65536 bytes in 32768 code units.
  assert.equal(validateTopicName('é'.repeat(32767), MAX), undefined);
  assert.equal(validateTopicName('é'.repeat(32768), MAX), 'too_long');
  // A character outside the BMP is two code units and four bytes.
  assert.equal(validateTopicName('🚀'.repeat(16383) + 'abc', MAX), undefined);
  assert.equal(validateTopicName('🚀'.repeat(16384), MAX), 'too_long');
  assert.equal(validateFilter('é'.repeat(32768), MAX), 'too_long');
  assert.equal(validateFilter('$share/g/' + 'é'.repeat(32764), MAX), 'too_long');
});

test('filters: valid ones', () => {
  for (const f of ['#', '+', '+/+', '/+', '+/', 'a/#', 'a/+/b', '+/#', '/#', 'a//#', '$SYS/#', 'a/b', '//', 'sport/+/player1']) {
    assert.equal(validateFilter(f, MAX), undefined, f);
  }
});

test('filters: wildcards must be whole levels, # the last one', () => {
  for (const f of ['a#', 'a/#/b', '#/', '#/a', 'a+', '+a', 'a/b+/c', '++', '##', 'a/+#', 'sport/tennis#']) {
    assert.equal(validateFilter(f, MAX), 'bad_wildcard', f);
  }
  assert.equal(validateFilter('', MAX), 'empty');
  assert.equal(validateFilter('a/\u0000', MAX), 'null_char');
  assert.equal(validateFilter('+/+/+', 3), undefined);
  assert.equal(validateFilter('+/+/+/#', 3), 'too_many_levels');
});

test('shared filters: $share/<group>/<filter> and $queue/<filter>', () => {
  assert.deepEqual(parseShared('$share/g/a/+/c'), { group: 'g', filter: 'a/+/c' });
  assert.deepEqual(parseShared('$share/g/#'), { group: 'g', filter: '#' });
  assert.deepEqual(parseShared('$share/g//a'), { group: 'g', filter: '/a' });
  assert.deepEqual(parseShared('$share/$queue/t'), { group: '$queue', filter: 't' });
  assert.deepEqual(parseShared('$queue/a/b'), { group: '$queue', filter: 'a/b' });
  assert.deepEqual(parseShared('$share/g/$SYS/#'), { group: 'g', filter: '$SYS/#' });
  for (const f of ['a/b', '$share', '$sharex/g/t', '$SYS/#', '#', '$queue']) assert.equal(parseShared(f), undefined, f);
});

test('shared filters: each malformed form is bad_share or the inner filter problem', () => {
  const cases: [string, TopicProblem][] = [
    ['$share/', 'bad_share'],
    ['$share/g', 'bad_share'],
    ['$share/g/', 'bad_share'],
    ['$share//t', 'bad_share'],
    ['$share/g+/t', 'bad_share'],
    ['$share/#/t', 'bad_share'],
    ['$share/a#b/t', 'bad_share'],
    ['$queue/', 'bad_share'],
    ['$share/g/$share/h/t', 'bad_share'],
    ['$share/g/$queue/t', 'bad_share'],
    ['$queue/$share/g/t', 'bad_share'],
    ['$share/g/a/#/b', 'bad_wildcard'],
    ['$queue/a+', 'bad_wildcard'],
    ['$share/g/a\u0000', 'null_char'],
    ['$share/g\u0000/a', 'null_char'],
  ];
  for (const [f, problem] of cases) {
    assert.equal(parseShared(f), problem, f);
    assert.equal(validateFilter(f, MAX), problem, f);
  }
});

test('shared filters: the level limit applies to the inner filter', () => {
  assert.equal(validateFilter('$share/g/a/b', 2), undefined);
  assert.equal(validateFilter('$share/g/a/b/c', 2), 'too_many_levels');
  assert.equal(validateFilter('$queue/a/b', 2), undefined);
  assert.equal(parseShared('$share/g/a/b/c', 2), 'too_many_levels');
  assert.deepEqual(parseShared('$share/g/a/b/c'), { group: 'g', filter: 'a/b/c' });
});

test('isWildcard', () => {
  assert.equal(isWildcard('a/b'), false);
  assert.equal(isWildcard('a/+'), true);
  assert.equal(isWildcard('#'), true);
  assert.equal(isWildcard('$SYS/#'), true);
});

test('matching: levels, + and #', () => {
  const yes: [string, string][] = [
    ['a/b', 'a/b'],
    ['a/+', 'a/b'],
    ['a/+', 'a/'],
    ['+/+', '/a'],
    ['+/+', 'a/'],
    ['+/+', '/'],
    ['+', 'a'],
    ['/+', '/a'],
    ['#', 'a'],
    ['#', '/'],
    ['#', 'a/b/c'],
    ['a/#', 'a'],
    ['a/#', 'a/'],
    ['a/#', 'a/b/c'],
    ['a//#', 'a/'],
    ['a//#', 'a//b'],
    ['/#', '/'],
    ['+/#', 'a'],
    ['a/+/c/#', 'a/b/c'],
    ['a/+/c/#', 'a/b/c/d/e'],
    ['sport/tennis/+', 'sport/tennis/player1'],
    ['a//b', 'a//b'],
    ['+//+', 'x//y'],
  ];
  const no: [string, string][] = [
    ['a/b', 'a/b/c'],
    ['a/b', 'a'],
    ['a/b', 'a/bc'],
    ['a/bc', 'a/b'],
    ['a/+', 'a'],
    ['a/+', 'a/b/c'],
    ['+', '/a'],
    ['+', 'a/'],
    ['/+', 'a'],
    ['a/#', 'ab'],
    ['a/#', 'b/a'],
    ['a//#', 'a'],
    ['+/+', 'a'],
    ['a/+/c/#', 'a/b'],
    ['a/+/c/#', 'a/b/d'],
    ['sport/tennis/+', 'sport/tennis/player1/ranking'],
    ['a//b', 'a/b'],
  ];
  for (const [f, t] of yes) assert.equal(matches(f, t), true, `${f} should match ${t}`);
  for (const [f, t] of no) assert.equal(matches(f, t), false, `${f} should not match ${t}`);
});

test('matching: the $ rule', () => {
  assert.equal(matches('#', '$SYS/broker'), false);
  assert.equal(matches('#', '$SYS'), false);
  assert.equal(matches('+/broker', '$SYS/broker'), false);
  assert.equal(matches('+', '$'), false);
  assert.equal(matches('+/#', '$SYS/a'), false);
  assert.equal(matches('$SYS/#', '$SYS/broker/x'), true);
  assert.equal(matches('$SYS/#', '$SYS'), true);
  assert.equal(matches('$SYS/+', '$SYS/broker'), true);
  assert.equal(matches('$SYS/broker', '$SYS/broker'), true);
  // Only the first level counts: a '$' deeper down is an ordinary character.
  assert.equal(matches('a/#', 'a/$b'), true);
  assert.equal(matches('+/+', 'a/$b'), true);
  assert.equal(matches('#', 'a$/b'), true);
});

test('every problem has a description', () => {
  for (const p of ['empty', 'too_long', 'wildcard_in_name', 'bad_wildcard', 'null_char', 'too_many_levels', 'bad_share'] as const) {
    assert.ok(describeTopicProblem(p).length > 10);
  }
});

/** The rules read straight off the specification, level list against level list. */
function referenceMatch(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (t[0]!.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

test('matching agrees with a level-by-level reference on random filters and topics', () => {
  const rnd = intRng(0x9e3779b9);
  const words = ['a', 'b', 'ab', '', '$SYS', '$', 'a$'];
  // An empty string is not a topic: one empty level becomes two.
  const topic = (): string => Array.from({ length: 1 + rnd(4) }, () => words[rnd(words.length)]!).join('/') || '/';
  const filter = (): string => {
    const levels = Array.from({ length: 1 + rnd(4) }, () => (rnd(3) === 0 ? '+' : words[rnd(words.length)]!));
    if (rnd(3) === 0) levels[levels.length - 1] = '#';
    return levels.join('/') || '/';
  };
  let matched = 0;
  for (let i = 0; i < 50_000; i++) {
    const f = filter();
    const t = topic();
    assert.equal(validateFilter(f, MAX), undefined, f);
    const want = referenceMatch(f, t);
    assert.equal(matches(f, t), want, `${f} vs ${t}`);
    if (want) matched++;
  }
  assert.ok(matched > 2_000, `only ${matched} matches: the generator is too sparse`);
});
