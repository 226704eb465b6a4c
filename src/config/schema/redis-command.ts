// Redis commands from EMQX's `cmd` strings (pure): split into arguments as redis-cli reads a line
// (whitespace separates; double or single quotes keep spaces, backslash escapes inside double
// quotes), and checked for what each use allows, as emqx_auth_redis_validations does.

/** The arguments, or why the text is not a command. */
export function splitCommand(text: string): string[] | { readonly error: string } {
  const args: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (i >= text.length) break;
    let arg = '';
    while (i < text.length && !/\s/.test(text[i]!)) {
      const q = text[i]!;
      if (q === '"' || q === "'") {
        const end = closing(text, i + 1, q);
        if (end < 0) return { error: `unbalanced ${q} in '${text}'` };
        const inner = text.slice(i + 1, end);
        arg += q === '"' ? inner.replace(/\\(.)/g, '$1') : inner;
        i = end + 1;
      } else {
        arg += q;
        i++;
      }
    }
    args.push(arg);
  }
  return args.length === 0 ? { error: 'the command is empty' } : args;
}

function closing(text: string, from: number, q: string): number {
  for (let i = from; i < text.length; i++) {
    if (q === '"' && text[i] === '\\') i++;
    else if (text[i] === q) return i;
  }
  return -1;
}

const AUTHN_FIELDS = ['password_hash', 'password', 'salt', 'is_superuser', 'clientid_override'];

/** An authenticator's command: `HMGET <key> <field> ...` or `HGET <key> <field>`; why not, when it is not. */
export function authnCommandProblem(args: readonly string[]): string | undefined {
  const name = args[0]!.toLowerCase();
  if (name !== 'hget' && name !== 'hmget') return `'${args[0]}' is not HGET or HMGET`;
  if (args.length < 3) return `${args[0]} needs a key and at least one field`;
  if (name === 'hget' && args.length !== 3) return 'HGET takes one field (use HMGET for more)';
  const fields = args.slice(2);
  const unknown = fields.find((f) => !AUTHN_FIELDS.includes(f));
  if (unknown !== undefined) return `unknown field '${unknown}' (allowed: ${AUTHN_FIELDS.join(', ')})`;
  if (!fields.includes('password_hash') && !fields.includes('password')) return 'the fields must include password_hash or password';
  return undefined;
}

/** An authorization source's command: `HGETALL <key>`. */
export function authzCommandProblem(args: readonly string[]): string | undefined {
  if (args[0]!.toLowerCase() !== 'hgetall') return `'${args[0]}' is not HGETALL`;
  if (args.length !== 2) return 'HGETALL takes one key';
  return undefined;
}
