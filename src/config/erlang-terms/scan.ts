// Tokens of Erlang term text, as erl_scan produces them for file:consult. Only what a term file
// can hold is given meaning; the rest of Erlang's punctuation is still recognised so that an
// error names the same token `erl` would.
import { writeQuoted } from './print.js';

export type TokenKind = 'atom' | 'var' | 'char' | 'integer' | 'float' | 'string' | 'punct' | 'reserved' | 'dot' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** Punctuation/reserved text, atom or variable name, string contents. */
  readonly text: string;
  /** Integer (and char) value. */
  readonly int?: bigint;
  readonly float?: number;
  readonly line: number;
  readonly column: number;
}

export class ScanError extends Error {
  constructor(readonly reason: string, readonly line: number, readonly column: number) {
    super(reason);
    this.name = 'ScanError';
  }
}

const RESERVED = new Set([
  'after', 'and', 'andalso', 'band', 'begin', 'bnot', 'bor', 'bsl', 'bsr', 'bxor', 'case', 'catch',
  'cond', 'div', 'end', 'fun', 'if', 'let', 'not', 'of', 'or', 'orelse', 'receive', 'rem', 'try',
  'when', 'xor',
]);

// Longest first, so that `=:=` wins over `=`.
const PUNCT = [
  '...', '=:=', '=/=', '<:-', '<:=', '::', ':=', '->', '=>', '<-', '<=', '>=', '=<', '==', '/=', '++', '--',
  '<<', '>>', '||', '..', '?=',
  '(', ')', '{', '}', '[', ']', ',', ';', ':', '|', '#', '+', '-', '*', '/', '<', '>', '=', '!', '?', '.',
];

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
// erl_scan's white space: control characters, space, and the Latin-1 range \200-\240.
const isWhite = (c: string): boolean => {
  const n = c.codePointAt(0) ?? 999;
  return n <= 32 || (n >= 0x80 && n <= 0xa0);
};
const isLower = (c: string): boolean => (c >= 'a' && c <= 'z') || (c >= 'ß' && c <= 'ÿ' && c !== '÷');
const isUpper = (c: string): boolean => (c >= 'A' && c <= 'Z') || c === '_' || (c >= 'À' && c <= 'Þ' && c !== '×');
const isNameChar = (c: string): boolean => isLower(c) || isUpper(c) || isDigit(c) || c === '@';

function digitValue(c: string): number {
  if (isDigit(c)) return c.charCodeAt(0) - 48;
  const l = c.toLowerCase();
  if (l >= 'a' && l <= 'z') return l.charCodeAt(0) - 87;
  return 99;
}

/** erl_scan quotes the start of an unterminated string by grapheme clusters (`\r\n` is one). */
function firstGraphemes(s: string, n: number): string {
  const out: string[] = [];
  for (const g of new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(s)) {
    if (out.length === n) break;
    out.push(g.segment);
  }
  return out.join('');
}

/** A cursor over the text that scans one token at a time. */
export class Scanner {
  private pos = 0;
  private line = 1;
  private col = 1;
  // Code points, so that columns and `$c` count characters as erl_scan does.
  private readonly chars: string[];

  constructor(text: string) {
    this.chars = Array.from(text);
  }

  private peek(ahead = 0): string {
    return this.chars[this.pos + ahead] ?? '';
  }

  private advance(): string {
    const c = this.chars[this.pos++] ?? '';
    if (c === '\n') {
      this.line++;
      this.col = 1;
    } else {
      this.col++;
    }
    return c;
  }

  /** Skips whitespace and comments; returns the next token (an `eof` token at the end). */
  next(): Token {
    for (;;) {
      const c = this.peek();
      if (c === '') return { kind: 'eof', text: '', line: this.line, column: this.col };
      if (c === '%') {
        while (this.peek() !== '' && this.peek() !== '\n') this.advance();
      } else if (isWhite(c)) {
        this.advance();
      } else {
        break;
      }
    }
    const line = this.line;
    const column = this.col;
    const c = this.peek();
    if (isDigit(c)) return this.number(line, column);
    if (isLower(c)) {
      const name = this.name();
      if (Array.from(name).length > 255) throw new ScanError('illegal atom', line, column);
      return { kind: RESERVED.has(name) ? 'reserved' : 'atom', text: name, line, column };
    }
    if (isUpper(c)) return { kind: 'var', text: this.name(), line, column };
    if (c === '"') return { kind: 'string', text: this.quoted('"', line, column), line, column };
    if (c === "'") {
      const text = this.quoted("'", line, column);
      if (Array.from(text).length > 255) throw new ScanError('illegal atom', line, column);
      return { kind: 'atom', text, line, column };
    }
    if (c === '$') {
      this.advance();
      if (this.peek() === '') throw new ScanError('unterminated character', line, column);
      const ch = this.peek() === '\\' ? this.escape() : (this.advance().codePointAt(0) ?? 0);
      return { kind: 'char', text: String.fromCodePoint(ch), int: BigInt(ch), line, column };
    }
    if (c === '.') {
      const after = this.peek(1);
      if (after === '' || after === '%' || isWhite(after)) {
        this.advance();
        return { kind: 'dot', text: '.', line, column };
      }
    }
    for (const p of PUNCT) {
      if (this.matches(p)) {
        for (let i = 0; i < p.length; i++) this.advance();
        return { kind: 'punct', text: p, line, column };
      }
    }
    // erl_scan makes any other Latin-1 character a token of its own (refused by the parser).
    if ((c.codePointAt(0) ?? 0) > 255) throw new ScanError('illegal character', line, column);
    this.advance();
    return { kind: 'punct', text: c, line, column };
  }

