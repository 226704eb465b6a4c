// EMQX's authorization settings and sources API (emqx_authz_api_settings, emqx_authz_api_sources,
// emqx_authz_api_cache), read-only here: the settings and sources are emqx.conf's, changed by
// editing it (the node applies the file when it is saved), so PUT and POST answer 400 saying so.
// DELETE /authorization/cache forgets every client's cached answers on every running member.
import { readFileSync } from 'node:fs';
import type { AuthService } from '../../auth/service.js';
import type { AuthzSourceConfig, LdapConnConfig, RedisConnConfig, SqlConnConfig } from '../../config/types.js';
import type { ApiContext } from '../context.js';
import { ApiError, ERROR_SCHEMA, badRequest, notFound } from '../errors.js';
import { onEveryMember } from './paging.js';
import { noContent, ok, S, type RouteDef } from './route.js';

const ms = (v: number): string => `${v}ms`;

/** One source as EMQX's GET /authorization/sources shows it (a file source with its text, as EMQX's `rules`). */
export function sourceView(s: AuthzSourceConfig & { implicit?: boolean }): Record<string, unknown> {
  if ('unserved' in s) return { type: s.type, enable: s.enable, served: false };
  if (s.type === 'file') {
    let rules = '';
    try {
      rules = readFileSync(s.path, 'utf8');
    } catch {
      // A missing default acl.conf: no rules, as the node runs.
    }
    return { type: s.type, enable: s.enable, path: s.path, rules };
  }
  if (s.type === 'built_in_database') return { type: s.type, enable: s.enable, max_rules: s.max_rules };
  if (s.type === 'redis') return { type: s.type, enable: s.enable, ...redisView(s), cmd: s.cmd.join(' ') };
  if (s.type === 'ldap') return { type: s.type, enable: s.enable, ...ldapView(s), publish_attribute: s.publish_attribute, subscribe_attribute: s.subscribe_attribute, all_attribute: s.all_attribute };
  if (s.type !== 'http') return { type: s.type, enable: s.enable, ...sqlView(s), query: s.query };
  return { type: s.type, enable: s.enable, method: s.method, url: s.url, headers: s.headers, body: s.body, request_timeout: ms(s.request_timeout), pool_size: s.pool_size, ssl: { enable: s.ssl !== undefined, ...(s.ssl ?? {}) } };
}

/** A Redis connection's settings as EMQX's API shows them (the password hidden). */
export function redisView(r: RedisConnConfig): Record<string, unknown> {
  const addr = r.servers.map((s) => `${s.host}:${s.port}`);
  return {
    redis_type: r.redis_type,
    ...(r.redis_type === 'single' ? { server: addr[0], database: r.database } : { servers: addr.join(','), ...(r.redis_type === 'sentinel' ? { sentinel: r.sentinel, database: r.database } : {}) }),
    ...(r.username !== undefined ? { username: r.username } : {}),
    ...(r.password !== undefined ? { password: '******' } : {}),
    ssl: { enable: r.ssl !== undefined },
  };
}

/** An LDAP directory and search as EMQX's API shows them (the password hidden). */
export function ldapView(c: LdapConnConfig & { readonly base_dn: string; readonly filter: string }): Record<string, unknown> {
  return {
    server: `${c.server.host}:${c.server.port}`,
    username: c.username,
    ...(c.password !== undefined ? { password: '******' } : {}),
    base_dn: c.base_dn,
    filter: c.filter,
    query_timeout: ms(c.query_timeout),
    ssl: { enable: c.ssl !== undefined },
  };
}

/** A database connection's settings as EMQX's API shows them (the password hidden). */
export function sqlView(c: SqlConnConfig): Record<string, unknown> {
  return {
    server: `${c.server.host}:${c.server.port}`,
    database: c.database,
    ...(c.username !== undefined ? { username: c.username } : {}),
    ...(c.password !== undefined ? { password: '******' } : {}),
    pool_size: c.pool_size,
    ssl: { enable: c.ssl !== undefined },
  };
}

const EDIT_IN_CONF = 'authorization is configured in emqx.conf: edit it there (the node applies it when the file is saved)';

export function authzRoutes(ctx: ApiContext, service: () => AuthService | undefined): RouteDef[] {
  const svc = (): AuthService => {
    const s = service();
    if (!s) throw new ApiError(503, 'SERVICE_UNAVAILABLE', 'authorization is not running on this node yet');
    return s;
  };
  const tags = ['Authorization'];
  const typeParam = S.obj({ type: S.str() }, ['type']);
  return [
    {
      method: 'GET',
      url: '/authorization/settings',
      tags,
      summary: 'no_match, deny_action and the cache in force',
      handler: () => {
        const a = svc().settings.authorization;
        return ok({ no_match: a.no_match, deny_action: a.deny_action, cache: { enable: a.cache.enable, max_size: a.cache.max_size, ttl: ms(a.cache.ttl), excludes: a.cache.excludes } });
      },
    },
    {
      method: 'PUT',
      url: '/authorization/settings',
      tags,
      summary: 'Answers 400: the settings are emqx.conf’s',
      response: { 400: ERROR_SCHEMA },
      handler: () => {
        throw badRequest(EDIT_IN_CONF);
      },
    },
    {
      method: 'GET',
      url: '/authorization/sources',
      tags,
      summary: 'The sources in force, in order (the default acl.conf when emqx.conf names none)',
      handler: () => ok({ sources: svc().sources().map(sourceView) }),
    },
    {
      method: 'GET',
      url: '/authorization/sources/:type',
      tags,
      summary: 'One source',
      params: typeParam,
      response: { 200: S.any(), 404: ERROR_SCHEMA },
      handler: (req) => {
        const type = (req.params as { type: string }).type;
        const s = svc().sources().find((x) => x.type === type);
        if (!s) throw notFound(`Not found: ${type}`);
        return ok(sourceView(s));
      },
    },
    {
      method: 'POST',
      url: '/authorization/sources',
      tags,
      summary: 'Answers 400: the sources are emqx.conf’s',
      response: { 400: ERROR_SCHEMA },
      handler: () => {
        throw badRequest(EDIT_IN_CONF);
      },
    },
    {
      method: 'DELETE',
      url: '/authorization/cache',
      tags,
      summary: "Forgets every client's cached authorization answers on every running member",
      response: { 204: S.any(), 503: ERROR_SCHEMA },
      async handler() {
        await onEveryMember(ctx.rpc, { op: 'authz_cache_clean' }, 'their clients may use cached answers until the cache ttl');
        return noContent();
      },
    },
  ];
}
