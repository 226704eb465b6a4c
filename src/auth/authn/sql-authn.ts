// EMQX's PostgreSQL and MySQL authenticators (emqx_authn_postgresql, emqx_authn_mysql): the query
// (`SELECT password_hash, salt, is_superuser FROM mqtt_user WHERE username = ${username} LIMIT 1`)
// runs with the client's values as parameters; its first row is checked as EMQX does: the
// password against `password_hash` (or `password`) and `salt` with the configured algorithm,
// `is_superuser` as a boolean. No row: a user this authenticator does not know (the next one
// decides); a wrong password: refused (0x86); the database down or in error: ignored.
import type { SqlAuthenticatorConfig } from '../../config/types.js';
import { RC } from '../../mqtt/reason-codes.js';
import { openSql } from '../sql/open.js';
import type { SqlConn } from '../sql/conn.js';
import { storedPassword, truthy } from '../rows.js';
import { sqlTemplate, type SqlTemplate } from '../sql/template.js';
import { credentialVars, type Credentials, type Decision } from './decision.js';
import { checkPassword } from './password-hash.js';

export class SqlAuthenticator {
  readonly #conn: SqlConn;
  readonly #query: SqlTemplate;

  constructor(readonly cfg: SqlAuthenticatorConfig) {
    this.#conn = openSql(cfg.backend, cfg);
    this.#query = sqlTemplate(cfg.query, cfg.backend === 'mysql' ? 'question' : 'numbered');
  }

  close(): void {
    this.#conn.close();
  }

  async authenticate(c: Credentials): Promise<Decision> {
    if (c.password === undefined) return { kind: 'ignore', why: 'no password' };
    const vars = credentialVars(c);
    let rows: Array<Record<string, unknown>>;
    try {
      rows = await this.#conn.query(this.#query.text, this.#query.vars.map((v) => vars(v) ?? null));
    } catch (err) {
      return { kind: 'ignore', why: `the query failed: ${(err as Error).message}` };
    }
    const row = rows[0];
    const stored = row && storedPassword(row);
    if (!stored) return { kind: 'ignore', why: 'no such user' };
    if (!(await checkPassword(this.cfg.password_hash_algorithm, stored, c.password))) return { kind: 'deny', rc: RC.badUsernameOrPassword, reason: 'wrong password' };
    return { kind: 'allow', superuser: truthy(row.is_superuser) };
  }
}
