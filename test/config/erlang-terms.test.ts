import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErlangTermsError, erlString, parseErlangTerms, type ErlTerm } from '../../src/config/erlang-terms.js';

const parse = (text: string): readonly ErlTerm[] => parseErlangTerms(text, 'f.conf').terms;

function rejects(text: string, line: number, reason: string | RegExp): void {
  assert.throws(() => parseErlangTerms(text, 'ssl_dist.conf'), (err: unknown) => {
    assert.ok(err instanceof ErlangTermsError, String(err));
    assert.equal(err.line, line, err.message);
    if (typeof reason === 'string') assert.equal(err.reason, reason);
    else assert.match(err.reason, reason);
    assert.ok(err.message.startsWith(`ssl_dist.conf:${line}: ${err.reason}`), err.message);
    return true;
  });
}

test('atoms, tuples, lists and strings', () => {
  assert.deepEqual(parse("[{server, [{verify, verify_peer}]}, 'quoted atom', x@y, \"str\"]."), [[
    { tuple: [{ atom: 'server' }, [{ tuple: [{ atom: 'verify' }, { atom: 'verify_peer' }] }]] },
    { atom: 'quoted atom' }, { atom: 'x@y' }, 'str',
  ]]);
  assert.deepEqual(parse('{}. []. "". a.b.'.replace('a.b.', 'ok.')), [{ tuple: [] }, [], '', { atom: 'ok' }]);
});

test('string escapes and adjacent strings', () => {
  assert.deepEqual(parse(String.raw`"a\nb\t\\\"\x41\x{263a}\101\^A\s\e\q" "tail".`), ['a\nb\t\\"A\u263aA\u0001 \u001bqtail']);
  assert.deepEqual(parse(String.raw`'it\'s'.`), [{ atom: "it's" }]);
});

test('numbers: integers, bases, separators, chars, big integers, floats, signs', () => {
  assert.deepEqual(parse('1. -2. 16#ff. 2#101. 1_000. $a. $\\n. - 3. +4.'), [1, -2, 255, 5, 1000, 97, 10, -3, 4]);
  assert.deepEqual(parse('123456789012345678901234567890.'), [123456789012345678901234567890n]);
  assert.deepEqual(parse('1.5. 2.0e3. -0.25e-1.'), [{ float: 1.5 }, { float: 2000 }, { float: -0.025 }]);
});

test('lists with tails, maps and binaries', () => {
  assert.deepEqual(parse('[a|b].'), [{ list: [{ atom: 'a' }], tail: { atom: 'b' } }]);
  assert.deepEqual(parse('[1|[2,3]]. [$a|"bc"].'), [[1, 2, 3], [97, 98, 99]]);
  assert.deepEqual(parse('#{a => 1, "k" => [x]}.'), [{ map: [[{ atom: 'a' }, 1], ['k', [{ atom: 'x' }]]] }]);
  const [b1, b2, b3] = parse('<<1,2,3>>. <<"ab", 0:16>>. <<"\\x{263a}"/utf8>>.') as { binary: Uint8Array }[];
  assert.deepEqual([...(b1?.binary ?? [])], [1, 2, 3]);
  assert.deepEqual([...(b2?.binary ?? [])], [97, 98, 0, 0]);
  assert.deepEqual([...(b3?.binary ?? [])], [0xe2, 0x98, 0xba]);
});

test('comments, blank lines and a dot at the end of the text', () => {
  assert.deepEqual(parse('%% header\n\n{a, % inline\n 1}\n.%after\nb.'), [{ tuple: [{ atom: 'a' }, 1] }, { atom: 'b' }]);
});

test('positions of terms, for messages about their values', () => {
  const doc = parseErlangTerms('[\n {certfile, "x"},\n  {verify, bogus}].', 'f');
  const list = doc.terms[0] as readonly ErlTerm[];
  assert.deepEqual(doc.position(list[0] as ErlTerm), { line: 2, column: 2 });
  assert.deepEqual(doc.position(list[1] as ErlTerm), { line: 3, column: 3 });
});

test('erlString reads string literals and lists of character codes, nothing else', () => {
  assert.equal(erlString('abc'), 'abc');
  assert.equal(erlString([97, 98]), 'ab');
  assert.equal(erlString([]), '');
  assert.equal(erlString(['a', 'b']), undefined);
  assert.equal(erlString({ atom: 'a' }), undefined);
});

test('syntax errors name the line and the token, as erl does', () => {
  rejects('[{server,\n  [{verify, verify_peer}\n  ]}\n]}].', 4, "syntax error before: '}'");
  rejects('{a b}.', 1, 'syntax error before: b');
  rejects('{a,\n\n  b.\n c}.', 3, "syntax error before: '.'");
  rejects('a.\n[1,\n2\n\n', 3, 'syntax error before: ');
  rejects('{a,\n 1e5}.', 2, 'syntax error before: e5');
  rejects('[a]..', 1, "syntax error before: '..'");
  rejects('{a, 1 == 2 == 3}.', 1, "syntax error before: '=='");
});

