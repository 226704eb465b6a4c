// Tokens → syntax tree. Includes are expanded here (through the `include` callback) so the tree
// of a file already holds the fields of the files it includes, with their substitutions made
// relative to the include site as the specification requires.
import { HoconError } from './errors.js';
import { Lexer, describeToken, pathFromTokens } from './lexer.js';
import type { Token } from './lexer.js';
import type { ArrayNode, FieldNode, ObjectNode, Origin, ValueNode } from './ast.js';

export interface IncludeRequest {
  readonly name: string;
  readonly required: boolean;
  /** `file(...)` was written explicitly; otherwise the plain `include "name"` form. */
  readonly explicitFile: boolean;
  readonly at: Origin;
  /** The absolute path of the object that holds the include. */
  readonly prefix: readonly string[];
}

/** Returns the fields of the included document (already relative to `prefix`). */
export type Includer = (req: IncludeRequest) => FieldNode[];

export interface ParseContext {
  readonly file: string;
  /** Path prefix of everything in this document (non-empty inside an included file). */
  readonly prefix: readonly string[];
  readonly include: Includer;
  /** Inside an object that is an array element, where `+=` has no path to append to. */
  readonly inArray?: boolean;
}

type Closer = '}' | ']' | 'eof';

/** Deeper nesting than any configuration needs; bounds the recursion of parsing and merging. */
const MAX_NESTING = 200;

const KEY_TOKENS = new Set(['ws', 'quoted', 'unquoted', 'number', 'bool', 'null']);

export function parseDocument(text: string, ctx: ParseContext): ObjectNode {
  return new Parser(new Lexer(text, ctx.file).tokenize(), ctx).root();
}

/** Parses `text` as the value of a field (`k = <text>`). */
export function parseValueText(text: string, ctx: ParseContext): ValueNode {
  return new Parser(new Lexer(text, ctx.file).tokenize(), ctx).standaloneValue();
}

class Parser {
  private i = 0;
  private nesting = 0;

  constructor(private readonly toks: Token[], private readonly ctx: ParseContext) {}

  private peek(offset = 0): Token {
    return this.toks[Math.min(this.i + offset, this.toks.length - 1)] as Token;
  }

  private take(): Token {
    const tok = this.peek();
    if (tok.t !== 'eof') this.i += 1;
    return tok;
  }

  private skipWs(): void {
    while (this.peek().t === 'ws') this.i += 1;
  }

  /**
   * After a newline that ends a field or an element: further blank lines, and a comma may still
   * follow (`a = 1\n, b = 2`), as in the reference parser, which eats one comma after newlines.
   * Leaves the comma, if any, for the caller; otherwise stops at the next token.
   */
  private commaAfterNewlines(): void {
    let j = 0;
    while (this.peek(j).t === 'ws' || this.peek(j).t === 'nl') j += 1;
    const tok = this.peek(j);
    if (tok.t === 'punct' && tok.v === ',') this.skipWsNl();
  }

  private skipWsNl(): void {
    while (this.peek().t === 'ws' || this.peek().t === 'nl') this.i += 1;
  }

  private fail(at: Origin, reason: string): never {
    throw new HoconError('hocon_syntax', at, reason);
  }

  root(): ObjectNode {
    this.skipWsNl();
    const first = this.peek();
    if (first.t === 'punct' && first.v === '{') {
      this.take();
      const obj = this.objectBody('}', first.at, this.ctx.prefix);
      this.skipWsNl();
      const after = this.peek();
      if (after.t !== 'eof') this.fail(after.at, `expected end of file after the closing '}' of the root object, found ${describeToken(after)}`);
      return obj;
    }
    if (first.t === 'punct' && first.v === '[') {
      this.fail(first.at, 'expected an object at the root of the document, found an array');
    }
    return this.objectBody('eof', first.at, this.ctx.prefix);
  }

  standaloneValue(): ValueNode {
    this.skipWsNl();
    const value = this.value(this.ctx.prefix, false, 'eof', 'the value');
    this.skipWsNl();
    const after = this.peek();
    if (after.t !== 'eof') this.fail(after.at, `expected end of input after the value, found ${describeToken(after)}`);
    return value;
  }

  private enter(at: Origin): void {
    this.nesting += 1;
    if (this.nesting > MAX_NESTING) this.fail(at, `objects and arrays nested more than ${MAX_NESTING} levels deep`);
  }

  private objectBody(closer: Closer, openAt: Origin, path: readonly string[]): ObjectNode {
    this.enter(openAt);
    try {
      return this.objectFields(closer, openAt, path);
    } finally {
      this.nesting -= 1;
    }
  }

