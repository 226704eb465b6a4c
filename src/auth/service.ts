// The node's authentication and authorization, as one object the node part, the ctl commands and
// the API share: the chain and its users, the authorization sources (acl.conf files compiled,
// the built_in_database rules, HTTP services, Redis, PostgreSQL, MySQL, LDAP), banned clients and
// flapping detection, and the Access the MQTT listeners ask. Applying a config is all or nothing: an acl.conf that does not compile leaves
// everything as it was and says where the file is wrong.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Log } from '../base/log.js';
import type { LogLimiter } from '../base/log-limit.js';
import type { AuthenticatorConfig, AuthorizationConfig, AuthzSourceConfig, BuiltinAuthenticatorConfig, FlappingConfig, PasswordHashAlgorithm, ScramAuthenticatorConfig } from '../config/types.js';
import type { Db } from '../db/db.js';
import { Access } from './access.js';
import { AuthnChain } from './authn/chain.js';
import { hashPassword } from './authn/password-hash.js';
import { parseUserFile, parseUserList, type ImportedRow } from './authn/user-import.js';
import { scramSecret } from './authn/scram.js';
import { PASSWORD_USERS, SCRAM_USERS, UserError, Users, type AuthnUser, type ScramUser, type StoredUser } from './authn/users.js';
import { AclError, compileAclFile } from './authz/acl-file.js';
import { Authorizer, type AuthzSettings, type AuthzSource, type RemoteSource } from './authz/authorizer.js';
import { BuiltinRules } from './authz/builtin-rules.js';
import { HttpAuthzSource } from './authz/http-source.js';
import { RedisAuthzSource } from './authz/redis-source.js';
import { SqlAuthzSource } from './authz/sql-source.js';
import { LdapAuthzSource } from './authz/ldap-source.js';
import { filterPattern } from './authz/topic-match.js';
import type { Rule } from './authz/rule.js';
import { Banned } from './banned/banned.js';
import { FlappingDetector } from './banned/flapping.js';

/** acl.conf contents by absolute path (undefined: the file could not be read). */
export type AclTexts = ReadonlyMap<string, string | undefined>;

export interface AuthSettings {
  readonly authentication: readonly AuthenticatorConfig[];
  readonly authorization: AuthorizationConfig;
  readonly flapping_detect: FlappingConfig;
  /** Where the default acl.conf is looked for. */
  readonly etcDir: string;
}

export interface AuthServiceOptions {
  readonly db: () => Db | undefined;
  readonly log: Log;
  readonly limited: LogLimiter;
  readonly settings: AuthSettings;
}

/** Closes the remote sources of a list that will not be used. */
function closeRemote(sources: readonly AuthzSource[]): void {
  for (const s of sources) if (s.type !== 'file' && s.type !== 'built_in_database') s.close();
}

/** The sources in force: EMQX's default (the etc dir's acl.conf) when none are configured. */
export function effectiveSources(a: AuthorizationConfig, etcDir: string): Array<AuthzSourceConfig & { implicit?: boolean }> {
  if (a.sources !== undefined) return a.sources.filter((s) => s.enable);
  return [{ type: 'file', enable: true, path: join(etcDir, 'acl.conf'), implicit: true }];
}

/** The API's names of the authenticators that keep users (EMQX's authenticator ids). */
export const PASSWORD_BUILTIN_ID = 'password_based:built_in_database';
export const SCRAM_BUILTIN_ID = 'scram:built_in_database';

export class AuthService {
  readonly users: Users<AuthnUser>;
  readonly scramUsers: Users<ScramUser>;
  readonly banned: Banned;
  readonly rules: BuiltinRules;
  readonly chain: AuthnChain;
  readonly authorizer: Authorizer;
  readonly flapping: FlappingDetector;
  readonly access: Access;
  #settings: AuthSettings;
  /** Compiled acl.conf files by path, as in force. */
  #files = new Map<string, readonly Rule[]>();
  readonly #log: Log;
  readonly #limited: LogLimiter;

