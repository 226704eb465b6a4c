// Java .properties files, which `include "name"` picks up next to name.conf and name.json (as the
// reference implementation does). Keys are dotted paths; every value is a string. When a key is
// both a value and the parent of other keys (`a=1`, `a.b=2`), the object wins.
import type { FieldNode } from './ast.js';

export function parseProperties(text: string, file: string): FieldNode[] {
  const entries: { path: string[]; value: string; line: number }[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i += 1) {
    const startLine = i + 1;
    let line = (lines[i] as string).replace(/^[ \t\f]+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    // A line ending in an odd number of backslashes continues on the next line.
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < lines.length) {
      i += 1;
      line = line.slice(0, -1) + (lines[i] as string).replace(/^[ \t\f]+/, '');
    }
    let k = 0;
    let key = '';
    while (k < line.length) {
      const c = line.charAt(k);
      if (c === '\\' && k + 1 < line.length) {
        key += line.slice(k, k + 2);
        k += 2;
        continue;
      }
      if (c === '=' || c === ':' || c === ' ' || c === '\t' || c === '\f') break;
      key += c;
      k += 1;
    }
    while (k < line.length && /[ \t\f]/.test(line.charAt(k))) k += 1;
    if (line.charAt(k) === '=' || line.charAt(k) === ':') k += 1;
    while (k < line.length && /[ \t\f]/.test(line.charAt(k))) k += 1;
    entries.push({ path: unescape(key).split('.'), value: unescape(line.slice(k)), line: startLine });
  }
  const parents = new Set<string>();
  for (const e of entries) {
    for (let j = 1; j < e.path.length; j += 1) parents.add(e.path.slice(0, j).join('\u0000'));
  }
  const fields: FieldNode[] = [];
  for (const e of entries) {
    if (parents.has(e.path.join('\u0000'))) continue;
    const origin = { file, line: e.line, column: 1 };
    fields.push({ path: e.path, value: { k: 'scalar', v: e.value, text: e.value, origin }, append: false, origin });
  }
  return fields;
}

function unescape(s: string): string {
  return s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_m, esc: string) => {
    if (esc.length === 5) return String.fromCharCode(parseInt(esc.slice(1), 16));
    switch (esc) {
      case 't': return '\t';
      case 'n': return '\n';
      case 'r': return '\r';
      case 'f': return '\f';
      default: return esc;
    }
  });
}