  private objectFields(closer: Closer, openAt: Origin, path: readonly string[]): ObjectNode {
    const fields: FieldNode[] = [];
    for (;;) {
      this.skipWsNl();
      const tok = this.peek();
      if (closer === 'eof' && tok.t === 'eof') break;
      if (closer === '}' && tok.t === 'punct' && tok.v === '}') {
        this.take();
        break;
      }
      if (tok.t === 'eof') {
        this.fail(tok.at, `expected '}' to close the object opened at line ${openAt.line}, found end of file`);
      }
      if (tok.t === 'unquoted' && tok.v === 'include' && (this.peek(1).t === 'ws' || this.peek(1).t === 'nl') && this.isIncludeAhead()) {
        fields.push(...this.include(path));
      } else {
        fields.push(this.field(path, closer));
      }
      // After a field: a comma, a newline, or the end of the object.
      this.skipWs();
      const sep = this.peek();
      if (sep.t === 'nl') this.commaAfterNewlines();
      const comma = this.peek();
      if (comma.t === 'punct' && comma.v === ',') {
        this.take();
        this.skipWsNl();
        const again = this.peek();
        if (again.t === 'punct' && again.v === ',') this.fail(again.at, "expected a key or the end of the object, found a second ','");
        continue;
      }
      if (sep.t === 'nl') continue;
      if (closer === '}' && sep.t === 'punct' && sep.v === '}') continue;
      if (closer === 'eof' && sep.t === 'eof') continue;
      const close = closer === '}' ? "'}'" : 'end of file';
      this.fail(sep.at, `expected ',' or a newline between fields, or ${close}, found ${describeToken(sep)}`);
    }
    return { k: 'object', fields, origin: openAt };
  }

  /** `include` followed by whitespace is the include keyword unless a separator follows (then it is a key). */
  private isIncludeAhead(): boolean {
    let j = 1;
    while (this.peek(j).t === 'ws' || this.peek(j).t === 'nl') j += 1;
    const tok = this.peek(j);
    return !(tok.t === 'punct' && (tok.v === ':' || tok.v === '=' || tok.v === '+=' || tok.v === '{'));
  }

