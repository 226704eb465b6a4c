// Turns HOCON text into tokens. Whitespace and newlines are tokens because they matter:
// newlines separate fields and array items, and whitespace between values is part of a
// string concatenation (`a = foo bar` is "foo bar").
import { HoconError } from './errors.js';
import type { Origin } from './ast.js';

export type Punct = '{' | '}' | '[' | ']' | ',' | ':' | '=' | '+=';

export type Token =
  | { readonly t: 'ws'; readonly text: string; readonly at: Origin }
  | { readonly t: 'nl'; readonly at: Origin }
  | { readonly t: 'punct'; readonly v: Punct; readonly at: Origin }
  | { readonly t: 'quoted'; readonly v: string; readonly at: Origin }
  | { readonly t: 'unquoted'; readonly v: string; readonly at: Origin }
  | { readonly t: 'number'; readonly v: number; readonly text: string; readonly at: Origin }
  | { readonly t: 'bool'; readonly v: boolean; readonly text: string; readonly at: Origin }
  | { readonly t: 'null'; readonly text: string; readonly at: Origin }
  | { readonly t: 'subst'; readonly path: string[]; readonly optional: boolean; readonly at: Origin }
  | { readonly t: 'eof'; readonly at: Origin };

// Characters that end unquoted text. '@' is deliberately absent: EMQX accepts it unquoted
// (`node.name = emqx@127.0.0.1`), the HOCON specification does not.
const NOT_IN_UNQUOTED = new Set([...'$"{}[]:=,+#`^?!*&\\']);
const NUMBER_CHARS = new Set([...'0123456789eE+-.']);
const MAX_LONG = 9223372036854775807n;

export function isWhitespace(c: string): boolean {
  return c !== '\n' && /^[\s\uFEFF\u00A0\u2007\u202F]$/u.test(c);
}

export function describeToken(tok: Token): string {
  switch (tok.t) {
    case 'ws': return 'whitespace';
    case 'nl': return 'end of line';
    case 'punct': return `'${tok.v}'`;
    case 'quoted': return `string ${JSON.stringify(tok.v)}`;
    case 'unquoted': return `'${tok.v}'`;
    case 'number': case 'bool': case 'null': return `'${tok.text}'`;
    case 'subst': return `substitution \${${tok.optional ? '?' : ''}${tok.path.join('.')}}`;
    case 'eof': return 'end of file';
  }
}

export class Lexer {
  private pos = 0;
  private line = 1;
  private col = 1;

  constructor(private readonly text: string, private readonly file: string) {
    if (this.text.startsWith('\uFEFF')) this.pos = 1;
  }

  tokenize(): Token[] {
    const out: Token[] = [];
    for (;;) {
      const tok = this.next();
      out.push(tok);
      if (tok.t === 'eof') return out;
    }
  }

  private here(): Origin {
    return { file: this.file, line: this.line, column: this.col };
  }

  private fail(at: Origin, reason: string): never {
    throw new HoconError('hocon_syntax', at, reason);
  }

  private peek(offset = 0): string {
    return this.text.charAt(this.pos + offset);
  }

  private advance(): string {
    const c = this.text.charAt(this.pos);
    this.pos += 1;
    if (c === '\n') {
      this.line += 1;
      this.col = 1;
    } else {
      this.col += 1;
    }
    return c;
  }

