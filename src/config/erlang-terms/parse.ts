// The grammar of a term file. erl_parse reads each term as an Erlang *expression* (the body of a
// function clause) and only then refuses what is not a literal ("bad term"), so this parser
// accepts operators, variables, calls and records as syntax in order to report the same error,
// on the same line, that `erl` does.
import { packBits, segmentBits } from './binary.js';
import { describe } from './print.js';
import { ScanError, Scanner, type Token } from './scan.js';
import { ErlangTermsError, type ErlangTermsDoc, type ErlTerm, type Position } from './types.js';

/** Parses a whole file's text; throws ErlangTermsError naming `file`, the line and the problem. */
export function parseDocument(text: string, file: string): ErlangTermsDoc {
  const positions = new WeakMap<object, Position>();
  const scanner = new Scanner(text);
  const terms: ErlTerm[] = [];
  for (;;) {
    const tokens = readTermTokens(scanner, file);
    if (!tokens) break;
    terms.push(new TermParser(tokens, file, positions).term());
  }
  return { terms, position: (t) => (typeof t === 'object' ? positions.get(t) : undefined) };
}

/** The tokens of one term up to and including its dot; undefined at the end of the text. */
function readTermTokens(scanner: Scanner, file: string): Token[] | undefined {
  const tokens: Token[] = [];
  for (;;) {
    let tok: Token;
    try {
      tok = scanner.next();
    } catch (err) {
      if (err instanceof ScanError) throw new ErlangTermsError(file, err.line, err.column, err.reason);
      throw err;
    }
    if (tok.kind === 'eof') {
      if (tokens.length === 0) return undefined;
      // erl reports a missing final dot at the last token read.
      const last = tokens[tokens.length - 1] as Token;
      tokens.push({ ...tok, line: last.line, column: last.column });
      return tokens;
    }
    tokens.push(tok);
    if (tok.kind === 'dot') return tokens;
  }
}

/** What the expression parser built: a literal term, or an expression that is no term. */
type Parsed = { readonly term: ErlTerm; readonly numberLiteral?: boolean } | { readonly term?: undefined };
const NOT_A_TERM: Parsed = {};

const COMPARISON = new Set(['==', '/=', '=<', '<', '>=', '>', '=:=', '=/=']);
// Operators binding more loosely than comparisons; they separate comparison chains.
const LOOSE = new Set(['=', '!', 'andalso', 'orelse', 'catch']);
const BINARY_OPS = new Set([
  ...COMPARISON, ...LOOSE, '+', '-', '*', '/', '++', '--',
  'div', 'rem', 'band', 'bor', 'bxor', 'bsl', 'bsr', 'and', 'or', 'xor',
]);
const MAX_NESTING = 500;
const CLOSER: Readonly<Record<string, string>> = { '{': '}', '[': ']', '<<': '>>', '(': ')', '#': '}' };

class TermParser {
  private i = 0;
  private depth = 0;
  /** Opening brackets not yet closed, for saying which one a syntax error leaves open. */
  private readonly open: Token[] = [];

  constructor(private readonly tokens: readonly Token[], private readonly file: string, private readonly positions: WeakMap<object, Position>) {}

  term(): ErlTerm {
    const first = this.peek();
    let parsed = this.expr();
    let hint: string | undefined;
    // erl_parse reads a term as the body of a function clause: `A, B` parses (and is no term),
    // and `;` starts another clause.
    while (this.is(',') || this.is(';')) {
      if (this.take().text === ',') {
        this.expr();
        hint = "several terms separated by ',': put them in a list [A, B] or end each with '.'";
      } else {
        this.clause();
        hint = undefined;
      }
      parsed = NOT_A_TERM;
    }
    if (this.peek().kind !== 'eof') this.expect('dot', "expected '.' to end the term");
    this.expect('dot');
    if (parsed.term === undefined) throw new ErlangTermsError(this.file, first.line, first.column, 'bad term', hint);
    return parsed.term;
  }

