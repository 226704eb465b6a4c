import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHocon } from '../../../src/config/hocon/index.js';

function withProps(props: string): unknown {
  const readFile = (p: string): string => {
    if (p === '/e/p.properties') return props;
    throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
  };
  return parseHocon('include "p.properties"', { file: '/e/main.conf', readFile, env: {} }).value;
}

test('.properties includes: dotted keys, string values, comments, continuations, escapes', () => {
  assert.deepEqual(withProps('# comment\n! also\na.b = 1\na.c: two\nd   three\ne = x\\\n   y\nf = \\u0041\\t\n'), {
    a: { b: '1', c: 'two' },
    d: 'three',
    e: 'xy',
    f: 'A\t',
  });
});

test('.properties: when a key is both a value and a parent, the object wins', () => {
  assert.deepEqual(withProps('a = 1\na.b = 2\n'), { a: { b: '2' } });
});
