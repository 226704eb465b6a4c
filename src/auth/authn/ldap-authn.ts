// EMQX's LDAP authenticator (emqx_authn_ldap): the client's entry is searched under `base_dn`
// with `filter` (placeholders filled in, escaped for a DN and a filter), bound as `username`.
// No entry: a user this authenticator does not know (the next one decides); `isEnabled` false:
// refused. Then, with `method.type = hash`, the password is checked against the entry's
// `password_attribute` ({SSHA}, {SHA}, {SHA256}, ... as EMQX reads them); with `bind`, the node
// binds as the entry's DN with `bind_password` (the client's password by default), and the
// directory decides. `is_superuser_attribute` TRUE makes a superuser. The directory down: ignored.
import type { LdapAuthenticatorConfig } from '../../config/types.js';
import { RC } from '../../mqtt/reason-codes.js';
import { LdapConn } from '../ldap/conn.js';
import { attributeValues } from '../ldap/entry.js';
import { escapeDnValue, escapeFilterValue } from '../ldap/escape.js';
import { checkLdapPassword } from '../ldap/password.js';
import { fillTemplate } from '../placeholders.js';
import { credentialVars, type Credentials, type Decision } from './decision.js';

/** EMQX's v4 switch: an entry with isEnabled FALSE may not log in. */
const ENABLED_ATTR = 'isEnabled';

/** One attribute's first value as text (LDAP booleans are TRUE / FALSE). */
const first = (entry: Record<string, unknown>, attr: string): string | undefined => attributeValues(entry, attr)[0];

const isTrue = (v: string | undefined): boolean => v !== undefined && ['true', '1'].includes(v.toLowerCase());

export class LdapAuthenticator {
  readonly #conn: LdapConn;

  constructor(readonly cfg: LdapAuthenticatorConfig) {
    this.#conn = new LdapConn(cfg);
  }

  close(): void {
    this.#conn.close();
  }

  async authenticate(c: Credentials): Promise<Decision> {
    if (c.password === undefined) return { kind: 'ignore', why: 'no password' };
    const vars = credentialVars(c);
    const base = fillTemplate(this.cfg.base_dn, vars, escapeDnValue);
    const filter = fillTemplate(this.cfg.filter, vars, escapeFilterValue);
    const m = this.cfg.method;
    const attributes = [...(m.type === 'hash' ? [m.password_attribute] : []), m.is_superuser_attribute, ENABLED_ATTR];
    let entries: Array<Record<string, unknown> & { dn: string }>;
    try {
      entries = await this.#conn.search(base, filter, attributes);
    } catch (err) {
      // noSuchObject (32): the base DN names no entry, so no such user.
      if ((err as { cause?: { code?: number } }).cause?.code === 32) return { kind: 'ignore', why: 'no such user' };
      return { kind: 'ignore', why: `the query failed: ${(err as Error).message}` };
    }
    if (entries.length === 0) return { kind: 'ignore', why: 'no such user' };
    if (entries.length > 1) return { kind: 'ignore', why: `${entries.length} entries match; base_dn and filter must find one` };
    const entry = entries[0]!;
    if (first(entry, ENABLED_ATTR)?.toLowerCase() === 'false') return { kind: 'deny', rc: RC.notAuthorized, reason: 'the entry is not enabled' };
    if (m.type === 'hash') {
      const stored = first(entry, m.password_attribute);
      if (stored === undefined) return { kind: 'deny', rc: RC.badUsernameOrPassword, reason: `the entry has no ${m.password_attribute}` };
      const ok = checkLdapPassword(stored, c.password);
      if (typeof ok === 'string') return { kind: 'deny', rc: RC.badUsernameOrPassword, reason: ok };
      if (!ok) return { kind: 'deny', rc: RC.badUsernameOrPassword, reason: 'wrong password' };
    } else {
      let bound: boolean;
      try {
        bound = await this.#conn.bindAs(entry.dn, fillTemplate(m.bind_password, vars));
      } catch (err) {
        return { kind: 'ignore', why: `the bind failed: ${(err as Error).message}` };
      }
      if (!bound) return { kind: 'deny', rc: RC.badUsernameOrPassword, reason: 'wrong password (the directory refused the bind)' };
    }
    return { kind: 'allow', superuser: isTrue(first(entry, m.is_superuser_attribute)) };
  }
}