  constructor(o: AuthServiceOptions) {
    this.#log = o.log;
    this.#limited = o.limited;
    this.#settings = o.settings;
    this.users = new Users(o.db, PASSWORD_USERS, async (password) => hashPassword(this.algorithm(), password));
    this.scramUsers = new Users(o.db, SCRAM_USERS, async (password) => {
      const a = this.scram();
      if (!a) throw new UserError('not_found', `no ${SCRAM_BUILTIN_ID} authenticator in authentication`);
      return scramSecret(a.algorithm, a.iteration_count, password);
    });
    this.banned = new Banned(o.db);
    this.rules = new BuiltinRules(o.db, 100);
    this.chain = new AuthnChain(this.users, this.scramUsers);
    // An HTTP service that is down or answers oddly lets clients fall through to the next
    // authenticator: the operator hears why, once per interval.
    this.chain.onIgnored = (by, why) => o.limited.warn(`authn:${by}:ignored`, { authenticator: by, why }, `authentication: ${by} decided nothing: ${why}`);
    this.authorizer = new Authorizer({ noMatch: 'allow', denyAction: 'ignore', cache: { enable: false, maxSize: 0, ttl: 0, excludes: [] }, sources: [] });
    this.flapping = new FlappingDetector(o.settings.flapping_detect);
    this.access = new Access({ chain: this.chain, authorizer: this.authorizer, banned: this.banned, flapping: this.flapping, log: o.log, limited: o.limited });
  }

  get settings(): AuthSettings {
    return this.#settings;
  }

  /** The served authenticator, if the chain has one. */
  builtin(): BuiltinAuthenticatorConfig | undefined {
    return AuthnChain.builtin(this.#settings.authentication);
  }

  /** The scram authenticator, if the chain has one (enabled or not). */
  scram(): ScramAuthenticatorConfig | undefined {
    return this.#settings.authentication.find((a): a is ScramAuthenticatorConfig => a.mechanism === 'scram' && !('unserved' in a));
  }

  /** The users of an authenticator the API names by id, when the chain has it. */
  usersOf(id: string | undefined): Users<StoredUser> | undefined {
    if (id === PASSWORD_BUILTIN_ID && this.builtin()) return this.users;
    if (id === SCRAM_BUILTIN_ID && this.scram()) return this.scramUsers;
    return undefined;
  }

  /** The hash new passwords get: the built_in_database authenticator's. */
  algorithm(): PasswordHashAlgorithm {
    const a = this.builtin();
    if (!a) throw new UserError('not_found', 'no password_based:built_in_database authenticator in authentication');
    return a.password_hash_algorithm;
  }

  /** Compiles the file sources of `a` (reading each file); throws AclError naming file, line, column. */
  #compileSources(a: AuthorizationConfig, etcDir: string, texts?: AclTexts): { sources: AuthzSource[]; files: Map<string, readonly Rule[]> } {
    const sources: AuthzSource[] = [];
    const files = new Map<string, readonly Rule[]>();
    try {
      this.#addSources(a, etcDir, sources, files, texts);
    } catch (err) {
      // A later source failed: the remote ones made so far close again.
      closeRemote(sources);
      throw err;
    }
    return { sources, files };
  }

  #addSources(a: AuthorizationConfig, etcDir: string, sources: AuthzSource[], files: Map<string, readonly Rule[]>, texts: AclTexts | undefined): void {
    for (const s of effectiveSources(a, etcDir)) {
      if ('unserved' in s) continue;
      if (s.type === 'file') {
        const path = (s as { path: string }).path;
        if ((s as { implicit?: boolean }).implicit && !existsSync(path)) {
          this.#log.info({ path }, 'authorization: no acl.conf in the etc directory; no file rules apply');
          continue;
        }
        let text: string;
        try {
          text = texts?.get(resolve(path)) ?? readFileSync(path, 'utf8');
        } catch (err) {
          throw new AclError([{ file: path, line: 0, column: 0, message: `cannot read the file: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }]);
        }
        const rules = compileAclFile(text, path);
        files.set(path, rules);
        sources.push({ type: 'file', path, rules });
      } else if (s.type === 'built_in_database') {
        this.rules.maxRules = (s as { max_rules: number }).max_rules;
        sources.push({ type: 'built_in_database', store: this.rules });
      } else if (s.type === 'http') {
        const c = s as Extract<AuthzSourceConfig, { type: 'http' }>;
        sources.push(this.#remote('http', c.ssl?.cacertfile, () => new HttpAuthzSource(c)));
      } else if (s.type === 'redis') {
        const c = s as Extract<AuthzSourceConfig, { type: 'redis' }>;
        sources.push(this.#remote('redis', c.ssl?.cacertfile, () => new RedisAuthzSource(c)));
      } else if (s.type === 'postgresql' || s.type === 'mysql') {
        const c = s as Extract<AuthzSourceConfig, { type: 'postgresql' | 'mysql' }>;
        sources.push(this.#remote(c.type, c.ssl?.cacertfile, () => new SqlAuthzSource(c)));
      } else if (s.type === 'ldap') {
        const c = s as Extract<AuthzSourceConfig, { type: 'ldap' }>;
        sources.push(this.#remote('ldap', c.ssl?.cacertfile, () => new LdapAuthzSource(c)));
      }
    }
  }

  /**
   * A remote source (http, redis, postgresql, mysql, ldap), built now: its CA file is read (an
   * AclError naming it when it cannot be); what it could not decide is logged, once per interval.
   */
  #remote<S extends RemoteSource & { onIgnored: (why: string, what?: string) => void }>(kind: string, cacertfile: string | undefined, make: () => S): S {
    let src: S;
    try {
      src = make();
    } catch (err) {
      throw new AclError([{ file: cacertfile ?? kind, line: 0, column: 0, message: `authorization ${kind} source: cannot read ssl.cacertfile: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }]);
    }
    // A backend that is down or answers oddly leaves the check to the next source (or no_match):
    // the operator hears why, once per interval for each kind of problem (`what`).
    src.onIgnored = (why, what = 'failed') => this.#limited.warn(`authz:${kind}:${what}`, { why }, `authorization: the ${kind} source decided nothing: ${why}`);
    return src;
  }

  #authzSettings(a: AuthorizationConfig, sources: AuthzSource[]): AuthzSettings {
    return {
      noMatch: a.no_match,
      denyAction: a.deny_action,
      cache: { enable: a.cache.enable, maxSize: a.cache.max_size, ttl: a.cache.ttl, excludes: a.cache.excludes.map(filterPattern) },
      sources,
    };
  }

