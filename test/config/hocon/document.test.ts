// Behaviour of the public HOCON API: every feature an operator relies on, and every error an
// operator can meet, with the exact file, line and column it reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HoconError, parseHocon, parseHoconFile, parseHoconValue } from '../../../src/config/hocon/index.js';
import type { HoconParseOptions } from '../../../src/config/hocon/index.js';

const NO_ENV = {};

function value(text: string, opts: HoconParseOptions = {}): Record<string, unknown> {
  return parseHocon(text, { env: NO_ENV, ...opts }).value;
}

/** Asserts that parsing fails with a HoconError at exactly file:line:column, with a reason matching `reason`. */
function assertError(fn: () => unknown, expected: { code: HoconError['code']; file: string; line: number; column: number; reason: RegExp }): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof HoconError, `expected a HoconError, got ${String(caught)}`);
  assert.equal(caught.code, expected.code, caught.message);
  assert.deepEqual([caught.file, caught.line, caught.column], [expected.file, expected.line, expected.column], caught.message);
  assert.match(caught.message, expected.reason);
  assert.ok(caught.message.startsWith(`${expected.file}:${expected.line}:${expected.column}: `), caught.message);
}

/** An in-memory file system for includes, with absolute paths under /etc-test. */
function memFs(files: Record<string, string>): (p: string) => string {
  return (p) => {
    const text = files[p];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
    return text;
  };
}

test('objects, dotted keys, separators, comments and scalar types', () => {
  const v = value(`
    # a comment
    // another comment
    node {
      name = emqx@127.0.0.1   # '@' is allowed unquoted (EMQX's extension)
      cookie: "emqx secret"
    }
    cluster.discovery_strategy = static
    cluster { static.seeds = ["emqx1@h1", "emqx2@h2"] }
    n = 42, f = 1.5, neg = -3, big = 1e3, t = true, no = false, nothing = null
    dur = 15s
    ver = 1.2.3
    "quoted.key" = x
  `);
  assert.deepEqual(v, {
    node: { name: 'emqx@127.0.0.1', cookie: 'emqx secret' },
    cluster: { discovery_strategy: 'static', static: { seeds: ['emqx1@h1', 'emqx2@h2'] } },
    n: 42, f: 1.5, neg: -3, big: 1000, t: true, no: false, nothing: null,
    dur: '15s',
    ver: '1.2.3',
    'quoted.key': 'x',
  });
});

test('root braces are optional, separators may be newlines, trailing commas are allowed', () => {
  assert.deepEqual(value('{ a = 1, b = [1, 2,], }'), { a: 1, b: [1, 2] });
  assert.deepEqual(value('a = [\n  1\n  2\n]\nb = 2'), { a: [1, 2], b: 2 });
  assert.deepEqual(value('a\n{\n x = 1 }\nb\n: 2'), { a: { x: 1 }, b: 2 });
});

test('duplicate keys: objects merge, anything else replaces', () => {
  assert.deepEqual(value('a { x = 1, y = 1 }\na { y = 2, z = 2 }'), { a: { x: 1, y: 2, z: 2 } });
  assert.deepEqual(value('a { x = 1 }\na = 5'), { a: 5 });
  assert.deepEqual(value('a { x = 1 }\na = null\na { y = 2 }'), { a: { y: 2 } });
  assert.deepEqual(value('a.b.c = 1\na.b.d = 2'), { a: { b: { c: 1, d: 2 } } });
});

test('strings: quoted escapes, triple quotes and concatenation keep inner whitespace', () => {
  assert.deepEqual(value(String.raw`a = "tab\there \"q\" \u00e9 \\ \/"`), { a: 'tab\there "q" é \\ /' });
  assert.deepEqual(value('a = """line1\n  "line2"\\n"""'), { a: 'line1\n  "line2"\\n' });
  assert.deepEqual(value('a = """x""""'), { a: 'x"' });
  assert.deepEqual(value('a = foo  bar "baz" 1.0 true'), { a: 'foo  bar baz 1.0 true' });
  assert.deepEqual(value('a = 10 s'), { a: '10 s' });
});

