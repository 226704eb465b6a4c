// HOCON text for configuration values, as `conf show <key>` prints them: an object as a block
// (`key {` ... `}`, two spaces a level, as EMQX's hocon_pp), anything else as `key = value` with
// the value in JSON (JSON's strings, numbers, booleans and arrays are HOCON too, so every line
// reads back with any HOCON parser). Pure.

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A key as HOCON reads it: bare when it is a plain word, else a quoted string. */
function hoconKey(k: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(k) ? k : JSON.stringify(k);
}

/** `path` (already a HOCON path, e.g. `cluster.static`) and its value, one or more lines. */
export function printHoconField(path: string, value: unknown, indent = ''): string {
  if (isPlainObject(value)) {
    const fields = Object.entries(value).filter(([, v]) => v !== undefined);
    if (fields.length === 0) return `${indent}${path} {}\n`;
    const inner = fields.map(([k, v]) => printHoconField(hoconKey(k), v, `${indent}  `)).join('');
    return `${indent}${path} {\n${inner}${indent}}\n`;
  }
  return `${indent}${path} = ${JSON.stringify(value, null, 2).split('\n').join(`\n${indent}`)}\n`;
}
