// Placeholders in an ACL rule's topic: EMQX 5's `${username}`, `${clientid}`,
// `${cert_common_name}`, `${zone}` and `${client_attrs.NAME}`, and EMQX 4's `%u` and `%c`, filled
// in per client. A client lacking the value (no user name, no certificate, no such attribute)
// is not matched by that topic, as EMQX renders such a template strictly. Any other `${...}` is
// refused when the file is read (EMQX would keep it as literal text and log a warning).

export type TemplatePart = string | { readonly v: 'username' | 'clientid' | 'cert_common_name' | 'zone' | 'attr'; readonly name?: string };

export interface ClientVars {
  readonly username: string | undefined;
  readonly clientid: string;
  readonly certCommonName?: string | undefined;
  readonly attrs?: Readonly<Record<string, string>>;
}

/** Parts of a topic with placeholders, or undefined when it has none; a reason string when one is unknown. */
export function parseTemplate(text: string): TemplatePart[] | undefined | string {
  if (!text.includes('${') && !text.includes('%u') && !text.includes('%c')) return undefined;
  const parts: TemplatePart[] = [];
  let lit = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '%' && (text[i + 1] === 'u' || text[i + 1] === 'c')) {
      if (lit !== '') parts.push(lit);
      lit = '';
      parts.push({ v: text[i + 1] === 'u' ? 'username' : 'clientid' });
      i++;
      continue;
    }
    if (c === '$' && text[i + 1] === '{') {
      const end = text.indexOf('}', i + 2);
      if (end < 0) return `unterminated placeholder in '${text}' (expected \${...})`;
      const name = text.slice(i + 2, end).trim();
      let part: TemplatePart;
      if (name === '$') part = '$';
      else if (name === 'username' || name === 'clientid' || name === 'cert_common_name' || name === 'zone') part = { v: name };
      else if (name.startsWith('client_attrs.') && name.length > 13) part = { v: 'attr', name: name.slice(13) };
      else return `unknown placeholder \${${name}} in '${text}' (known: \${username}, \${clientid}, \${cert_common_name}, \${zone}, \${client_attrs.NAME}, %u, %c)`;
      if (typeof part === 'string') lit += part;
      else {
        if (lit !== '') parts.push(lit);
        lit = '';
        parts.push(part);
      }
      i = end;
      continue;
    }
    lit += c;
  }
  if (lit !== '') parts.push(lit);
  return parts;
}

/** The text for one client, or undefined when a value it needs is missing. */
export function renderTemplate(parts: readonly TemplatePart[], c: ClientVars): string | undefined {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'string') {
      out += p;
      continue;
    }
    const v =
      p.v === 'username' ? c.username
        : p.v === 'clientid' ? c.clientid
          : p.v === 'cert_common_name' ? c.certCommonName
            // Every client is in EMQX's `default` zone here.
            : p.v === 'zone' ? 'default'
              : c.attrs?.[p.name!];
    if (v === undefined) return undefined;
    out += v;
  }
  return out;
}
