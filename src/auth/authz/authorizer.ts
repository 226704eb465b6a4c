// Authorization (EMQX's emqx_authz with emqx_access_control's cache): the sources in order (an
// acl.conf, the built_in_database rules, an HTTP service), the first that matches decides,
// `no_match` when none does. A ClientAuthz is one connection's view: the rules narrowed to that
// client, its cache. With no source and no_match = allow every check returns at once, without
// touching a cache. A check that reaches a remote source (HTTP, Redis, PostgreSQL, MySQL, LDAP) is answered later (a promise); every
// other check is answered at once, so the publish path pays for no promise unless it asks a
// service.
import { AuthzCache, cacheKey, parseCacheKey } from './cache.js';
import { compileRawRule, type BuiltinRules, type RawRule } from './builtin-rules.js';
import { decide, rulesForClient, type AuthzRequest, type ClientRule, type Permission, type Rule, type RuleClient } from './rule.js';
import { matchPattern, type TopicPattern } from './topic-match.js';

export type AuthzSource =
  | { readonly type: 'file'; readonly path: string; readonly rules: readonly Rule[] }
  | { readonly type: 'built_in_database'; readonly store: BuiltinRules }
  | RemoteSource;

/** A source asked over the network (an HTTP service, Redis, PostgreSQL, MySQL, LDAP): answers later, never rejects. */
export interface RemoteSource {
  readonly type: 'http' | 'redis' | 'postgresql' | 'mysql' | 'ldap';
  check(c: RuleClient, req: AuthzRequest, topic: string): Promise<Permission | undefined>;
  /** A reload replaced it: its connections go. */
  close(): void;
}

export interface AuthzSettings {
  readonly noMatch: Permission;
  readonly denyAction: 'ignore' | 'disconnect';
  readonly cache: { readonly enable: boolean; readonly maxSize: number; readonly ttl: number; readonly excludes: readonly TopicPattern[] };
  readonly sources: readonly AuthzSource[];
}

export interface AuthzStats {
  allow: number;
  deny: number;
  cacheHit: number;
  cacheMiss: number;
}

export class Authorizer {
  #s: AuthzSettings;
  /** Bumped on every change of the rules: cached answers of older generations are not used. */
  #gen = 0;
  #open: boolean;
  readonly stats: AuthzStats = { allow: 0, deny: 0, cacheHit: 0, cacheMiss: 0 };

  constructor(settings: AuthzSettings) {
    this.#s = settings;
    this.#open = isOpen(settings);
  }

  get settings(): AuthzSettings {
    return this.#s;
  }

  get generation(): number {
    return this.#gen;
  }

  /** Every check allows: nothing to evaluate. */
  get open(): boolean {
    return this.#open;
  }

  update(settings: AuthzSettings): void {
    // Remote sources of the old settings close their connections.
    for (const s of this.#s.sources) if (s.type !== 'file' && s.type !== 'built_in_database' && !settings.sources.includes(s)) s.close();
    this.#s = settings;
    this.#open = isOpen(settings);
    this.#gen++;
  }

  /** The built_in_database rules changed on this node: forget cached answers. */
  invalidate(): void {
    this.#gen++;
  }

  /** `acl`: rules that came with the client's credentials (a JWT claim); they alone decide for it. */
  forClient(client: RuleClient, superuser: boolean, acl?: ClientAcl): ClientAuthz {
    return new ClientAuthz(this, client, superuser, acl);
  }
}

/** Authorization rules that came with the credentials (a JWT's `acl` claim): they alone decide. */
export interface ClientAcl {
  readonly rules: readonly RawRule[];
  /** ms; after it the client may do nothing (EMQX: the token's `exp`). */
  readonly expiresAt?: number;
}

function isOpen(s: AuthzSettings): boolean {
  return s.noMatch === 'allow' && s.sources.length === 0;
}

/** One cached answer as EMQX's API shows it. */
export interface CachedAnswer {
  readonly action: 'publish' | 'subscribe';
  readonly qos: number;
  readonly retain: boolean;
  readonly topic: string;
  readonly result: 'allow' | 'deny';
  /** ms */
  readonly updated_time: number;
}

export class ClientAuthz {
  #rulesGen = -1;
  #fileRules: Array<readonly ClientRule[] | undefined> = [];
  readonly cache: AuthzCache;

