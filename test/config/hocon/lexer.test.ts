import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lexer } from '../../../src/config/hocon/lexer.js';
import type { Token } from '../../../src/config/hocon/lexer.js';

function kinds(text: string): string[] {
  return new Lexer(text, 't.conf').tokenize().map((t: Token) => {
    switch (t.t) {
      case 'number': return `num:${t.text}`;
      case 'unquoted': return `text:${t.v}`;
      case 'quoted': return `str:${t.v}`;
      case 'punct': return t.v;
      case 'subst': return `\${${t.optional ? '?' : ''}${t.path.join('|')}}`;
      case 'bool': return `bool:${t.text}`;
      case 'null': return 'null';
      default: return t.t;
    }
  });
}

test('numbers are numbers only when the whole run of number characters is one', () => {
  assert.deepEqual(kinds('42 -7 1.5 1e3'), ['num:42', 'ws', 'num:-7', 'ws', 'num:1.5', 'ws', 'num:1e3', 'eof']);
  assert.deepEqual(kinds('1.2.3'), ['text:1.2.3', 'eof']);
  assert.deepEqual(kinds('10s'), ['num:10', 'text:s', 'eof']);
  assert.deepEqual(kinds('99999999999999999999'), ['text:99999999999999999999', 'eof']);
  assert.deepEqual(kinds('1e999'), ['text:1e999', 'eof']);
});

test("'@' is part of unquoted text; reserved characters and comments end it", () => {
  assert.deepEqual(kinds('emqx@127.0.0.1'), ['text:emqx@127.0.0.1', 'eof']);
  assert.deepEqual(kinds('a//c\nb#c'), ['text:a', 'nl', 'text:b', 'eof']);
  assert.deepEqual(kinds('http://x'), ['text:http', ':', 'eof']);
  assert.deepEqual(kinds('/path/to'), ['text:/path/to', 'eof']);
  assert.deepEqual(kinds('truex true'), ['text:truex', 'ws', 'bool:true', 'eof']);
});

test('substitution paths split on dots outside quotes and keep positions', () => {
  assert.deepEqual(kinds('${a.b} ${?"x.y".z}'), ['${a|b}', 'ws', '${?x.y|z}', 'eof']);
  const toks = new Lexer('a = \n  ${b}', 't.conf').tokenize();
  const subst = toks.find((t) => t.t === 'subst');
  assert.deepEqual(subst?.at, { file: 't.conf', line: 2, column: 3 });
});

test('a byte order mark is skipped and CRLF line ends are newlines', () => {
  assert.deepEqual(kinds('\uFEFFa = 1\r\nb'), ['text:a', 'ws', '=', 'ws', 'num:1', 'ws', 'nl', 'text:b', 'eof']);
});
