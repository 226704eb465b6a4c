// Resolution rules where the specification leaves room and we follow the reference implementation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HoconError, parseHocon } from '../../../src/config/hocon/index.js';

const v = (text: string): unknown => parseHocon(text, { env: {} }).value;

test('a later plain value replaces an earlier one without resolving it', () => {
  assert.deepEqual(v('a = ${undefined}\na = 1'), { a: 1 });
  assert.deepEqual(v('a { x = ${undefined} }\na = 1'), { a: 1 });
  assert.deepEqual(v('a = [${undefined}]\na { x = 1 }'), { a: { x: 1 } });
});

test('an earlier value replaced by one that needs resolving is still checked', () => {
  assert.throws(() => v('a = ${undefined}\na = ${?b} [1]'), (e: unknown) => e instanceof HoconError && e.line === 1 && e.column === 5);
});

test('an optional substitution caught in a cycle is undefined', () => {
  assert.deepEqual(v('a = ${?b}\nb = ${?a}'), {});
  assert.deepEqual(v('a = [1]\na = [${?a}]'), { a: [] });
});

test('self-reference looks back only from a value that merges with an earlier one', () => {
  assert.deepEqual(v('a = x\na = ${a}y'), { a: 'xy' });
  assert.deepEqual(v('foo { a { c = 1 } }\nfoo = ${foo.a}\nfoo { a = 2 }'), { foo: { a: 2, c: 1 } });
  assert.throws(() => v('a = [1]\na = [${a}]'), /substitution cycle/);
  assert.throws(() => v('a { x = 1 }\na.b = ${a}'), /substitution cycle/);
});

test('a dotted key creates its parents even when its value is an undefined optional', () => {
  assert.deepEqual(v('a.b.c = ${?nope}'), { a: { b: {} } });
});

test('an object that replaced a non-object replaces, not merges, where it is substituted', () => {
  assert.deepEqual(v('x = 5\nx.y = 1\nc.a = 2\nc = ${x}'), { x: { y: 1 }, c: { y: 1 } });
  assert.deepEqual(v('x { y = 1 }\nc.a = 2\nc = ${x}'), { x: { y: 1 }, c: { a: 2, y: 1 } });
});

test('whitespace around literal arrays and objects is dropped, but not before a substituted one', () => {
  assert.deepEqual(v('a = ${?x} [1]\nb = [1] ${?x}'), { a: [1], b: [1] });
  assert.throws(() => v('x = [2]\na = ${?y} ${x}'), /cannot concatenate whitespace with an array/);
});
