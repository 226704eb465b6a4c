// Tokens and text as erl prints them in error messages (io_lib:write_string, write_char,
// float_to_list/2 short), so that our messages read exactly like erl's.
import type { Token } from './scan.js';

const PLAIN_ATOM = /^[a-zß-öø-ÿ][A-Za-z0-9_@ß-öø-ÿÀ-ÖØ-Þ]*$/;

const NAMED_ESCAPES: Readonly<Record<number, string>> = { 8: 'b', 9: 't', 10: 'n', 11: 'v', 12: 'f', 13: 'r', 27: 'e', 127: 'd' };

/** How erl prints a string or atom in an error (io_lib:write_string): quoted, with its escapes. */
export function writeQuoted(s: string, quote: '"' | "'"): string {
  let out = quote;
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    const named = NAMED_ESCAPES[c];
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (named !== undefined) out += `\\${named}`;
    else if (c < 32) out += `\\${c.toString(8).padStart(3, '0')}`;
    else out += ch;
  }
  return out + quote;
}

/** A token as erl_parse names it in `syntax error before: ...`. */
export function describe(t: Token): string {
  switch (t.kind) {
    case 'eof': return '';
    case 'dot': return "'.'";
    case 'punct':
    case 'reserved': return writeQuoted(t.text, "'");
    case 'var': return t.text;
    case 'atom': return PLAIN_ATOM.test(t.text) ? t.text : writeQuoted(t.text, "'");
    case 'string': return writeQuoted(t.text, '"');
    case 'char': return writeChar(t.text);
    case 'integer': return String(t.int ?? t.text);
    case 'float': return writeFloat(t.float ?? 0);
  }
}

/** io_lib:write_char: `$a`, `$\\s`, `$\\n`. */
function writeChar(ch: string): string {
  if (ch === ' ') return '$\\s';
  const quoted = writeQuoted(ch, '"');
  return `$${quoted.slice(1, -1).replace(/^\\"$/, '"')}`;
}

/** float_to_list(F, [short]): the shortest digits, as decimal or scientific, whichever is shorter. */
function writeFloat(x: number): string {
  const [mantissa = '0', expText = '0'] = Math.abs(x).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exp = Number(expText);
  const sci = `${digits[0] ?? '0'}.${digits.slice(1) || '0'}e${exp}`;
  let dec: string;
  if (exp >= 0) {
    const whole = digits.padEnd(exp + 1, '0');
    dec = `${whole.slice(0, exp + 1)}.${whole.slice(exp + 1) || '0'}`;
  } else {
    dec = `0.${'0'.repeat(-exp - 1)}${digits}`;
  }
  return `${x < 0 || Object.is(x, -0) ? '-' : ''}${sci.length < dec.length ? sci : dec}`;
}