  private include(path: readonly string[]): FieldNode[] {
    const kw = this.take();
    this.skipWsNl();
    // `file("x")` lexes as unquoted `file(`, quoted "x", unquoted `)`; normalise to a pattern.
    let shape = '';
    let name: string | undefined;
    let nameAt: Origin = kw.at;
    for (;;) {
      const tok = this.peek();
      if (tok.t === 'ws' || (tok.t === 'nl' && shape === '')) {
        this.take();
        continue;
      }
      if (tok.t === 'quoted' && name === undefined) {
        name = tok.v;
        nameAt = tok.at;
        shape += '"';
        this.take();
        continue;
      }
      if (tok.t === 'unquoted' && /^[a-z()]+$/.test(tok.v)) {
        shape += tok.v;
        this.take();
        continue;
      }
      break;
    }
    let required = false;
    let explicitFile = false;
    switch (shape) {
      case '"': break;
      case 'file(")': explicitFile = true; break;
      case 'required(")': required = true; break;
      case 'required(file("))': required = true; explicitFile = true; break;
      default:
        if (/(url|classpath)\(/.test(shape)) {
          this.fail(kw.at, 'only file includes are supported: expected include "file", include file("file") or include required(file("file"))');
        }
        this.fail(kw.at, 'expected a quoted file name after include: include "file", include file("file") or include required(file("file"))');
    }
    return this.ctx.include({ name: name as string, required, explicitFile, at: nameAt, prefix: path });
  }

  private field(path: readonly string[], closer: Closer): FieldNode {
    const keyToks: Token[] = [];
    const keyAt = this.peek().at;
    for (;;) {
      const tok = this.peek();
      if (KEY_TOKENS.has(tok.t)) {
        keyToks.push(this.take());
        continue;
      }
      break;
    }
    // The reference accepts newlines between a key and its ':' / '=' / '{'.
    const lineEnd = this.peek();
    if (keyToks.length > 0) this.skipWsNl();
    const stop = this.peek();
    if (keyToks.length === 0) {
      const close = closer === '}' ? " or '}'" : '';
      this.fail(stop.at, `expected a key${close}, found ${describeToken(stop)}`);
    }
    const key = pathFromTokens(keyToks, keyAt, 'key');
    if (path.length + key.length > MAX_NESTING) this.fail(keyAt, `key ${key.join('.')} is nested more than ${MAX_NESTING} levels deep`);
    const full = [...path, ...key];
    const shown = key.join('.');
    if (stop.t === 'punct' && stop.v === '{') {
      const value = this.value(full, false, closer, `key ${shown}`);
      return { path: key, value, append: false, origin: keyAt };
    }
    if (stop.t === 'punct' && (stop.v === ':' || stop.v === '=' || stop.v === '+=')) {
      if (stop.v === '+=' && this.ctx.inArray === true) {
        this.fail(stop.at, `'+=' is not supported inside an object in an array (key ${shown}): append outside the array and refer to it with a substitution`);
      }
      this.take();
      this.skipWsNl();
      const value = this.value(full, false, closer, `key ${shown}`);
      return { path: key, value, append: stop.v === '+=', origin: keyAt };
    }
    // A key alone on its line is reported there, not at whatever the next line holds.
    if (lineEnd.t === 'nl') this.fail(lineEnd.at, `expected ':', '=' or '{' after key ${shown}, found end of line`);
    return this.fail(stop.at, `expected ':', '=' or '{' after key ${shown}, found ${describeToken(stop)}`);
  }

  /**
   * A value: one or more parts on the same line (a concatenation when more than one).
   * Stops before a newline, ',', the closer of the enclosing object/array, or end of file.
   */
  private value(path: readonly string[], inArray: boolean, closer: Closer, what: string): ValueNode {
    const parts: ValueNode[] = [];
    const start = this.peek().at;
    for (;;) {
      const tok = this.peek();
      if (tok.t === 'ws') {
        this.take();
        parts.push({ k: 'space', text: tok.text, origin: tok.at });
        continue;
      }
      if (tok.t === 'nl' || tok.t === 'eof') break;
      if (tok.t === 'punct') {
        if (tok.v === '{') {
          this.take();
          parts.push(inArray ? this.objectInArray(tok.at) : this.objectBody('}', tok.at, path));
          continue;
        }
        if (tok.v === '[') {
          this.take();
          parts.push(this.array(tok.at));
          continue;
        }
        if (tok.v === ',' || tok.v === '}' || tok.v === ']') break;
        if (parts.some((p) => p.k !== 'space')) {
          // Typically an unquoted URL or address: `url = http://h:8080` ('//' even starts a comment).
          const hint = tok.v === ':' || tok.v === '=' ? ` (quote the value if the '${tok.v}' belongs to it, e.g. "http://host:8080")` : '';
          this.fail(tok.at, `expected the end of ${what} (a newline or ','), found ${describeToken(tok)}${hint}`);
        }
        this.fail(tok.at, `expected a value for ${what}, found ${describeToken(tok)}`);
      }
      this.take();
      switch (tok.t) {
        case 'quoted': parts.push({ k: 'scalar', v: tok.v, text: tok.v, origin: tok.at }); break;
        case 'unquoted': parts.push({ k: 'scalar', v: tok.v, text: tok.v, origin: tok.at }); break;
        case 'number': parts.push({ k: 'scalar', v: tok.v, text: tok.text, origin: tok.at }); break;
        case 'bool': parts.push({ k: 'scalar', v: tok.v, text: tok.text, origin: tok.at }); break;
        case 'null': parts.push({ k: 'scalar', v: null, text: tok.text, origin: tok.at }); break;
        case 'subst': {
          const prefix = this.ctx.prefix;
          parts.push({ k: 'subst', path: [...prefix, ...tok.path], prefixLen: prefix.length, optional: tok.optional, origin: tok.at });
          break;
        }
        default: break;
      }
    }
    while (parts.length > 0 && parts[parts.length - 1]?.k === 'space') parts.pop();
    if (parts.length === 0) {
      const tok = this.peek();
      const found = tok.t === 'nl' ? 'end of line' : describeToken(tok);
      return this.fail(tok.at, `expected a value for ${what}, found ${found}`);
    }
    if (parts.length === 1) return parts[0] as ValueNode;
    return { k: 'concat', parts, origin: start };
  }

  private objectInArray(openAt: Origin): ObjectNode {
    // Objects inside arrays have no path of their own, so an include there has nowhere to
    // anchor its substitutions; the reference parser rejects it too.
    const ctx = this.ctx;
    const inner = new Parser(this.toks, {
      ...ctx,
      inArray: true,
      include: (req) => {
        throw new HoconError('hocon_include', req.at, 'include is not allowed inside an array');
      },
    });
    inner.i = this.i;
    inner.nesting = this.nesting;
    const obj = inner.objectBody('}', openAt, ctx.prefix);
    this.i = inner.i;
    return obj;
  }

  private array(openAt: Origin): ArrayNode {
    this.enter(openAt);
    try {
      return this.arrayItems(openAt);
    } finally {
      this.nesting -= 1;
    }
  }

  private arrayItems(openAt: Origin): ArrayNode {
    const items: ValueNode[] = [];
    for (;;) {
      this.skipWsNl();
      const tok = this.peek();
      if (tok.t === 'punct' && tok.v === ']') {
        this.take();
        break;
      }
      if (tok.t === 'eof') this.fail(tok.at, `expected ']' to close the array opened at line ${openAt.line}, found end of file`);
      if (tok.t === 'punct' && tok.v === ',') this.fail(tok.at, "expected an array element or ']', found ','");
      items.push(this.value(this.ctx.prefix, true, ']', 'the array element'));
      this.skipWs();
      const sep = this.peek();
      if (sep.t === 'punct' && sep.v === ',') {
        this.take();
        continue;
      }
      if (sep.t === 'nl') {
        this.commaAfterNewlines();
        const comma = this.peek();
        if (comma.t === 'punct' && comma.v === ',') this.take();
        continue;
      }
      if (sep.t === 'punct' && sep.v === ']') continue;
      if (sep.t === 'eof') this.fail(sep.at, `expected ']' to close the array opened at line ${openAt.line}, found end of file`);
      this.fail(sep.at, `expected ',' or ']' after an array element, found ${describeToken(sep)}`);
    }
    return { k: 'array', items, origin: openAt };
  }
}