  private atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  private next(): Token {
    // Comments run to the end of the line; the newline itself is still a token.
    for (;;) {
      const c = this.peek();
      if (c === '#' || (c === '/' && this.peek(1) === '/')) {
        while (!this.atEnd() && this.peek() !== '\n') this.advance();
        continue;
      }
      break;
    }
    const at = this.here();
    if (this.atEnd()) return { t: 'eof', at };
    const c = this.peek();
    if (c === '\n') {
      this.advance();
      return { t: 'nl', at };
    }
    if (isWhitespace(c)) {
      let text = '';
      while (!this.atEnd() && isWhitespace(this.peek())) text += this.advance();
      return { t: 'ws', text, at };
    }
    switch (c) {
      case '{': case '}': case '[': case ']': case ',': case ':': case '=':
        this.advance();
        return { t: 'punct', v: c, at };
      case '+':
        if (this.peek(1) === '=') {
          this.advance();
          this.advance();
          return { t: 'punct', v: '+=', at };
        }
        return this.fail(at, "reserved character '+' is not allowed outside quotes (did you mean '+='?)");
      case '"':
        if (this.peek(1) === '"' && this.peek(2) === '"') return this.tripleQuoted(at);
        return this.quoted(at);
      case '$':
        if (this.peek(1) === '{') return this.substitution(at);
        return this.fail(at, "reserved character '$' is not allowed outside quotes (a substitution is written '${path}')");
      default:
        break;
    }
    if (NOT_IN_UNQUOTED.has(c)) {
      return this.fail(at, `reserved character '${c}' is not allowed outside quotes`);
    }
    if (c === '-' || (c >= '0' && c <= '9')) return this.number(at);
    return this.unquoted(at);
  }

  private unquoted(at: Origin): Token {
    let s = '';
    while (!this.atEnd()) {
      const c = this.peek();
      if (c === '\n' || isWhitespace(c) || NOT_IN_UNQUOTED.has(c)) break;
      if (c === '/' && this.peek(1) === '/') break;
      s += this.advance();
    }
    if (s === 'true' || s === 'false') return { t: 'bool', v: s === 'true', text: s, at };
    if (s === 'null') return { t: 'null', text: s, at };
    return { t: 'unquoted', v: s, at };
  }

  private number(at: Origin): Token {
    let s = this.advance();
    let decimalOrE = false;
    while (!this.atEnd() && NUMBER_CHARS.has(this.peek())) {
      const c = this.advance();
      if (c === '.' || c === 'e' || c === 'E') decimalOrE = true;
      s += c;
    }
    if (decimalOrE) {
      // A number too large for a double (1e999) stays text rather than becoming Infinity.
      if (/^-?\d+(\.\d*)?([eE][+-]?\d+)?$/.test(s) && Number.isFinite(Number(s))) return { t: 'number', v: Number(s), text: s, at };
    } else if (/^-?\d+$/.test(s)) {
      const big = BigInt(s);
      if (big <= MAX_LONG && big >= -MAX_LONG - 1n) return { t: 'number', v: Number(s), text: s, at };
    }
    // Not a number after all (`1.2.3`, `10-20`): it is unquoted text, unless it holds a
    // character that unquoted text may not.
    if (s.includes('+')) this.fail(at, "reserved character '+' is not allowed outside quotes");
    return { t: 'unquoted', v: s, at };
  }

  private quoted(at: Origin): Token {
    this.advance();
    let s = '';
    for (;;) {
      if (this.atEnd()) this.fail(at, 'unterminated string: expected a closing \'"\' before end of file');
      const c = this.peek();
      if (c === '"') {
        this.advance();
        return { t: 'quoted', v: s, at };
      }
      if (c === '\n') {
        this.fail(this.here(), 'unterminated string: expected a closing \'"\' before end of line (use """triple quotes""" for text over several lines)');
      }
      if (c === '\\') {
        s += this.escape();
        continue;
      }
      if (c < ' ') {
        this.fail(this.here(), `control character U+${c.charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()} is not allowed in a quoted string: use a backslash escape`);
      }
      s += this.advance();
    }
  }

  private escape(): string {
    const at = this.here();
    this.advance();
    if (this.atEnd()) this.fail(at, 'unterminated string: expected an escape after \'\\\', found end of file');
    const c = this.advance();
    switch (c) {
      case '"': return '"';
      case '\\': return '\\';
      case '/': return '/';
      case 'b': return '\b';
      case 'f': return '\f';
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case 'u': {
        const hex = this.text.slice(this.pos, this.pos + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
          this.fail(at, `bad escape '\\u${hex.replace(/[\n"].*$/s, '')}': expected four hexadecimal digits after '\\u'`);
        }
        for (let i = 0; i < 4; i += 1) this.advance();
        return String.fromCharCode(parseInt(hex, 16));
      }
      default: {
        const shown = c === '\n' ? 'end of line' : `'\\${c}'`;
        return this.fail(at, `bad escape ${shown} in quoted string: expected one of \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX`);
      }
    }
  }