test('arrays and objects concatenate; += appends', () => {
  assert.deepEqual(value('a = [1, 2] [3]'), { a: [1, 2, 3] });
  assert.deepEqual(value('a = { x = 1 } { y = 2 }'), { a: { x: 1, y: 2 } });
  assert.deepEqual(value('a = [1]\na += 2\na += [3]'), { a: [1, 2, [3]] });
  assert.deepEqual(value('a += x'), { a: ['x'] });
});

test('substitutions: forward and backward, nested paths, optional, self-reference', () => {
  assert.deepEqual(value('a = ${b.c}\nb.c = 1'), { a: 1, b: { c: 1 } });
  assert.deepEqual(value('b { c = hi }\na = ${b}'), { b: { c: 'hi' }, a: { c: 'hi' } });
  assert.deepEqual(value('a = ${?missing}'), {});
  assert.deepEqual(value('a = 1\na = ${?missing}'), { a: 1 });
  assert.deepEqual(value('a = x${?missing}y'), { a: 'xy' });
  assert.deepEqual(value('a = [1, ${?missing}, 2]'), { a: [1, 2] });
  assert.deepEqual(value('path = "/bin"\npath = ${path}":/usr/bin"'), { path: '/bin:/usr/bin' });
  assert.deepEqual(value('list = [1]\nlist = ${list} [2]'), { list: [1, 2] });
  assert.deepEqual(value('o = { a = 1 }\no = ${o} { b = 2 }'), { o: { a: 1, b: 2 } });
  // The last definition wins even for an earlier reference.
  assert.deepEqual(value('bar { foo = 42, baz = ${bar.foo} }\nbar { foo = 43 }'), { bar: { foo: 43, baz: 43 } });
  assert.deepEqual(value('a = 1.50\nb = ${a}x'), { a: 1.5, b: '1.50x' });
});

test('substitutions fall back to the environment, and ${?VAR} to nothing', () => {
  const env = { EMQX_HOME: '/opt/emqx', EMPTY: '' };
  assert.deepEqual(value('home = ${EMQX_HOME}\ndata = ${EMQX_HOME}/data', { env }), { home: '/opt/emqx', data: '/opt/emqx/data' });
  // An empty variable counts as not set (the specification's rule).
  assert.deepEqual(value('a = ${?NOPE}\nb = ${?EMPTY}\nc = x${?EMPTY}y', { env }), { c: 'xy' });
  assert.throws(() => value('a = ${EMPTY}', { env }), /undefined substitution \$\{EMPTY\}/);
  // A key set to null in the configuration blocks the environment.
  assert.deepEqual(value('EMQX_HOME = null\nh = ${EMQX_HOME}', { env }), { EMQX_HOME: null, h: null });
  // The configuration wins over the environment.
  assert.deepEqual(value('EMQX_HOME = here\nh = ${EMQX_HOME}', { env }), { EMQX_HOME: 'here', h: 'here' });
  assert.deepEqual(value('a = 1\na = ${?NOPE}', { env }), { a: 1 });
});

test('include "file", file(), required(file()) relative to the including file, and missing optional includes', () => {
  const readFile = memFs({
    '/etc-test/emqx.conf': '',
    '/etc-test/node.conf': 'node.name = "n@h"\ninclude "sub/more.conf"',
    '/etc-test/sub/more.conf': 'node.cookie = c\nfrom_sub = ${node.name}',
    '/etc-test/cluster.conf': 'name = c1',
  });
  const text = 'include "node.conf"\ninclude file("cluster.conf")\ninclude required(file("cluster.conf"))\ninclude "absent.conf"\ncluster { include required("cluster.conf") }';
  const doc = parseHocon(text, { file: '/etc-test/emqx.conf', readFile, env: NO_ENV });
  assert.deepEqual(doc.value, { node: { name: 'n@h', cookie: 'c' }, from_sub: 'n@h', name: 'c1', cluster: { name: 'c1' } });
});

test('an included file inside an object: its substitutions are relative to the include site first', () => {
  const readFile = memFs({ '/e/inc.conf': 'x = 1\ny = ${x}\nz = ${top}' });
  const doc = parseHocon('top = T\nsub { include "inc.conf" }', { file: '/e/main.conf', readFile, env: NO_ENV });
  assert.deepEqual(doc.value, { top: 'T', sub: { x: 1, y: 1, z: 'T' } });
});

