// EMQX's SQL queries with `${name}` placeholders (pure): each placeholder becomes a parameter
// (PostgreSQL's $1, $2, ...; MySQL's ?), so a client's user name or client id is sent as a value,
// never as SQL.
// Placeholders inside quotes are parameters too, as EMQX's templates make them.

export interface SqlTemplate {
  /** The query with a parameter in place of each placeholder. */
  readonly text: string;
  /** The placeholder each `$n` takes its value from, in order. */
  readonly vars: readonly string[];
}

export function sqlTemplate(query: string, style: 'numbered' | 'question' = 'numbered'): SqlTemplate {
  const vars: string[] = [];
  // A quoted placeholder ('${username}') is a parameter too: the quotes go with it.
  const text = query.replace(/'?\$\{\s*([a-z_.]+)\s*\}'?/gi, (_m, name: string) => {
    vars.push(name);
    return style === 'numbered' ? `$${vars.length}` : '?';
  });
  return { text, vars };
}
