// EMQX's LDAP authorization source (emqx_authz_ldap): the client's entry is searched under
// `base_dn` with `filter` (placeholders filled in and escaped, as for LDAP authentication), and
// its topic attributes allow: `publish_attribute` (mqttPublishTopic) for PUBLISH,
// `subscribe_attribute` (mqttSubscriptionTopic) for SUBSCRIBE, `all_attribute` (mqttPubSubTopic)
// for both. Each value is a topic filter, read as an acl.conf topic (wildcards; `eq` and
// placeholders too, which EMQX would match as written). A value that covers the request allows
// it; none, no entry or more than one: no match (the next source decides). The directory down:
// no match.
import type { AuthzSourceConfig } from '../../config/types.js';
import { LdapConn } from '../ldap/conn.js';
import { attributeValues } from '../ldap/entry.js';
import { escapeDnValue, escapeFilterValue } from '../ldap/escape.js';
import { clientVar, fillTemplate } from '../placeholders.js';
import { compileRawRule, type RawRule } from './builtin-rules.js';
import { decide, rulesForClient, type AuthzRequest, type Permission, type RuleClient } from './rule.js';

type LdapSourceConfig = Extract<AuthzSourceConfig, { type: 'ldap' }>;

export class LdapAuthzSource {
  readonly type = 'ldap';
  readonly #conn: LdapConn;
  /** A check it could not make, why, and what kind of problem (one log line per kind per interval). */
  onIgnored: (why: string, what?: string) => void = () => undefined;

  /** Connects at the first check; throws only when the CA file cannot be read. */
  constructor(readonly cfg: LdapSourceConfig) {
    this.#conn = new LdapConn(cfg);
  }

  close(): void {
    this.#conn.close();
  }

  /** Never rejects: a failed search is no match. */
  async check(c: RuleClient, req: AuthzRequest, topic: string): Promise<Permission | undefined> {
    const vars = (name: string): string | undefined => clientVar(c, name);
    const action = req.type === 'publish' ? this.cfg.publish_attribute : this.cfg.subscribe_attribute;
    let entries: Array<Record<string, unknown>>;
    try {
      entries = await this.#conn.search(fillTemplate(this.cfg.base_dn, vars, escapeDnValue), fillTemplate(this.cfg.filter, vars, escapeFilterValue), [action, this.cfg.all_attribute]);
    } catch (err) {
      // noSuchObject (32): the base DN names no entry, so nothing for this client.
      if ((err as { cause?: { code?: number } }).cause?.code !== 32) this.onIgnored(`the query failed: ${(err as Error).message}`);
      return undefined;
    }
    const entry = entries[0];
    if (entry === undefined) return undefined;
    if (entries.length > 1) {
      // As the LDAP authenticator: whose topics they are is not clear, so none apply.
      this.onIgnored(`${entries.length} entries match for ${c.username ?? c.clientid}; base_dn and filter must find one`, 'ambiguous');
      return undefined;
    }
    const raw: RawRule[] = [
      ...attributeValues(entry, action).map((t): RawRule => ({ topic: t, permission: 'allow', action: req.type })),
      ...attributeValues(entry, this.cfg.all_attribute).map((t): RawRule => ({ topic: t, permission: 'allow', action: 'all' })),
    ];
    const rules = rulesForClient(raw.map((r) => compileRawRule({ kind: 'all' }, r)), c);
    return decide(rules, req, topic, topic.split('/'));
  }
}