  private matches(s: string): boolean {
    for (let i = 0; i < s.length; i++) if (this.peek(i) !== s[i]) return false;
    return true;
  }

  private name(): string {
    let s = '';
    while (isNameChar(this.peek())) s += this.advance();
    return s;
  }

  /** Digits in `base` with `_` allowed between two digits. */
  private digits(base: number): string {
    let s = '';
    for (;;) {
      const c = this.peek();
      if (digitValue(c) < base) s += this.advance();
      else if (c === '_' && s !== '' && digitValue(this.peek(1)) < base) this.advance();
      else return s;
    }
  }

  private number(line: number, column: number): Token {
    const whole = this.digits(10);
    if (this.peek() === '#') {
      const base = Number(whole);
      if (base < 2 || base > 36) throw new ScanError(`illegal base '${base}'`, line, column);
      this.advance();
      const ds = this.digits(base);
      if (ds === '') throw new ScanError('illegal integer', line, column);
      let v = 0n;
      for (const d of ds) v = v * BigInt(base) + BigInt(digitValue(d));
      return { kind: 'integer', text: `${whole}#${ds}`, int: v, line, column };
    }
    if (this.peek() === '.' && isDigit(this.peek(1))) {
      this.advance();
      let text = `${whole}.${this.digits(10)}`;
      const e = this.peek();
      if (e === 'e' || e === 'E') {
        // Once the `e` is there, erl_scan wants an exponent.
        this.advance();
        text += 'e';
        if (this.peek() === '+' || this.peek() === '-') text += this.advance();
        const exp = this.digits(10);
        if (exp === '') throw new ScanError('illegal float', line, column);
        text += exp;
      }
      const f = Number(text);
      if (!Number.isFinite(f)) throw new ScanError('illegal float', line, column);
      return { kind: 'float', text, float: f, line, column };
    }
    return { kind: 'integer', text: whole, int: BigInt(whole), line, column };
  }

  private quoted(q: '"' | "'", line: number, column: number): string {
    this.advance();
    let s = '';
    for (;;) {
      const c = this.peek();
      if (c === '') {
        const kind = q === '"' ? 'string' : 'atom';
        throw new ScanError(`unterminated ${kind} starting with ${writeQuoted(firstGraphemes(s, 16), q)}`, line, column);
      }
      if (c === q) {
        this.advance();
        return s;
      }
      s += c === '\\' ? String.fromCodePoint(this.escape()) : this.advance();
    }
  }

  /** At a backslash: the character the escape stands for. Errors point at the backslash. */
  private escape(): number {
    const line = this.line;
    const column = this.col;
    this.advance();
    const c = this.advance();
    switch (c) {
      case '': throw new ScanError('unterminated escape sequence', line, column);
      case 'b': return 8;
      case 'd': return 127;
      case 'e': return 27;
      case 'f': return 12;
      case 'n': return 10;
      case 'r': return 13;
      case 's': return 32;
      case 't': return 9;
      case 'v': return 11;
      case '^': {
        const x = this.advance();
        if (x === '') throw new ScanError('unterminated escape sequence', line, column);
        return (x.codePointAt(0) ?? 0) & 31;
      }
      case 'x': {
        if (this.peek() === '{') {
          this.advance();
          let hex = '';
          while (digitValue(this.peek()) < 16) hex += this.advance();
          if (this.peek() !== '}' || hex === '') throw new ScanError('illegal character', line, column);
          this.advance();
          const v = Number.parseInt(hex, 16);
          if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) throw new ScanError('illegal character', line, column);
          return v;
        }
        const hex = this.peek() + this.peek(1);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new ScanError('illegal character', line, column);
        this.advance();
        this.advance();
        return Number.parseInt(hex, 16);
      }
      default: {
        if (c >= '0' && c <= '7') {
          let v = Number(c);
          for (let i = 0; i < 2 && this.peek() >= '0' && this.peek() <= '7'; i++) v = v * 8 + Number(this.advance());
          return v;
        }
        return c.codePointAt(0) ?? 0;
      }
    }
  }
}