test('include "name" without extension reads name.conf (and .json, .properties), as the reference does', () => {
  const readFile = memFs({ '/e/base.conf': 'a = 1', '/e/base.properties': 'a=0\nb.c=two' });
  assert.deepEqual(parseHocon('include "base"', { file: '/e/m.conf', readFile, env: NO_ENV }).value, { a: 1, b: { c: 'two' } });
});

test('parseHoconFile reads from disk; includes and symlinked cycles resolve through the real paths', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hocon-file-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'etc'));
  fs.writeFileSync(path.join(dir, 'etc', 'emqx.conf'), 'include "extra.conf"\nnode.name = emqx@127.0.0.1\n');
  fs.writeFileSync(path.join(dir, 'etc', 'extra.conf'), 'node.cookie = secret\n');
  const doc = parseHoconFile(path.join(dir, 'etc', 'emqx.conf'), { env: NO_ENV });
  assert.deepEqual(doc.value, { node: { cookie: 'secret', name: 'emqx@127.0.0.1' } });

  // A directory is an error when named with an extension, and no candidate without one.
  fs.mkdirSync(path.join(dir, 'etc', 'conf.d.conf'));
  fs.mkdirSync(path.join(dir, 'etc', 'plugins'));
  assert.deepEqual(parseHoconFile(path.join(dir, 'etc', 'emqx.conf'), { env: NO_ENV }).value.node, { cookie: 'secret', name: 'emqx@127.0.0.1' });
  fs.writeFileSync(path.join(dir, 'etc', 'dirs.conf'), 'include "plugins"\nx = 1\n  include "conf.d.conf"\n');
  assertError(() => parseHoconFile(path.join(dir, 'etc', 'dirs.conf'), { env: NO_ENV }), {
    code: 'hocon_include', file: path.join(dir, 'etc', 'dirs.conf'), line: 3, column: 11, reason: /cannot include "conf.d.conf": .*conf.d.conf: it is a directory/,
  });

  fs.writeFileSync(path.join(dir, 'a.conf'), 'include "link.conf"\n');
  fs.symlinkSync(path.join(dir, 'a.conf'), path.join(dir, 'link.conf'));
  assertError(() => parseHoconFile(path.join(dir, 'a.conf'), { env: NO_ENV }), {
    code: 'hocon_include', file: path.join(dir, 'a.conf'), line: 1, column: 9, reason: /include cycle: .*link.conf \(.*a.conf\) is already being included/,
  });
  assertError(() => parseHoconFile(path.join(dir, 'nope.conf')), {
    code: 'hocon_include', file: path.join(dir, 'nope.conf'), line: 1, column: 1, reason: /cannot read the file: no such file/,
  });
});

test('originOf gives the file, line and column where a key was last set', () => {
  const readFile = memFs({ '/e/node.conf': '\n  node.cookie = c' });
  const doc = parseHocon('node {\n  name = a@h\n}\ninclude "node.conf"\nnode.name = b@h\n', { file: '/e/emqx.conf', readFile, env: NO_ENV });
  assert.deepEqual(doc.originOf(['node', 'name']), { file: '/e/emqx.conf', line: 5, column: 1 });
  assert.deepEqual(doc.originOf(['node', 'cookie']), { file: '/e/node.conf', line: 2, column: 3 });
  assert.equal(doc.originOf(['nope']), undefined);

  const replaced = parseHocon('other { name = x }\nnode.name = a\nnode = ${other}\nnode { cookie = c }\n', { file: 'r.conf', env: NO_ENV });
  assert.deepEqual(replaced.originOf(['node', 'name']), { file: 'r.conf', line: 3, column: 1 });
  assert.deepEqual(replaced.originOf(['node', 'cookie']), { file: 'r.conf', line: 4, column: 8 });
  assert.deepEqual(replaced.originOf(['node']), { file: 'r.conf', line: 4, column: 8 });
});

