// Rows of the replicated tables as JSON lines, for a backup an operator can read: one
// `{"key": ..., "value": ...}` per line. The values JSON cannot hold are tagged: a Buffer (a
// retained payload) as {"$base64": "..."}, a number that is not finite as {"$number": "Infinity"}.
// A value that would not come back the same (a Map, a Date, an object using one of the tags as its
// own key) is refused with its table and key, so a backup never silently differs from the data.
import { isDeepStrictEqual } from 'node:util';

const B64 = '$base64';
const NUM = '$number';

function tag(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return { [B64]: v.toString('base64') };
  if (typeof v === 'number' && !Number.isFinite(v)) return { [NUM]: String(v) };
  if (Array.isArray(v)) return v.map(tag);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = tag(x);
    return o;
  }
  return v;
}

function untag(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(untag);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === B64 && typeof o[B64] === 'string') return Buffer.from(o[B64], 'base64');
    if (keys.length === 1 && keys[0] === NUM && (o[NUM] === 'Infinity' || o[NUM] === '-Infinity' || o[NUM] === 'NaN')) return Number(o[NUM]);
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = untag(o[k]);
    return out;
  }
  return v;
}

/** Without the properties whose value is undefined (JSON has none; they mean nothing stored). */
function defined(v: unknown): unknown {
  if (Buffer.isBuffer(v) || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(defined);
  const o: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = defined(x);
  return Object.getPrototypeOf(v) === Object.prototype ? o : v;
}

export class RowCodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RowCodecError';
  }
}

/** One row as a JSON line (with its newline); RowCodecError when it would not come back the same. */
export function encodeRow(table: string, key: string, value: unknown): string {
  const line = JSON.stringify({ key, value: tag(value) });
  if (!isDeepStrictEqual(untag((JSON.parse(line) as { value: unknown }).value), defined(value))) {
    throw new RowCodecError(`table ${table}, key ${JSON.stringify(key)}: the value cannot be written as JSON and read back the same`);
  }
  return `${line}\n`;
}

/** The row on line `lineNo` of `file` (a blank line: none); RowCodecError naming the line that is not one. */
export function decodeRow(file: string, lineNo: number, line: string): [string, unknown] | undefined {
  if (line.trim() === '') return undefined;
  let r: unknown;
  try {
    r = JSON.parse(line);
  } catch {
    throw new RowCodecError(`${file}:${lineNo}: not JSON`);
  }
  const o = r as { key?: unknown; value?: unknown } | null;
  if (o === null || typeof o !== 'object' || typeof o.key !== 'string' || o.key === '' || o.value === undefined || o.value === null) {
    throw new RowCodecError(`${file}:${lineNo}: not a row ({"key": "<non-empty string>", "value": <not null>})`);
  }
  return [o.key, untag(o.value)];
}
