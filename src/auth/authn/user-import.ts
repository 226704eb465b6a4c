// EMQX's user files for built_in_database (emqx_authn_mnesia:import_users): CSV with a header
// line (`user_id,password_hash,salt,is_superuser` for hashes, `user_id,password,is_superuser`
// for clear passwords) or a JSON array of objects with the same fields. Pure: text in, rows out.

export interface ImportedRow {
  readonly user_id: string;
  readonly password?: string;
  readonly password_hash?: string;
  readonly salt?: string;
  readonly is_superuser: boolean;
}

export class ImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportError';
  }
}

/** At most this many users per file: an import is one replicated write. */
export const MAX_IMPORT_USERS = 100_000;

/** One CSV line into fields: commas separate, double quotes quote ("" is a quote). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out.map((f) => f.trim());
}

function row(o: Record<string, unknown>, where: string, type: 'plain' | 'hash'): ImportedRow {
  const id = o.user_id;
  if (typeof id !== 'string' || id === '') throw new ImportError(`${where}: user_id is missing`);
  const sup = o.is_superuser === true || o.is_superuser === 'true';
  if (type === 'plain') {
    if (typeof o.password !== 'string') throw new ImportError(`${where}: plain import requires a password field`);
    return { user_id: id, password: o.password, is_superuser: sup };
  }
  if (typeof o.password_hash !== 'string') throw new ImportError(`${where}: hash import requires a password_hash field`);
  return { user_id: id, password_hash: o.password_hash, salt: typeof o.salt === 'string' ? o.salt : '', is_superuser: sup };
}

/** Rows of a `.csv` or `.json` user file; `name` decides the format, as in EMQX. */
export function parseUserFile(name: string, text: string, type: 'plain' | 'hash'): ImportedRow[] {
  if (/\.json$/i.test(name)) {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (err) {
      throw new ImportError(`${name}: not JSON (${(err as Error).message})`);
    }
    return parseUserList(v, type, name);
  }
  if (!/\.csv$/i.test(name)) throw new ImportError(`${name}: unsupported file format (expected .csv or .json)`);
  const lines = text.split(/\r?\n/);
  const header = csvFields(lines[0] ?? '');
  if (!header.includes('user_id')) throw new ImportError(`${name}:1: the header line must name the columns (user_id,password_hash,salt,is_superuser or user_id,password,is_superuser)`);
  const out: ImportedRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    if (lines[i]!.trim() === '') continue;
    if (out.length >= MAX_IMPORT_USERS) throw new ImportError(`${name}: more than ${MAX_IMPORT_USERS} users`);
    const fields = csvFields(lines[i]!);
    const o: Record<string, unknown> = {};
    header.forEach((h, k) => (o[h] = fields[k]));
    out.push(row(o, `${name}:${i + 1}`, type));
  }
  return out;
}

/** Rows of a JSON array (a file's content or an API body). */
export function parseUserList(v: unknown, type: 'plain' | 'hash', where = 'body'): ImportedRow[] {
  if (!Array.isArray(v)) throw new ImportError(`${where}: expected an array of users`);
  if (v.length > MAX_IMPORT_USERS) throw new ImportError(`${where}: more than ${MAX_IMPORT_USERS} users`);
  return v.map((o, i) => {
    if (typeof o !== 'object' || o === null) throw new ImportError(`${where}[${i}]: not an object`);
    return row(o as Record<string, unknown>, `${where}[${i}]`, type);
  });
}