test('parseHoconValue parses one value as if written k = <value>', () => {
  assert.deepEqual(parseHoconValue('[a@h1, b@h2]'), ['a@h1', 'b@h2']);
  assert.deepEqual(parseHoconValue('{ enable = true }'), { enable: true });
  assert.equal(parseHoconValue('emqx@127.0.0.1'), 'emqx@127.0.0.1');
  assert.equal(parseHoconValue('30s'), '30s');
  assert.equal(parseHoconValue('4370'), 4370);
  assert.equal(parseHoconValue('"quoted # not a comment"'), 'quoted # not a comment');
  assertError(() => parseHoconValue('[a, b'), { code: 'hocon_syntax', file: '<string>', line: 1, column: 6, reason: /expected '\]' to close the array opened at line 1/ });
  assertError(() => parseHoconValue('a = b'), { code: 'hocon_syntax', file: '<string>', line: 1, column: 3, reason: /expected the end of the value \(a newline or ','\), found '='/ });
});

// ---- errors, each with its exact position ----

test('error: missing closing brace names where the object was opened', () => {
  assertError(() => parseHocon('node {\n  name = x\n', { file: 'etc/emqx.conf' }), {
    code: 'hocon_syntax', file: 'etc/emqx.conf', line: 3, column: 1, reason: /expected '}' to close the object opened at line 1, found end of file/,
  });
});

test('error: unterminated strings', () => {
  assertError(() => parseHocon('a = "abc\nb = 1', { file: 'x.conf' }), {
    code: 'hocon_syntax', file: 'x.conf', line: 1, column: 9, reason: /unterminated string: expected a closing '"' before end of line/,
  });
  assertError(() => parseHocon('a = """abc\nb = 1', { file: 'x.conf' }), {
    code: 'hocon_syntax', file: 'x.conf', line: 1, column: 5, reason: /expected '"""' to close the triple-quoted string, found end of file/,
  });
});

test('error: bad escapes in quoted strings', () => {
  assertError(() => parseHocon('a = "x\\qy"', { file: 'x.conf' }), {
    code: 'hocon_syntax', file: 'x.conf', line: 1, column: 7, reason: /bad escape '\\q' in quoted string/,
  });
  assertError(() => parseHocon('\n  a = "\\u12G4"', { file: 'x.conf' }), {
    code: 'hocon_syntax', file: 'x.conf', line: 2, column: 8, reason: /expected four hexadecimal digits after '\\u'/,
  });
});

test('error: include cycle and missing required include point at the include', () => {
  const readFile = memFs({ '/e/a.conf': 'x = 1\ninclude "b.conf"', '/e/b.conf': '\n\ninclude "a.conf"' });
  assertError(() => parseHocon('include "a.conf"', { file: '/e/main.conf', readFile }), {
    code: 'hocon_include', file: '/e/b.conf', line: 3, column: 9, reason: /include cycle: \/e\/a.conf is already being included/,
  });
  assertError(() => parseHocon('a = 1\n  include required("gone.conf")', { file: '/e/main.conf', readFile }), {
    code: 'hocon_include', file: '/e/main.conf', line: 2, column: 20, reason: /required include file not found: \/e\/gone.conf/,
  });
  assertError(() => parseHocon('include required(file("gone.conf"))', { file: '/e/main.conf', readFile }), {
    code: 'hocon_include', file: '/e/main.conf', line: 1, column: 23, reason: /required include file not found/,
  });
  assertError(() => parseHocon('include url("http://127.0.0.1/x.conf")', { file: '/e/main.conf', readFile }), {
    code: 'hocon_syntax', file: '/e/main.conf', line: 1, column: 1, reason: /only file includes are supported/,
  });
  assertError(() => parseHocon('include other.conf', { file: '/e/main.conf', readFile }), {
    code: 'hocon_syntax', file: '/e/main.conf', line: 1, column: 1, reason: /expected a quoted file name after include/,
  });
  assertError(() => parseHocon('a = [ { include "a.conf" } ]', { file: '/e/main.conf', readFile }), {
    code: 'hocon_include', file: '/e/main.conf', line: 1, column: 17, reason: /include is not allowed inside an array/,
  });
});

