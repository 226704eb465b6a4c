// The resolver's internal value model. Objects keep insertion order; numbers keep the text they
// were written with, because a concatenation uses that text (`${v}x` with v = 1.0 is "1.0x").
export class NumberValue {
  constructor(readonly value: number, readonly text: string) {}
}

export class ObjectValue {
  /**
   * Set when this object replaced a non-object (`a = 5, a.b = 1`). Like the reference
   * implementation, such an object also replaces, instead of merging with, an object it is later
   * merged over (for example through a substitution).
   */
  constructor(readonly fields: Map<string, Value>, readonly replaces = false) {}
}

/** Unquoted whitespace inside a concatenation; it disappears next to an object or array. */
export class SpaceValue {
  constructor(readonly text: string) {}
}

export type Value = string | boolean | null | NumberValue | ObjectValue | Value[];

/** Later definitions win; two objects merge key by key, recursively. */
export function mergeValues(older: Value | undefined, newer: Value): Value {
  if (!(newer instanceof ObjectValue)) return newer;
  if (older === undefined) return newer;
  if (!(older instanceof ObjectValue)) return newer.replaces ? newer : new ObjectValue(newer.fields, true);
  if (newer.replaces) return newer;
  const fields = new Map(older.fields);
  for (const [key, value] of newer.fields) {
    fields.set(key, mergeValues(fields.get(key), value));
  }
  return new ObjectValue(fields, older.replaces);
}

export function nest(path: readonly string[], value: Value): Value {
  let out = value;
  for (let i = path.length - 1; i >= 0; i -= 1) out = new ObjectValue(new Map([[path[i] as string, out]]));
  return out;
}

export function toPlain(v: Value): unknown {
  if (v instanceof NumberValue) return v.value;
  if (v instanceof ObjectValue) {
    const out: Record<string, unknown> = {};
    for (const [key, value] of v.fields) out[key] = toPlain(value);
    return out;
  }
  if (Array.isArray(v)) return v.map(toPlain);
  return v;
}

export function kindOf(v: Value | SpaceValue): string {
  if (v instanceof ObjectValue) return 'an object';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof NumberValue) return 'a number';
  if (v instanceof SpaceValue) return 'whitespace';
  if (v === null) return 'null';
  if (typeof v === 'boolean') return 'a boolean';
  return 'a string';
}

/**
 * mergeValues for a fold: objects this fold created itself are updated in place (nothing else
 * can see them yet), which keeps a file with thousands of keys linear to resolve.
 */
export function mergeOwned(older: Value | undefined, newer: Value, owned: Set<ObjectValue>): Value {
  if (!(newer instanceof ObjectValue) || older === undefined) return newer;
  if (!(older instanceof ObjectValue) || newer.replaces) return mergeValues(older, newer);
  let target = older;
  if (!owned.has(older)) {
    target = new ObjectValue(new Map(older.fields), older.replaces);
    owned.add(target);
  }
  for (const [key, value] of newer.fields) target.fields.set(key, mergeOwned(target.fields.get(key), value, owned));
  return target;
}

export function getIn(v: Value, path: readonly string[]): Value | undefined {
  let node: Value | undefined = v;
  for (const key of path) {
    if (!(node instanceof ObjectValue)) return undefined;
    node = node.fields.get(key);
  }
  return node;
}
