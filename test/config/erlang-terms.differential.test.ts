// Our parser against Erlang's own file:consult: the shipped sample and seeded generated files,
// well-formed and broken. Well-formed files must give the same terms; broken ones must be
// rejected by both, on the same line, with the same message.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { ErlangTermsError, parseErlangTerms } from '../../src/config/erlang-terms.js';
import { consultMany, consultShared, escriptPath, toOracleValue, type OracleResult } from '../helpers/consult-oracle.js';
import { prng } from '../helpers/prng.js';
import { skipOrFail } from '../helpers/prerequisite.js';

const SAMPLES = resolve(fileURLToPath(new URL('../../../shared/erlang-terms/', import.meta.url)));
const ROOT = resolve(fileURLToPath(new URL('../../', import.meta.url)));
const noErlang = escriptPath() === undefined ? 'escript (erlang-base) is not installed: no Erlang oracle' : undefined;

function ours(text: string, file: string): OracleResult {
  try {
    return { ok: true, value: toOracleValue(parseErlangTerms(text, file).terms) };
  } catch (err) {
    if (err instanceof ErlangTermsError) return { ok: false, line: err.line, message: err.reason };
    throw err;
  }
}

class Gen {
  constructor(private readonly r: () => number) {}
  int(n: number): number { return Math.floor(this.r() * n); }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)] as T; }

  /** Whitespace, newlines and comments between tokens. */
  ws(): string {
    return this.pick(['', ' ', ' ', '\n', '\n  ', '\t', ' % a comment, with ] and }\n', '\r\n', '\n\n %% two\n']);
  }

  /** Quoted-text contents: quotes only escaped; letters never spell a reserved word. */
  text(): string {
    const parts = ['a', 'b', 'x', 'z', 'q', 'k', 'p', 'm', '/', '.', '_', '-', ' ', '0', '9', ':', '{', '}', ',', '[', '@',
      '\\n', '\\t', '\\\\', '\\"', "\\'", '\\x41', '\\x{263a}', '\\x{1F600}', '\\101', '\\^A', '\\s', '\\e', '\\q', 'é', '\n'];
    let s = '';
    for (let i = this.int(12); i > 0; i--) s += this.pick(parts);
    return s;
  }

  atom(): string {
    if (this.r() < 0.6) return this.pick(['a', 'verify_peer', 'server', 'client', 'true', 'false', 'x@y', 'k9_Z', 'certfile', 'undefined']);
    return `'${this.text()}'`;
  }

  string(): string {
    const one = (): string => `"${this.text()}"`;
    return this.r() < 0.2 ? `${one()}${this.ws()}${one()}` : one();
  }

  number(): string {
    return this.pick([
      () => String(this.int(1000)),
      () => `-${this.int(100000)}`,
      () => `- ${this.int(10)}`,
      () => `16#${this.int(65536).toString(16)}`,
      () => `2#${this.int(64).toString(2)}`,
      () => `36#Zz`,
      () => '1_000_000',
      () => '123456789012345678901234567890',
      () => `-98765432109876543210`,
      () => `$${this.pick(['a', 'Z', ' ', '\\n', '\\x{41}', '\\^G', '\\\\', '"', "'", '%'])}`,
      () => `${this.int(100)}.${this.int(1000)}`,
      () => `${this.int(10)}.${this.int(100)}e${this.pick(['', '-', '+'])}${this.int(30)}`,
      () => `-${this.int(10)}.5`,
      () => '0.1',
    ])();
  }

  binary(): string {
    const seg = (): string => this.pick([() => String(this.int(128)), () => `"${this.pick(['abc', '', 'x y', '\\n'])}"`, () => `${this.int(128)}:16`,
      () => `"\\x{263a}"/utf8`, () => `$a`])();
    const n = this.int(4);
    return `<<${Array.from({ length: n }, seg).join(`,${this.ws()}`)}>>`;
  }

  term(depth: number): string {
    const leaf = depth <= 0 || this.r() < 0.35;
    if (leaf) return this.pick([() => this.atom(), () => this.string(), () => this.number(), () => this.binary(), () => '[]', () => '{}', () => '""'])();
    const items = (): string => {
      const n = this.int(5);
      return Array.from({ length: n }, () => `${this.ws()}${this.term(depth - 1)}${this.ws()}`).join(',');
    };
    return this.pick([
      () => `{${items()}}`,
      () => `[${items()}]`,
      () => `[${this.term(depth - 1)} | "tail"]`,
      () => `[$a,$b|[${this.term(depth - 1)}]]`,
      () => `{${this.atom()},${this.ws()}${this.term(depth - 1)}}`,
    ])();
  }

  file(): string {
    const n = 1 + this.int(3);
    let s = this.pick(['', '%% header\n', '\n\n']);
    for (let i = 0; i < n; i++) s += `${this.term(3)}${this.ws()}.${this.pick(['\n', ' ', '\n\n', '%c\n'])}`;
    return s;
  }

  /** Breaks a well-formed file in one of the ways operators do. */
  break(text: string): string {
    const at = (re: RegExp): number[] => [...text.matchAll(re)].map((m) => m.index ?? 0);
    const cut = (i: number, len: number, insert = ''): string => text.slice(0, i) + insert + text.slice(i + len);
    const kinds = [
      () => { const c = at(/[\]}]/g); return c.length ? cut(this.pick(c), 1) : undefined; },
      () => { const c = at(/[\]}]/g); return c.length ? cut(this.pick(c), 0, ',') : undefined; },
      () => { const c = at(/[,]/g); return c.length ? cut(this.pick(c), 1, ' ') : undefined; },
      () => { const c = at(/,/g); return c.length ? cut(this.pick(c), 0, ',') : undefined; },
      () => { const c = at(/\.(\s|%|$)/g); return c.length ? cut(c[c.length - 1] as number, 1) : undefined; },
      () => { const c = at(/[{[,]/g); return c.length ? cut(this.pick(c) + 1, 0, ' Var ') : undefined; },
      () => { const c = at(/[{[,]/g); return c.length ? cut(this.pick(c) + 1, 0, ' 1 + 2, ') : undefined; },
      () => { const c = at(/[{[,]/g); return c.length ? cut(this.pick(c) + 1, 0, ' f(x), ') : undefined; },
      () => { const c = at(/[{[,]/g); return c.length ? cut(this.pick(c) + 1, 0, ' ) ') : undefined; },
      () => { const c = at(/[{[,]/g); return c.length ? cut(this.pick(c) + 1, 0, this.pick([' #r{a = 1}, ', '\n[X || X <- [1]], ', ' catch x, ', ' fun f/1, ', ' <<1:X>>, ', ' M#{a => 1}, '])) : undefined; },
      () => { const c = at(/[{[,]/g); return c.length ? cut(this.pick(c) + 1, 0, '\n16#g ') : undefined; },
      () => { const c = at(/[{[,]/g); return c.length ? cut(this.pick(c) + 1, 0, '\n"\\x{zz}" ') : undefined; },
      () => { const c = at(/"/g); return c.length ? cut(c[c.length - 1] as number, 1) : undefined; },
      () => `${text}\n{unfinished,\n [1, 2\n`,
      () => { const c = at(/[}\]]/g); return c.length ? cut(this.pick(c), 1, this.pick(['}', ']', '>>'])) : undefined; },
    ];
    for (let tries = 0; tries < 10; tries++) {
      const broken = this.pick(kinds)();
      if (broken !== undefined && broken !== text) return broken;
    }
    return `${text}]`;
  }
}

test('the shipped EMQX ssl_dist.conf and its template parse as Erlang reads them', async (t) => {
  if (noErlang) return skipOrFail(t, noErlang);
  for (const name of ['ssl_dist.conf', 'ssl_dist.conf.template']) {
    const file = join(SAMPLES, name);
    const expected = await consultShared(file);
    assert.equal(expected.ok, true, `erl rejects ${name}`);
    assert.deepEqual(ours(await readFile(file, 'utf8'), file), expected);
  }
});

test('our etc/ssl_dist.conf reads the same in Erlang', async (t) => {
  if (noErlang) return skipOrFail(t, noErlang);
  const file = join(ROOT, 'etc/ssl_dist.conf');
  const expected = await consultShared(file);
  assert.equal(expected.ok, true, `erl rejects etc/ssl_dist.conf: ${JSON.stringify(expected)}`);
  assert.deepEqual(ours(await readFile(file, 'utf8'), file), expected);
});

test('400 generated files, 200 of them broken, read as Erlang reads them (terms, error lines and messages)', { timeout: 120_000 }, async (t) => {
  if (noErlang) return skipOrFail(t, noErlang);
  const dir = await mkdtemp(join(tmpdir(), 'erl-terms-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const g = new Gen(prng(20261125));
  const cases: { file: string; text: string; broken: boolean }[] = [];
  for (let i = 0; i < 400; i++) {
    const good = g.file();
    const broken = i % 2 === 1;
    const text = broken ? g.break(good) : good;
    const file = join(dir, `case${String(i).padStart(3, '0')}.conf`);
    await writeFile(file, text);
    cases.push({ file, text, broken });
  }
  const expected = await consultMany(cases.map((c) => c.file));
  let rejected = 0;
  cases.forEach((c, i) => {
    const want = expected[i] as OracleResult;
    const got = ours(c.text, c.file);
    const context = `${c.file}:\n${c.text}`;
    if (!want.ok) {
      rejected++;
      assert.equal(got.ok, false, `erl rejects (line ${want.line}: ${want.message}), we accept: ${context}`);
      if (!got.ok) {
        assert.equal(got.line, want.line, `erl: ${want.message}; ours: ${got.message}; ${context}`);
        assert.equal(got.message, want.message, context);
      }
    } else if ('unprintable' in want) {
      assert.equal(got.ok, true, `erl accepts, we reject: ${context}`);
    } else {
      assert.deepEqual(got, want, context);
    }
  });
  // The corpus must exercise both paths, or the comparison proves little.
  assert.ok(rejected >= 150, `only ${rejected} of the broken files are rejected by erl`);
  t.diagnostic(`${rejected} rejected by both, on the same line with the same message`);
});

test('600 character-level mutations of real files read as Erlang reads them', { timeout: 120_000 }, async (t) => {
  if (noErlang) return skipOrFail(t, noErlang);
  const dir = await mkdtemp(join(tmpdir(), 'erl-mut-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const bases = [
    await readFile(join(ROOT, 'etc/ssl_dist.conf'), 'utf8'),
    await readFile(join(SAMPLES, 'ssl_dist.conf'), 'utf8'),
    '[{a, <<1,"x":16, 2.5/float, <<7:3>>/bits>>},\n #{k => [1|2]}, $\\n,\n 16#1F, -1.5e-3, \'q\\\'a\', "s\\x{41}"].\n{b, [$a|"bc"]}.\n',
  ];
  // Punctuation only: inserted letters could spell keywords (case, fun, ...) whose full
  // expression grammar a term parser does not need.
  const alphabet = Array.from('[]{}()<>,.|#$%"\'\\:;=+-*/!?@_ \n\tA1');
  const r = prng(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const cases: { file: string; text: string }[] = [];
  for (let i = 0; i < 600; i++) {
    const chars = Array.from(pick(bases));
    for (let k = 1 + Math.floor(r() * 3); k > 0; k--) {
      const at = Math.floor(r() * chars.length);
      const op = Math.floor(r() * 3);
      if (op === 0) chars.splice(at, 1);
      else if (op === 1) chars.splice(at, 0, pick(alphabet));
      else chars[at] = pick(alphabet);
    }
    const file = join(dir, `mut${String(i).padStart(3, '0')}.conf`);
    const text = chars.join('');
    await writeFile(file, text);
    cases.push({ file, text });
  }
  const expected = await consultMany(cases.map((c) => c.file));
  let rejected = 0;
  cases.forEach((c, i) => {
    const want = expected[i] as OracleResult;
    const context = `${c.file}:\n${c.text}`;
    let got: OracleResult;
    try {
      const terms = parseErlangTerms(c.text, c.file).terms;
      got = 'unprintable' in want ? { ok: true, unprintable: true } : { ok: true, value: toOracleValue(terms) };
    } catch (err) {
      if (!(err instanceof ErlangTermsError)) throw err;
      got = { ok: false, line: err.line, message: err.reason };
    }
    if (!want.ok) rejected++;
    if (!want.ok && want.line === 0) assert.equal(got.ok, false, `erl crashes, we accept: ${context}`);
    else assert.deepEqual(got, want, context);
  });
  assert.ok(rejected >= 200 && rejected <= 500, `${rejected} of 600 rejected: the mutations do not exercise both paths`);
  t.diagnostic(`${rejected} of 600 rejected by both, on the same line with the same message`);
});