test('error: substitution cycles and undefined substitutions point at the substitution', () => {
  // Reported at the substitution that closes the loop, with the chain that led there.
  assertError(() => parseHocon('a = ${b}\nb = x ${a}', { file: 'c.conf', env: NO_ENV }), {
    code: 'hocon_substitution', file: 'c.conf', line: 1, column: 5, reason: /substitution cycle: \$\{b\} depends on itself \(\$\{a\} -> \$\{b\} -> b\)/,
  });
  assertError(() => parseHocon('a = ${a}', { file: 'c.conf', env: NO_ENV }), {
    code: 'hocon_substitution', file: 'c.conf', line: 1, column: 5, reason: /substitution cycle: \$\{a\}/,
  });
  assertError(() => parseHocon('x = 1\nnode.name = ${cluster.nam}', { file: 'c.conf', env: NO_ENV }), {
    code: 'hocon_substitution', file: 'c.conf', line: 2, column: 13, reason: /undefined substitution \$\{cluster.nam\}: expected the key cluster.nam to be defined/,
  });
  assertError(() => parseHocon('h = ${NO_SUCH_VAR}', { file: 'c.conf', env: NO_ENV }), {
    code: 'hocon_substitution', file: 'c.conf', line: 1, column: 5, reason: /no environment variable NO_SUCH_VAR is set/,
  });
});

test('error: other syntax errors say what was expected', () => {
  assertError(() => parseHocon('a = 1 +2', { file: 'x.conf' }), {
    code: 'hocon_syntax', file: 'x.conf', line: 1, column: 7, reason: /reserved character '\+'/,
  });
  assertError(() => parseHocon('a = \n}', { file: 'x.conf' }), {
    code: 'hocon_syntax', file: 'x.conf', line: 2, column: 1, reason: /expected a value for key a, found '}'/,
  });
  assertError(() => parseHocon('key only\nb = 1', { file: 'x.conf' }), {
    code: 'hocon_syntax', file: 'x.conf', line: 1, column: 9, reason: /expected ':', '=' or '\{' after key key only, found end of line/,
  });
  assertError(() => parseHocon('a = 1\nnode.name', { file: 'x.conf' }), {
    code: 'hocon_syntax', file: 'x.conf', line: 2, column: 10, reason: /expected ':', '=' or '\{' after key node.name, found end of file/,
  });
  assertError(() => parseHocon('cluster.etcd.server = http://127.0.0.1:2379', { file: 'x.conf' }), {
    code: 'hocon_syntax', file: 'x.conf', line: 1, column: 27, reason: /expected the end of key cluster.etcd.server \(a newline or ','\), found ':' \(quote the value/,
  });
  assertError(() => parseHocon('a = [1, 2] x', { file: 'x.conf' }), {
    code: 'hocon_syntax', file: 'x.conf', line: 1, column: 12, reason: /cannot concatenate an array with a string/,
  });
  assertError(() => parseHocon('a = 1\na += 2', { file: 'x.conf' }), {
    code: 'hocon_syntax', file: 'x.conf', line: 2, column: 1, reason: /'\+=' appends to an array, but a is a number/,
  });
  assertError(() => parseHocon('a..b = 1', { file: 'x.conf' }), {
    code: 'hocon_syntax', file: 'x.conf', line: 1, column: 1, reason: /empty element in key path/,
  });
  // A comma may follow the newline that ends an element or field (the reference eats one); two may not.
  assert.deepEqual(parseHocon('a = [1\n, 2]\nb = 1\n, c = 2\nd = [\n  {x = 1}\n  ,\n  {x = 2}\n]', { file: 'x.conf' }).value, { a: [1, 2], b: 1, c: 2, d: [{ x: 1 }, { x: 2 }] });
  assertError(() => parseHocon('a = [1\n,\n, 2]', { file: 'x.conf' }), {
    code: 'hocon_syntax', file: 'x.conf', line: 3, column: 1, reason: /expected an array element or '\]', found ','/,
  });
  assertError(() => parseHocon('b = 1\n,\n, c = 2', { file: 'x.conf' }), {
    code: 'hocon_syntax', file: 'x.conf', line: 3, column: 1, reason: /found a second ','/,
  });
  assertError(() => parseHocon('a = [1,,2]', { file: 'x.conf' }), {
    code: 'hocon_syntax', file: 'x.conf', line: 1, column: 8, reason: /expected an array element or '\]', found ','/,
  });
  assertError(() => parseHocon('[1, 2]', { file: 'x.conf' }), {
    code: 'hocon_syntax', file: 'x.conf', line: 1, column: 1, reason: /expected an object at the root/,
  });
});