  /** The client's own rules (EMQX's client_info source, first of all), compiled for it. */
  readonly #own: { readonly rules: readonly ClientRule[]; readonly expiresAt: number } | undefined;

  constructor(
    private readonly authz: Authorizer,
    readonly client: RuleClient,
    readonly superuser: boolean,
    acl?: ClientAcl,
  ) {
    const c = authz.settings.cache;
    this.cache = new AuthzCache(c.enable ? c.maxSize : 0, c.ttl);
    this.#own = acl ? { rules: rulesForClient(acl.rules.map((r) => compileRawRule({ kind: 'all' }, r)), client), expiresAt: acl.expiresAt ?? Number.POSITIVE_INFINITY } : undefined;
  }

  get denyAction(): 'ignore' | 'disconnect' {
    return this.authz.settings.denyAction;
  }

  /** The answers this client has cached: `emqx ctl authz cache-clean <ClientId>` and the API. */
  cached(): CachedAnswer[] {
    return this.cache.entries().map((e) => ({ ...parseCacheKey(e.key), result: e.allow ? 'allow' : 'deny', updated_time: e.at }));
  }

  cleanCache(): void {
    this.cache.clear();
  }

  /** May this client publish to `topic` (subscribe to a filter)? A promise when an HTTP source is asked. */
  allow(type: 'publish' | 'subscribe', topic: string, qos: number, retain: boolean): boolean | Promise<boolean> {
    const a = this.authz;
    if (this.superuser) return true;
    const own = this.#own;
    if (own) {
      // As EMQX: the rules of the token decide alone; what they do not allow is refused, and
      // nothing is allowed once the token has expired.
      const ok = Date.now() < own.expiresAt && decide(own.rules, { type, qos, retain }, topic, topic.split('/')) === 'allow';
      count(a, ok);
      return ok;
    }
    if (a.open) return true;
    const s = a.settings;
    const gen = a.generation;
    const useCache = s.cache.enable && !excluded(s.cache.excludes, topic);
    let key = '';
    if (useCache) {
      key = cacheKey(type, qos, retain, topic);
      const hit = this.cache.get(key, gen, Date.now());
      if (hit !== undefined) {
        a.stats.cacheHit++;
        count(a, hit);
        return hit;
      }
      a.stats.cacheMiss++;
    }
    const d = this.#decide(s, gen, { type, qos, retain }, topic, 0);
    const done = (p: Permission): boolean => {
      const ok = p === 'allow';
      // Kept for the generation it was decided under: a reload meanwhile makes it unused.
      if (useCache) this.cache.put(key, ok, gen, Date.now());
      count(a, ok);
      return ok;
    };
    return typeof d === 'string' ? done(d) : d.then(done);
  }

  /** The sources from the `from`th on decide; a promise from the first HTTP source reached. */
  #decide(s: AuthzSettings, gen: number, req: AuthzRequest, topic: string, from: number): Permission | Promise<Permission> {
    if (this.#rulesGen !== gen) {
      // The file rules narrowed to this client are worked out once per generation.
      this.#fileRules = s.sources.map((src) => (src.type === 'file' ? rulesForClient(src.rules, this.client) : undefined));
      this.#rulesGen = gen;
      const c = s.cache;
      this.cache.configure(c.enable ? c.maxSize : 0, c.ttl);
    }
    const words = topic.split('/');
    for (let i = from; i < s.sources.length; i++) {
      const src = s.sources[i]!;
      if (src.type === 'file' || src.type === 'built_in_database') {
        const rules = src.type === 'file' ? this.#fileRules[i]! : rulesForClient(src.store.rulesFor(this.client), this.client);
        const p = decide(rules, req, topic, words);
        if (p !== undefined) return p;
        continue;
      }
      const next = i + 1;
      return src.check(this.client, req, topic).then((p) => p ?? this.#decide(s, gen, req, topic, next));
    }
    return s.noMatch;
  }
}

function excluded(excludes: readonly TopicPattern[], topic: string): boolean {
  if (excludes.length === 0) return false;
  const words = topic.split('/');
  return excludes.some((p) => matchPattern(p, topic, words));
}

function count(a: Authorizer, ok: boolean): void {
  if (ok) a.stats.allow++;
  else a.stats.deny++;
}
