// A client's values put into LDAP text (pure): escaped so a user name cannot change the search.
// RFC 4515 for filter values, RFC 4514 for attribute values in a DN.

/** `*`, `(`, `)`, `\` and NUL as `\2a`, `\28`, `\29`, `\5c`, `\00`. */
export function escapeFilterValue(v: string): string {
  return v.replace(/[*()\\\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** `,`, `+`, `"`, `\`, `<`, `>`, `;`, `=` escaped; a leading `#` or space and a trailing space too. */
export function escapeDnValue(v: string): string {
  let out = v.replace(/[,+"\\<>;=]/g, (c) => `\\${c}`).replace(/\0/g, '\\00');
  if (out.startsWith('#') || out.startsWith(' ')) out = `\\${out}`;
  if (out.endsWith(' ') && !out.endsWith('\\ ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}