test('expressions that are not terms are a "bad term" at the line where the term starts', () => {
  rejects('x.\n{a,\n  1 + 2}.', 2, 'bad term');
  rejects('{a, X}.', 1, 'bad term');
  rejects('{a, foo(1)}.', 1, 'bad term');
  rejects('{a, - -1}.', 1, 'bad term');
});

test('scanner errors: unterminated strings and atoms, bad escapes, bad numbers, foreign characters', () => {
  rejects('\n\n"abc\n\ndef', 3, 'unterminated string starting with "abc\\n\\ndef"');
  rejects("'abc", 1, "unterminated atom starting with 'abc'");
  rejects('{a,\n"ok\n\\x{zz}"}.', 3, 'illegal character');
  rejects('{a,\n16#}.', 2, 'illegal integer');
  rejects('{a,\n37#1}.', 2, "illegal base '37'");
  rejects('{a, \u263a}.', 1, 'illegal character');
  rejects('{a, \\}.', 1, "syntax error before: '\\\\'");
});

test('pathological nesting is an error naming the line, not a stack overflow', () => {
  rejects(`\n${'['.repeat(100_000)}`, 2, /nested deeper than \d+ levels/);
  rejects(`\n${'- '.repeat(100_000)}1.`, 2, /nested deeper than \d+ levels/);
  assert.equal(parse(`${'['.repeat(200)}${']'.repeat(200)}.`).length, 1);
});

test('any input either parses or fails with a located ErlangTermsError (seeded random mutations)', () => {
  let seed = 42;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const base = '[{server, [{certfile, "/a/b.pem"}, {verify, verify_peer}, {versions, [\'tlsv1.2\']}, {depth, 16#0a}, <<1,"x">>, $c, 1.5e3]}].\n%% c\n';
  const alphabet = '[]{}()<>,.|#$%"\'\\:;=+-*/!?@_aZ09 \n\t\u00e9\u263a';
  for (let i = 0; i < 3000; i++) {
    const chars = Array.from(base);
    for (let k = 1 + rnd(4); k > 0; k--) {
      const at = rnd(chars.length);
      const op = rnd(3);
      const ch = alphabet[rnd(alphabet.length)] ?? ' ';
      if (op === 0) chars.splice(at, 1);
      else if (op === 1) chars.splice(at, 0, ch);
      else chars[at] = ch;
    }
    const text = chars.join('');
    try {
      parseErlangTerms(text, 'fuzz.conf');
    } catch (err) {
      assert.ok(err instanceof ErlangTermsError, `${String(err)} for ${JSON.stringify(text)}`);
      assert.ok(err.line >= 1 && err.line <= text.split('\n').length, `line ${err.line} for ${JSON.stringify(text)}`);
    }
  }
});

test('syntax errors add what was expected, since erl points past the mistake', () => {
  const msg = (text: string): string => {
    try {
      parseErlangTerms(text, 'ssl_dist.conf');
    } catch (err) {
      return (err as Error).message;
    }
    return 'accepted';
  };
  assert.equal(msg('[{server,\n  [{verify, verify_peer}\n  }]}].'),
    "ssl_dist.conf:3: syntax error before: '}' (expected ']' to close the '[' opened at line 2, column 3)");
  assert.equal(msg('[{server, [a]}\n.'), "ssl_dist.conf:2: syntax error before: '.' (expected ']' to close the '[' opened at line 1, column 1)");
  assert.equal(msg('{a, b}\n{c}.'), "ssl_dist.conf:2: syntax error before: '{' (expected '.' to end the term)");
  assert.equal(msg('{a, b}'), "ssl_dist.conf:1: syntax error before: (the text ends before the term's final '.')");
  assert.equal(msg('{a, b'), "ssl_dist.conf:1: syntax error before: (expected '}' to close the '{' opened at line 1, column 1)");
});

test('bit strings, sized and typed segments', () => {
  const [a, b, c] = parse('<<7:3>>. <<1, "xy":16, -1:16>>. <<1.5/float, <<1,2>>/binary>>.') as { binary: Uint8Array; bitLength?: number }[];
  assert.deepEqual(a, { binary: Uint8Array.from([0xe0]), bitLength: 3 });
  assert.deepEqual([...(b?.binary ?? [])], [1, 0, 0x78, 0, 0x79, 0xff, 0xff]);
  assert.deepEqual([...(c?.binary ?? [])], [0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 1, 2]);
  rejects('<<a>>.', 1, 'bad term');
});

test('two terms separated by a comma are one bad term, with a hint', () => {
  assert.throws(() => parseErlangTerms('{server, []},\n{client, []}.', 'ssl_dist.conf'), {
    message: "ssl_dist.conf:1: bad term (several terms separated by ',': put them in a list [A, B] or end each with '.')",
  });
});
