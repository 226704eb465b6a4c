// The JS shape of Erlang terms read from a file, and the error for text that is not such terms.

export interface ErlAtom { readonly atom: string }
export interface ErlTuple { readonly tuple: readonly ErlTerm[] }
/** Floats are tagged so that `1.0` and `1` stay different terms, as in Erlang. */
export interface ErlFloat { readonly float: number }
/** A binary; `bitLength` only for a bit string whose length is not whole bytes (the last byte is
 * then padded with zero bits). */
export interface ErlBinary { readonly binary: Uint8Array; readonly bitLength?: number }
export interface ErlMap { readonly map: readonly (readonly [ErlTerm, ErlTerm])[] }
/** `[a|b]` whose tail is not a list. */
export interface ErlImproperList { readonly list: readonly ErlTerm[]; readonly tail: ErlTerm }
/**
 * A term. Integers are numbers when they fit exactly, bigints otherwise. A string literal is a JS
 * string; Erlang does not tell it apart from a list of code points, so use `erlString` to read
 * either as text (`""` and `[]` are the same term).
 */
export type ErlTerm =
  | number | bigint | string
  | ErlAtom | ErlTuple | ErlFloat | ErlBinary | ErlMap | ErlImproperList
  | readonly ErlTerm[];

export interface Position { readonly line: number; readonly column: number }

export interface ErlangTermsDoc {
  readonly terms: readonly ErlTerm[];
  /** Where a tuple, list, map or atom began in the text (primitives have no identity). */
  position(term: ErlTerm): Position | undefined;
}

export class ErlangTermsError extends Error {
  /**
   * `reason` is what `erl`'s file:consult says (`syntax error before: ']'`); `hint`, when there is
   * one, says what was expected, since erl's position is often after the actual mistake.
   */
  constructor(readonly file: string, readonly line: number, readonly column: number, readonly reason: string, readonly hint?: string) {
    super(`${file}:${line}: ${withHint(reason, hint)}`);
    this.name = 'ErlangTermsError';
  }

  /** The reason with its hint, without the location. */
  get detail(): string {
    return withHint(this.reason, this.hint);
  }
}

function withHint(reason: string, hint: string | undefined): string {
  return hint ? `${reason.trimEnd()} (${hint})` : reason;
}
