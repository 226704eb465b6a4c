// EMQX's PostgreSQL and MySQL authorization sources (emqx_authz_postgresql, emqx_authz_mysql):
// the query (`SELECT permission, action, topic, qos, retain FROM mqtt_acl WHERE username =
// ${username}`) runs with the client's values as parameters; each row is a rule (allow or deny,
// publish/subscribe/all, a topic filter with placeholders, optional QoS and retain), tried in the
// order of the rows: the first that covers the request decides; none: no match (the next source
// decides). A row that is not a rule is skipped (logged). The database down: no match.
import type { SqlConnConfig } from '../../config/types.js';
import { openSql } from '../sql/open.js';
import type { SqlConn } from '../sql/conn.js';
import { rowsToRules } from '../rows.js';
import { sqlTemplate, type SqlTemplate } from '../sql/template.js';
import { clientVar } from '../placeholders.js';
import { compileRawRule } from './builtin-rules.js';
import { decide, rulesForClient, type AuthzRequest, type Permission, type RuleClient } from './rule.js';

export class SqlAuthzSource {
  readonly type: 'postgresql' | 'mysql';
  readonly #conn: SqlConn;
  readonly #query: SqlTemplate;
  /** A check the source could not make (the database down, a row it skipped), and why. */
  onIgnored: (why: string) => void = () => undefined;

  /** Connects at the first query; throws only when the CA file cannot be read. */
  constructor(readonly cfg: SqlConnConfig & { readonly type: 'postgresql' | 'mysql'; readonly query: string }) {
    this.#conn = openSql(cfg.type, cfg);
    this.#query = sqlTemplate(cfg.query, cfg.type === 'mysql' ? 'question' : 'numbered');
    this.type = cfg.type;
  }

  close(): void {
    this.#conn.close();
  }

  /** Never rejects: a failed query is no match. */
  async check(c: RuleClient, req: AuthzRequest, topic: string): Promise<Permission | undefined> {
    let rows: Array<Record<string, unknown>>;
    try {
      rows = await this.#conn.query(this.#query.text, this.#query.vars.map((v) => clientVar(c, v) ?? null));
    } catch (err) {
      this.onIgnored(`the query failed: ${(err as Error).message}`);
      return undefined;
    }
    const { rules, bad } = rowsToRules(rows);
    if (bad.length > 0) this.onIgnored(`rows skipped: ${bad.join('; ')}`);
    return decide(rulesForClient(rules.map((r) => compileRawRule({ kind: 'all' }, r)), c), req, topic, topic.split('/'));
  }
}
