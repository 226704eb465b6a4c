// Reading an LDAP entry's attributes as ldapts returns them: names are case-insensitive, a value
// is a string or a Buffer, one value or several.

/** Every value of `attr` in `entry`, as text (latin1 for binary values, as EMQX reads them). */
export function attributeValues(entry: Record<string, unknown>, attr: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attr.toLowerCase());
  const v: unknown = key === undefined ? undefined : entry[key];
  const all: unknown[] = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
  return all.filter((x) => x !== undefined && x !== null).map((x) => (Buffer.isBuffer(x) ? x.toString('latin1') : String(x)));
}
