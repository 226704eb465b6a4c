// Joining the parts of a resolved concatenation, and `+=`.
import { HoconError } from './errors.js';
import type { Origin } from './ast.js';
import { NumberValue, ObjectValue, SpaceValue, kindOf, mergeValues } from './values.js';
import type { Value } from './values.js';

/** `a += x` is `a = ${?a} [x]`: an undefined `x` still leaves an (empty) array. */
export function appendTo(prev: Value | undefined, item: Value | undefined, at: { path: readonly string[]; origin: Origin }): Value {
  const added = item === undefined ? [] : [item];
  if (prev === undefined) return added;
  if (Array.isArray(prev)) return [...prev, ...added];
  throw new HoconError('hocon_syntax', at.origin, `'+=' appends to an array, but ${at.path.join('.')} is ${kindOf(prev)}`);
}

function textOf(v: Value | SpaceValue): string | undefined {
  if (v instanceof SpaceValue) return v.text;
  if (v instanceof NumberValue) return v.text;
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return v;
  return undefined;
}

export function join(left: Value | SpaceValue, right: Value | SpaceValue, at: Origin): Value | SpaceValue {
  const structL = left instanceof ObjectValue || Array.isArray(left);
  // As in the reference, whitespace after an object or array (from a substitution) is dropped,
  // whitespace before one is an error (`${?undefined} ${list}`).
  if (structL && right instanceof SpaceValue) return left;
  if (left instanceof ObjectValue && right instanceof ObjectValue) return mergeValues(left, right);
  if (Array.isArray(left) && Array.isArray(right)) return [...left, ...right];
  const l = textOf(left);
  const r = textOf(right);
  if (l === undefined || r === undefined) {
    throw new HoconError('hocon_syntax', at, `cannot concatenate ${kindOf(left)} with ${kindOf(right)}: expected only strings, only arrays or only objects in one value`);
  }
  return l + r;
}
