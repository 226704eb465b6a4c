// What EMQX reads from a backend's row (pure): the password fields of an authenticator's row (a
// query's first row, a Redis hash's fields), and an authorization rule per row of a source's query.
import { checkRawRule, type RawRule } from './authz/builtin-rules.js';
import type { StoredPassword } from './authn/password-hash.js';

/** A column's value as text (bytea and buffers as UTF-8); undefined for NULL or absent. */
function str(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return String(v);
}

/** EMQX's reading of is_superuser: true, 'true', 1, '1' (anything else: false). */
export function truthy(v: unknown): boolean {
  return v === true || v === 1 || v === 'true' || v === '1';
}

/** The stored password of a user's row (`password_hash` or `password`, `salt`); undefined without one. */
export function storedPassword(row: Record<string, unknown>): StoredPassword | undefined {
  const hash = str(row.password_hash) ?? str(row.password);
  return hash === undefined ? undefined : { password_hash: hash, salt: str(row.salt) ?? '' };
}

/** QoS as a column holds it: a number, an array, or `0,1` text. */
function qosOf(v: unknown): number[] | undefined {
  if (v === null || v === undefined || v === '') return undefined;
  if (Array.isArray(v)) return v.map(Number);
  return String(v)
    .split(',')
    .map((x) => Number(x.trim()));
}

function retainOf(v: unknown): boolean | 'all' | undefined {
  if (v === null || v === undefined || v === '') return undefined;
  if (v === 'all') return 'all';
  return truthy(v);
}

/** A source's rows (`permission`, `action`, `topic`, optional `qos`, `retain`) as rules; rows that are not, as problems. */
export function rowsToRules(rows: ReadonlyArray<Record<string, unknown>>): { rules: RawRule[]; bad: string[] } {
  const rules: RawRule[] = [];
  const bad: string[] = [];
  for (const row of rows) {
    const qos = qosOf(row.qos);
    const retain = retainOf(row.retain);
    const rule = { topic: str(row.topic) ?? '', permission: str(row.permission) as RawRule['permission'], action: str(row.action) as RawRule['action'], ...(qos ? { qos } : {}), ...(retain !== undefined ? { retain } : {}) };
    try {
      checkRawRule(rule);
      rules.push(rule);
    } catch (err) {
      bad.push(`${JSON.stringify(row).slice(0, 200)}: ${(err as Error).message}`);
    }
  }
  return { rules, bad };
}
