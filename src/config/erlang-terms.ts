// Erlang term files as `file:consult/1` reads them (ssl_dist.conf): a sequence of terms, each
// ended by a dot. The grammar is in erlang-terms/parse.ts; this is what the rest of the node uses.
import { parseDocument } from './erlang-terms/parse.js';
import type { ErlAtom, ErlangTermsDoc, ErlTerm, ErlTuple } from './erlang-terms/types.js';

export { ErlangTermsError } from './erlang-terms/types.js';
export type {
  ErlAtom, ErlBinary, ErlFloat, ErlImproperList, ErlMap, ErlTerm, ErlTuple, ErlangTermsDoc, Position,
} from './erlang-terms/types.js';

export const isAtom = (t: ErlTerm | undefined, name?: string): t is ErlAtom =>
  typeof t === 'object' && t !== null && 'atom' in t && (name === undefined || t.atom === name);
export const isTuple = (t: ErlTerm | undefined): t is ErlTuple => typeof t === 'object' && t !== null && 'tuple' in t;
export const isList = (t: ErlTerm | undefined): t is readonly ErlTerm[] => Array.isArray(t) || t === '';

/** The text of a string term (a string literal or a proper list of code points), else undefined. */
export function erlString(t: ErlTerm | undefined): string | undefined {
  if (typeof t === 'string') return t;
  // A list of strings is not a string: only a list of character codes is.
  if (!Array.isArray(t)) return undefined;
  let s = '';
  for (const e of t as readonly ErlTerm[]) {
    if (typeof e === 'number' && Number.isInteger(e) && e >= 0 && e <= 0x10ffff && (e < 0xd800 || e > 0xdfff)) s += String.fromCodePoint(e);
    else return undefined;
  }
  return s;
}


/** Parses a whole file's text; throws ErlangTermsError naming `file`, the line and the problem. */
export function parseErlangTerms(text: string, file = '<input>'): ErlangTermsDoc {
  return parseDocument(text, file);
}