  /** `name(Args) [when Guards] -> Body` after a `;`. */
  private clause(): void {
    const name = this.take();
    if (name.kind !== 'atom') this.syntaxError(name);
    this.expect('(');
    this.sequence(')', () => this.expr());
    if (this.is('when', 'reserved')) {
      this.take();
      this.expr();
      while (this.is(',') || this.is(';')) {
        this.take();
        this.expr();
      }
    }
    this.expect('->');
    this.expr();
    while (this.is(',')) {
      this.take();
      this.expr();
    }
  }

  private peek(): Token {
    return this.tokens[this.i] ?? (this.tokens[this.tokens.length - 1] as Token);
  }

  private take(): Token {
    const t = this.peek();
    if (this.i < this.tokens.length) this.i++;
    return t;
  }

  private is(text: string, kind: Token['kind'] = 'punct'): boolean {
    const t = this.peek();
    return t.kind === kind && t.text === text;
  }

  private syntaxError(t: Token, hint?: string): never {
    const top = this.open[this.open.length - 1];
    let h = hint;
    if (h === undefined && top !== undefined) {
      const closer = CLOSER[top.text] ?? '';
      const strayCloser = t.kind === 'punct' && Object.values(CLOSER).includes(t.text) && t.text !== closer;
      if (t.kind === 'dot' || t.kind === 'eof' || strayCloser) {
        h = `expected '${closer}' to close the '${top.text === '#' ? '#{' : top.text}' opened at line ${top.line}, column ${top.column}`;
      }
    }
    if (h === undefined && t.kind === 'eof') h = "the text ends before the term's final '.'";
    throw new ErlangTermsError(this.file, t.line, t.column, `syntax error before: ${describe(t)}`, h);
  }

  private expect(text: string, hint?: string): void {
    const t = this.peek();
    if (text === 'dot' ? t.kind !== 'dot' : !(t.kind === 'punct' && t.text === text)) this.syntaxError(t, hint);
    this.take();
  }

  private at<T extends ErlTerm>(term: T, t: Token): T {
    if (typeof term === 'object') this.positions.set(term, { line: t.line, column: t.column });
    return term;
  }