  private tripleQuoted(at: Origin): Token {
    this.advance();
    this.advance();
    this.advance();
    let s = '';
    for (;;) {
      if (this.atEnd()) this.fail(at, 'unterminated string: expected \'"""\' to close the triple-quoted string, found end of file');
      if (this.peek() === '"' && this.peek(1) === '"' && this.peek(2) === '"') {
        // A run of more than three quotes ends with the last three; the rest belong to the text.
        let run = 0;
        while (this.peek(run) === '"') run += 1;
        for (let i = 0; i < run - 3; i += 1) s += this.advance();
        this.advance();
        this.advance();
        this.advance();
        return { t: 'quoted', v: s, at };
      }
      s += this.advance();
    }
  }

  private substitution(at: Origin): Token {
    this.advance();
    this.advance();
    let optional = false;
    if (this.peek() === '?') {
      this.advance();
      optional = true;
    }
    // The path inside ${...} follows the rules of a key: quoted parts are not split on '.'.
    const parts: Token[] = [];
    for (;;) {
      const tok = this.next();
      if (tok.t === 'punct' && tok.v === '}') break;
      if (tok.t === 'ws' || tok.t === 'quoted' || tok.t === 'unquoted' || tok.t === 'number' || tok.t === 'bool' || tok.t === 'null') {
        parts.push(tok);
        continue;
      }
      const found = tok.t === 'eof' ? 'end of file' : tok.t === 'nl' ? 'end of line' : describeToken(tok);
      this.fail(tok.at, `expected '}' to close the substitution opened at line ${at.line} column ${at.column}, found ${found}`);
    }
    const path = pathFromTokens(parts, at, 'substitution');
    return { t: 'subst', path, optional, at };
  }
}

/**
 * Builds a key path from the tokens of a key or substitution: unquoted text splits on '.',
 * quoted text never does, whitespace inside a key is kept, leading/trailing whitespace is not.
 */
export function pathFromTokens(tokens: readonly Token[], at: Origin, what: 'key' | 'substitution'): string[] {
  let first = 0;
  let last = tokens.length - 1;
  while (first <= last && tokens[first]?.t === 'ws') first += 1;
  while (last >= first && tokens[last]?.t === 'ws') last -= 1;
  if (first > last) {
    throw new HoconError('hocon_syntax', at, what === 'key' ? 'expected a key, found nothing' : 'expected a path inside ${}, found nothing');
  }
  const path: string[] = [];
  let current = '';
  let hasCurrent = false;
  for (let i = first; i <= last; i += 1) {
    const tok = tokens[i] as Token;
    if (tok.t === 'quoted') {
      current += tok.v;
      hasCurrent = true;
      continue;
    }
    const text = tok.t === 'ws' ? tok.text : tok.t === 'unquoted' ? tok.v : tok.t === 'number' || tok.t === 'bool' || tok.t === 'null' ? tok.text : '';
    const pieces = tok.t === 'ws' ? [text] : text.split('.');
    pieces.forEach((piece, idx) => {
      if (idx > 0) {
        if (!hasCurrent && current === '') {
          throw new HoconError('hocon_syntax', tok.at, `empty element in ${what} path (two dots in a row, or a leading or trailing dot): quote a key that contains a dot`);
        }
        path.push(current);
        current = '';
        hasCurrent = false;
      }
      current += piece;
      if (piece !== '') hasCurrent = true;
    });
  }
  if (!hasCurrent && current === '') {
    const lastTok = tokens[last] as Token;
    throw new HoconError('hocon_syntax', lastTok.at, `empty element in ${what} path (a trailing dot)`);
  }
  path.push(current);
  return path;
}