  /**
   * Applies settings (at start and on reload); throws AclError and changes nothing when a file is
   * bad. `texts`: acl.conf contents already read (by path), used instead of reading those files.
   */
  apply(settings: AuthSettings, texts?: AclTexts): void {
    const { sources, files } = this.#compileSources(settings.authorization, settings.etcDir, texts);
    // First, as it may throw (a CA file that cannot be read): then nothing has changed, and the
    // new remote sources close again.
    try {
      this.chain.configure(settings.authentication);
    } catch (err) {
      closeRemote(sources);
      throw err;
    }
    this.#settings = settings;
    this.#files = files;
    this.authorizer.update(this.#authzSettings(settings.authorization, sources));
    this.flapping.configure(settings.flapping_detect);
  }

  /** Reads the acl.conf files again (`ctl acl reload`), or takes `texts`, as the watcher read them. */
  reloadAclFiles(texts?: AclTexts): { ok: true; files: Array<{ path: string; rules: number }> } | { ok: false; error: string } {
    try {
      this.apply(this.#settings, texts);
    } catch (err) {
      if (err instanceof AclError) return { ok: false, error: err.message };
      throw err;
    }
    return { ok: true, files: this.aclFiles() };
  }

  aclFiles(): Array<{ path: string; rules: number }> {
    return [...this.#files].map(([path, rules]) => ({ path, rules: rules.length }));
  }

  /** The sources configured, enabled or not, in order (EMQX's default acl.conf when none are). */
  sources(): Array<AuthzSourceConfig & { implicit?: boolean }> {
    const a = this.#settings.authorization;
    return a.sources !== undefined ? [...a.sources] : effectiveSources(a, this.#settings.etcDir);
  }

  /** The acl.conf files to watch: those of the configured file sources, present or not. */
  watchedFiles(): string[] {
    return effectiveSources(this.#settings.authorization, this.#settings.etcDir)
      .filter((s): s is AuthzSourceConfig & { path: string } => s.type === 'file' && 'path' in s)
      .map((s) => s.path);
  }

  async #rowsToUsers(rows: readonly ImportedRow[]): Promise<AuthnUser[]> {
    const algo = this.algorithm();
    const out: AuthnUser[] = [];
    for (const r of rows) {
      if (r.password !== undefined) out.push({ user_id: r.user_id, ...(await hashPassword(algo, r.password)), is_superuser: r.is_superuser });
      else out.push({ user_id: r.user_id, password_hash: r.password_hash!, salt: r.salt ?? '', is_superuser: r.is_superuser });
    }
    return out;
  }

  async importFile(name: string, text: string, type: 'plain' | 'hash', override: boolean): ReturnType<Users['import']> {
    return this.users.import(await this.#rowsToUsers(parseUserFile(name, text, type)), override);
  }

  async importList(list: unknown, type: 'plain' | 'hash', override: boolean): ReturnType<Users['import']> {
    return this.users.import(await this.#rowsToUsers(parseUserList(list, type)), override);
  }
}