  /** Bounds recursion so that a pathological file is an error, not a stack overflow. */
  private nested(parse: () => Parsed): Parsed {
    if (++this.depth > MAX_NESTING) {
      const t = this.peek();
      throw new ErlangTermsError(this.file, t.line, t.column, `terms nested deeper than ${MAX_NESTING} levels`);
    }
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private expr(): Parsed {
    return this.nested(() => this.exprAt());
  }

  private exprAt(): Parsed {
    if (this.is('catch', 'reserved')) {
      this.take();
      this.expr();
      return NOT_A_TERM;
    }
    let left = this.unary();
    let comparisons = 0;
    for (;;) {
      const t = this.peek();
      const op = (t.kind === 'punct' || t.kind === 'reserved') && BINARY_OPS.has(t.text) ? t.text : undefined;
      if (op === undefined) return left;
      if (COMPARISON.has(op) && ++comparisons > 1) this.syntaxError(t);
      if (LOOSE.has(op)) comparisons = 0;
      this.take();
      this.unary();
      left = NOT_A_TERM;
    }
  }

  private unary(): Parsed {
    const t = this.peek();
    if ((t.kind === 'punct' && (t.text === '-' || t.text === '+')) || (t.kind === 'reserved' && (t.text === 'not' || t.text === 'bnot'))) {
      this.take();
      const operand = this.nested(() => this.unary());
      // erl_parse folds a sign into a number literal; anything else is an expression.
      if (t.kind === 'punct' && operand.term !== undefined && operand.numberLiteral === true) {
        if (t.text === '+') return { term: operand.term };
        return { term: negate(operand.term) };
      }
      return NOT_A_TERM;
    }
    return this.postfix();
  }

  /**
   * erl_parse's expr_800/expr_700 levels: `M:F`, one call `F(Args)`, and record/map updates.
   * Calls do not chain (`f()()` is a syntax error), and maps or records cannot be called.
   */
  private postfix(): Parsed {
    const callable = !this.is('#');
    let p = this.primary();
    if (callable && this.is(':')) {
      this.take();
      this.primary();
      p = NOT_A_TERM;
    }
    if (callable && this.is('(')) {
      this.take();
      this.sequence(')', () => this.expr());
      return NOT_A_TERM;
    }
    while (this.is('#')) {
      this.take();
      this.recordOrMapUpdate();
      p = NOT_A_TERM;
    }
    return p;
  }


  /** Comma-separated items up to `close`; the items as parsed. */
  private sequence(close: string, item: () => Parsed): Parsed[] {
    const items: Parsed[] = [];
    if (this.is(close)) {
      this.take();
      return items;
    }
    for (;;) {
      items.push(item());
      if (this.is(',')) {
        this.take();
        continue;
      }
      this.expect(close);
      return items;
    }
  }

  private primary(): Parsed {
    const t = this.peek();
    switch (t.kind) {
      case 'atom':
        this.take();
        return { term: this.at({ atom: t.text }, t) };
      case 'var':
        this.take();
        return NOT_A_TERM;
      case 'integer':
      case 'char': {
        this.take();
        const v = t.int ?? 0n;
        return { term: toInt(v), numberLiteral: true };
      }
      case 'float':
        this.take();
        return { term: { float: t.float ?? 0 }, numberLiteral: true };
      case 'string': {
        let s = '';
        while (this.peek().kind === 'string') s += this.take().text;
        return { term: s };
      }
      case 'punct':
        if (CLOSER[t.text] !== undefined) {
          this.open.push(t);
          const inner = this.bracketed(t);
          this.open.pop();
          return inner;
        }
        return this.syntaxError(t);
      case 'reserved':
        if (t.text === 'fun') return this.funReference();
        return this.syntaxError(t);
      default:
        return this.syntaxError(t);
    }
  }

  private bracketed(t: Token): Parsed {
    switch (t.text) {
      case '{': {
        this.take();
        const items = this.sequence('}', () => this.expr());
        return allTerms(items, (ts) => this.at({ tuple: ts }, t));
      }
      case '[':
        return this.list(t);
      case '<<':
        return this.binary(t);
      case '#': {
        this.take();
        if (this.peek().kind === 'atom') {
          this.recordOrMapUpdate();
          return NOT_A_TERM;
        }
        this.expect('{');
        const pairs = this.sequence('}', () => this.association());
        return allTerms(pairs, (ts) => {
          const map = ts.map((pair) => pair as readonly [ErlTerm, ErlTerm]);
          return this.at({ map }, t);
        });
      }
      case '(': {
        this.take();
        const inner = this.expr();
        this.expect(')');
        return inner;
      }
      default:
        this.syntaxError(t);
    }
  }

  /** After `#`: `name{Field = Expr, ...}`, `name.field` or (map update) `{K => V, ...}`. */
  private recordOrMapUpdate(): void {
    if (this.is('{')) {
      this.take();
      this.sequence('}', () => this.association());
      return;
    }
    const name = this.take();
    if (name.kind !== 'atom') this.syntaxError(name);
    if (this.is('.')) {
      this.take();
      const field = this.take();
      if (field.kind !== 'atom') this.syntaxError(field);
      return;
    }
    this.expect('{');
    this.sequence('}', () => {
      const field = this.take();
      if (field.kind !== 'atom' && field.kind !== 'var') this.syntaxError(field);
      this.expect('=');
      this.expr();
      return NOT_A_TERM;
    });
  }

  /** `fun Name/Arity` and `fun Module:Name/Arity`; fun bodies are not term syntax. */
  private funReference(): Parsed {
    this.take();
    const first = this.take();
    if (first.kind !== 'atom' && first.kind !== 'var') this.syntaxError(first);
    if (this.is(':')) {
      this.take();
      const fn = this.take();
      if (fn.kind !== 'atom' && fn.kind !== 'var') this.syntaxError(fn);
    }
    this.expect('/');
    const arity = this.take();
    if (arity.kind !== 'integer' && arity.kind !== 'var') this.syntaxError(arity);
    return NOT_A_TERM;
  }

  /** After `||` in a list or binary: generators and filters up to `close`. */
  private comprehension(close: string): Parsed {
    this.take();
    for (;;) {
      this.expr();
      if (this.is('<-') || this.is('<=')) {
        this.take();
        this.expr();
      }
      if (!this.is(',')) break;
      this.take();
    }
    this.expect(close);
    return NOT_A_TERM;
  }

  /** `K => V` as a parsed tuple-ish pair; `:=` is only valid in map updates. */
  private association(): Parsed {
    const k = this.expr();
    const op = this.peek();
    if (!(op.kind === 'punct' && (op.text === '=>' || op.text === ':='))) this.syntaxError(op);
    this.take();
    const v = this.expr();
    if (op.text === ':=' || k.term === undefined || v.term === undefined) return NOT_A_TERM;
    return { term: [k.term, v.term] };
  }

  private list(open: Token): Parsed {
    this.take();
    if (this.is(']')) {
      this.take();
      return { term: this.at([], open) };
    }
    const items: Parsed[] = [this.expr()];
    if (this.is('||')) return this.comprehension(']');
    while (this.is(',')) {
      this.take();
      items.push(this.expr());
    }
    let tail: Parsed = { term: [] };
    if (this.is('|')) {
      this.take();
      tail = this.expr();
    }
    this.expect(']');
    const tailTerm = tail.term;
    if (tailTerm === undefined) return NOT_A_TERM;
    return allTerms(items, (ts) => this.at(withTail(ts, tailTerm), open));
  }

  private binary(open: Token): Parsed {
    this.take();
    if (this.is('>>')) {
      this.take();
      return { term: this.at({ binary: new Uint8Array() }, open) };
    }
    const bits: number[] = [];
    let ok = true;
    const segment = (): void => {
      // A segment is `prefix_op expr_max`: maps and records (`#`) need parentheses there.
      if (this.is('#')) this.syntaxError(this.peek());
      const sign = this.is('-') || this.is('+') ? this.take().text : undefined;
      if (this.is('#')) this.syntaxError(this.peek());
      const operand = this.primary();
      const value: Parsed = sign === undefined ? operand
        : operand.term !== undefined && operand.numberLiteral === true ? { term: sign === '-' ? negate(operand.term) : operand.term }
          : NOT_A_TERM;
      let size: Parsed | undefined;
      if (this.is(':')) {
        this.take();
        if (this.is('#')) this.syntaxError(this.peek());
        size = this.primary();
      }
      const types: string[] = [];
      if (this.is('/')) {
        this.take();
        do {
          const ty = this.take();
          if (ty.kind !== 'atom') this.syntaxError(ty);
          types.push(ty.text);
          if (this.is(':')) {
            this.take();
            const unit = this.take();
            if (unit.kind !== 'integer') this.syntaxError(unit);
            types.push(`unit:${unit.text}`);
          }
        } while (this.is('-') && this.take());
      }
      const encoded = segmentBits(value.term, size, types);
      if (encoded === undefined) ok = false;
      else bits.push(...encoded);
    };
    segment();
    if (this.is('||')) return this.comprehension('>>');
    while (this.is(',')) {
      this.take();
      segment();
    }
    this.expect('>>');
    return ok ? { term: this.at(packBits(bits), open) } : NOT_A_TERM;
  }

}

function toInt(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function negate(t: ErlTerm): ErlTerm {
  if (typeof t === 'number') return t === 0 ? 0 : -t;
  if (typeof t === 'bigint') return toInt(-t);
  if (typeof t === 'object' && 'float' in t) return { float: -t.float };
  return t;
}

function allTerms(items: readonly Parsed[], build: (terms: ErlTerm[]) => ErlTerm): Parsed {
  const terms: ErlTerm[] = [];
  for (const it of items) {
    if (it.term === undefined) return NOT_A_TERM;
    terms.push(it.term);
  }
  return { term: build(terms) };
}

/** `[Items | Tail]`: a proper list when the tail is one (a string tail is a list of its chars). */
function withTail(items: ErlTerm[], tail: ErlTerm): ErlTerm {
  if (typeof tail === 'string') return [...items, ...Array.from(tail, (c) => c.codePointAt(0) ?? 0)];
  if (Array.isArray(tail)) return [...items, ...(tail as readonly ErlTerm[])];
  if (typeof tail === 'object' && 'list' in tail && 'tail' in tail) return { list: [...items, ...tail.list], tail: tail.tail };
  return { list: items, tail };
}

