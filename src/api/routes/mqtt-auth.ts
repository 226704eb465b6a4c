// EMQX's API for who may connect and what clients may do: the built_in_database users
// (emqx_authn_api, emqx_authn_user_import_api), banned clients (emqx_mgmt_api_banned) and the
// built_in_database authorization rules (emqx_authz_api_mnesia). The tables are replicated, so
// any node answers for the whole cluster. User import takes EMQX's JSON list (application/json);
// its multipart file upload is not offered (`emqx ctl users import <file>` reads CSV and JSON).
import { PASSWORD_BUILTIN_ID, SCRAM_BUILTIN_ID, type AuthService } from '../../auth/service.js';
import { UserError, type StoredUser, type Users } from '../../auth/authn/users.js';
import { ImportError } from '../../auth/authn/user-import.js';
import { BAN_KINDS, BanError, type Ban, type BanKind } from '../../auth/banned/banned.js';
import { RuleError, type RawRule, type RuleOwner } from '../../auth/authz/builtin-rules.js';
import { ApiError, ERROR_SCHEMA, badRequest, notFound } from '../errors.js';
import { ldapView, redisView, sqlView } from './authz.js';
import { parseTime, rfc3339 } from '../format/time.js';
import { noContent, ok, PAGE_QUERY, S, type ApiReply, type RouteDef } from './route.js';

/** EMQX's default length of a ban made through the API without `until`: a year. */
const DEFAULT_BAN_S = 365 * 24 * 3600;

const USER = S.obj({ user_id: S.str(), is_superuser: S.bool() }, [], true);
const RULE = S.obj(
  {
    topic: { type: 'string', minLength: 1, maxLength: 65535 },
    permission: { type: 'string', enum: ['allow', 'deny'] },
    action: { type: 'string', enum: ['publish', 'subscribe', 'all'] },
    qos: S.arr({ type: 'integer', minimum: 0, maximum: 2 }),
    retain: { oneOf: [{ type: 'boolean' }, { type: 'string', enum: ['all'] }] },
  },
  ['topic', 'permission', 'action'],
);
const RULES = S.arr(RULE);

function page<T>(rows: readonly T[], query: Record<string, unknown>): { data: T[]; meta: { page: number; limit: number; count: number; hasnext: boolean } } {
  const p = Number(query.page ?? 1);
  const limit = Number(query.limit ?? 100);
  const data = rows.slice((p - 1) * limit, p * limit);
  return { data, meta: { page: p, limit, count: rows.length, hasnext: p * limit < rows.length } };
}

const userView = (u: StoredUser): { user_id: string; is_superuser: boolean } => ({ user_id: u.user_id, is_superuser: u.is_superuser === true });

export function banView(b: Ban): Record<string, unknown> {
  return { as: b.as, who: b.who, by: b.by, reason: b.reason, at: rfc3339(b.at * 1000, 'second'), until: b.until === undefined ? 'infinity' : rfc3339(b.until * 1000, 'second') };
}

function mapErr(err: unknown): never {
  if (err instanceof UserError) {
    if (err.kind === 'not_found') throw notFound(err.message);
    if (err.kind === 'already_exist') throw new ApiError(409, 'CONFLICT', err.message);
    throw badRequest(err.message);
  }
  if (err instanceof ImportError || err instanceof BanError || err instanceof RuleError) throw badRequest(err.message);
  throw err;
}

async function guarded<T>(f: () => Promise<T> | T): Promise<T> {
  try {
    return await f();
  } catch (err) {
    return mapErr(err);
  }
}

export function mqttAuthRoutes(service: () => AuthService | undefined): RouteDef[] {
  const svc = (): AuthService => {
    const s = service();
    if (!s) throw new ApiError(503, 'SERVICE_UNAVAILABLE', 'authentication is not running on this node yet');
    return s;
  };
  /** The users of the authenticator named in the path (the built_in_database ones have users). */
  const usersOf = (id: string | undefined): Users<StoredUser> => {
    const users = svc().usersOf(id);
    if (!users) throw notFound(`Authenticator '${id ?? ''}' not found`);
    return users;
  };
  const idParam = S.obj({ id: S.str(`${PASSWORD_BUILTIN_ID} or ${SCRAM_BUILTIN_ID}`) }, ['id']);
  const userParam = S.obj({ id: S.str(), user_id: { type: 'string', minLength: 1, maxLength: 65535 } }, ['id', 'user_id']);
  const tags = ['Authentication'];

  const rulesFor = (kind: 'username' | 'clientid'): RouteDef[] => {
    const plural = kind === 'username' ? 'users' : 'clients';
    const param = S.obj({ [kind]: { type: 'string', minLength: 1, maxLength: 65535 } }, [kind]);
    const owner = (who: string): RuleOwner => ({ kind, who });
    const base = `/authorization/sources/built_in_database/rules/${plural}`;
    return [
      {
        method: 'GET',
        url: base,
        tags: ['Authorization'],
        summary: `Rules per ${kind}`,
        querystring: S.obj({ ...PAGE_QUERY, [`like_${kind}`]: S.str() }),
        handler: (req) => {
          const like = req.query[`like_${kind}`];
          const rows = svc().rules.list(kind).filter((r) => typeof like !== 'string' || r.who.includes(like));
          return ok(page(rows.map((r) => ({ [kind]: r.who, rules: r.rules })), req.query));
        },
      },
      {
        method: 'POST',
        url: base,
        tags: ['Authorization'],
        summary: `Add rules for ${plural}`,
        notWhileJoining: true,
        body: S.arr(S.obj({ [kind]: { type: 'string', minLength: 1 }, rules: RULES }, [kind, 'rules'])),
        response: { 204: { description: 'Created' }, 400: ERROR_SCHEMA },
        handler: (req) =>
          guarded(async () => {
            const s = svc();
            const items = req.body as Array<Record<string, unknown> & { rules: RawRule[] }>;
            for (const it of items) if (s.rules.get(owner(String(it[kind]))) !== undefined) throw new ApiError(409, 'CONFLICT', `rules for ${kind} ${String(it[kind])} already exist`);
            for (const it of items) await s.rules.set(owner(String(it[kind])), it.rules);
            s.authorizer.invalidate();
            return noContent();
          }),
      },
      {
        method: 'GET',
        url: `${base}/:${kind}`,
        tags: ['Authorization'],
        summary: `The rules of one ${kind}`,
        params: param,
        handler: (req) => {
          const who = req.params[kind]!;
          const rules = svc().rules.get(owner(who));
          if (!rules) throw notFound('Not Found');
          return ok({ [kind]: who, rules });
        },
      },
      {
        method: 'PUT',
        url: `${base}/:${kind}`,
        tags: ['Authorization'],
        summary: `Replace the rules of one ${kind}`,
        notWhileJoining: true,
        params: param,
        body: S.obj({ [kind]: S.str(), rules: RULES }, ['rules']),
        handler: (req) =>
          guarded(async () => {
            const s = svc();
            await s.rules.set(owner(req.params[kind]!), (req.body as { rules: RawRule[] }).rules);
            s.authorizer.invalidate();
            return noContent();
          }),
      },
      {
        method: 'DELETE',
        url: `${base}/:${kind}`,
        tags: ['Authorization'],
        summary: `Delete the rules of one ${kind}`,
        notWhileJoining: true,
        params: param,
        handler: async (req) => {
          const s = svc();
          if (!(await s.rules.del(owner(req.params[kind]!)))) throw notFound('Not Found');
          s.authorizer.invalidate();
          return noContent();
        },
      },
    ];
  };

  return [
    {
      method: 'GET',
      url: '/authentication',
      tags,
      summary: 'The authentication chain',
      handler: () =>
        ok(
          svc().settings.authentication.map((a) => {
            if ('unserved' in a) return { id: `${a.mechanism}${a.backend ? `:${a.backend}` : ''}`, mechanism: a.mechanism, ...(a.backend ? { backend: a.backend } : {}), enable: a.enable, served: false };
            if (a.mechanism === 'scram') return { id: SCRAM_BUILTIN_ID, mechanism: a.mechanism, backend: a.backend, enable: a.enable, algorithm: a.algorithm, iteration_count: a.iteration_count };
            if (a.mechanism === 'jwt') return { id: 'jwt', mechanism: a.mechanism, enable: a.enable, algorithm: a.algorithm, from: a.from, use_jwks: a.jwks !== undefined, ...(a.jwks ? { endpoint: a.jwks.endpoint, refresh_interval: `${a.jwks.refresh_interval}ms` } : {}), verify_claims: a.verify_claims };
            if ('base_dn' in a) return { id: 'password_based:ldap', mechanism: a.mechanism, backend: a.backend, enable: a.enable, ...ldapView(a), method: a.method.type === 'bind' ? { type: 'bind', is_superuser_attribute: a.method.is_superuser_attribute } : a.method };
            if ('query' in a) return { id: `password_based:${a.backend}`, mechanism: a.mechanism, backend: a.backend, enable: a.enable, ...sqlView(a), query: a.query, password_hash_algorithm: a.password_hash_algorithm };
            if (a.backend === 'redis') return { id: 'password_based:redis', mechanism: a.mechanism, backend: a.backend, enable: a.enable, ...redisView(a), cmd: a.cmd.join(' '), password_hash_algorithm: a.password_hash_algorithm };
            if (a.backend === 'http') return { id: 'password_based:http', mechanism: a.mechanism, backend: a.backend, enable: a.enable, method: a.method, url: a.url, request_timeout: `${a.request_timeout}ms`, pool_size: a.pool_size };
            return { id: PASSWORD_BUILTIN_ID, mechanism: a.mechanism, backend: a.backend, enable: a.enable, user_id_type: a.user_id_type, password_hash_algorithm: a.password_hash_algorithm };
          }),
        ),
    },
    {
      method: 'GET',
      url: '/authentication/:id/users',
      tags,
      summary: 'List users',
      params: idParam,
      querystring: S.obj({ ...PAGE_QUERY, like_user_id: S.str(), is_superuser: S.bool() }),
      response: { 200: S.obj({ data: S.arr(USER), meta: S.any() }), 404: ERROR_SCHEMA },
      handler: (req) => {
        const like = req.query.like_user_id;
        const sup = req.query.is_superuser;
        const rows = usersOf(req.params.id).list().filter((u) => (typeof like !== 'string' || u.user_id.includes(like)) && (typeof sup !== 'boolean' || u.is_superuser === sup));
        return ok(page(rows.map(userView), req.query));
      },
    },
    {
      method: 'POST',
      url: '/authentication/:id/users',
      tags,
      summary: 'Add a user',
      notWhileJoining: true,
      params: idParam,
      body: S.obj({ user_id: { type: 'string', minLength: 1, maxLength: 65535 }, password: { type: 'string', maxLength: 65535 }, is_superuser: S.bool() }, ['user_id', 'password']),
      response: { 201: USER, 400: ERROR_SCHEMA, 404: ERROR_SCHEMA, 409: ERROR_SCHEMA },
      handler: (req) =>
        guarded(async (): Promise<ApiReply> => {
          const b = req.body as { user_id: string; password: string; is_superuser?: boolean };
          const u = await usersOf(req.params.id).add(b.user_id, b.password, b.is_superuser ?? false);
          return { status: 201, body: userView(u) };
        }),
    },
    {
      method: 'GET',
      url: '/authentication/:id/users/:user_id',
      tags,
      summary: 'One user',
      params: userParam,
      response: { 200: USER, 404: ERROR_SCHEMA },
      handler: (req) => {
        const u = usersOf(req.params.id).get(req.params.user_id!);
        if (!u) throw notFound('User not found');
        return ok(userView(u));
      },
    },
    {
      method: 'PUT',
      url: '/authentication/:id/users/:user_id',
      tags,
      summary: 'Change a user: password, is_superuser',
      notWhileJoining: true,
      params: userParam,
      body: S.obj({ password: { type: 'string', maxLength: 65535 }, is_superuser: S.bool() }),
      response: { 200: USER, 404: ERROR_SCHEMA },
      handler: (req) =>
        guarded(async () => {
          const b = req.body as { password?: string; is_superuser?: boolean };
          return ok(userView(await usersOf(req.params.id).update(req.params.user_id!, b)));
        }),
    },
    {
      method: 'DELETE',
      url: '/authentication/:id/users/:user_id',
      tags,
      summary: 'Delete a user',
      notWhileJoining: true,
      params: userParam,
      response: { 204: { description: 'Deleted' }, 404: ERROR_SCHEMA },
      handler: (req) =>
        guarded(async () => {
          await usersOf(req.params.id).del(req.params.user_id!);
          return noContent();
        }),
    },
    {
      method: 'POST',
      url: '/authentication/:id/import_users',
      tags,
      summary: "Import users: EMQX's JSON list ([{user_id, password | password_hash, salt, is_superuser}])",
      notWhileJoining: true,
      params: idParam,
      querystring: S.obj({ type: { type: 'string', enum: ['plain', 'hash'], default: 'plain' } }),
      body: S.arr(S.any()),
      response: { 200: S.obj({ total: S.int(), success: S.int(), override: S.int(), skipped: S.int(), failed: S.int() }), 400: ERROR_SCHEMA },
      handler: (req) =>
        guarded(async () => {
          // SCRAM keys derive from the password, which an export does not hold (EMQX refuses too).
          if (req.params.id === SCRAM_BUILTIN_ID) throw badRequest(`${SCRAM_BUILTIN_ID} users cannot be imported: add them with their passwords`);
          usersOf(req.params.id);
          return ok(await svc().importList(req.body, req.query.type === 'hash' ? 'hash' : 'plain', true));
        }),
    },
    {
      method: 'GET',
      url: '/banned',
      tags: ['Banned'],
      summary: 'Banned clients',
      querystring: S.obj(PAGE_QUERY),
      handler: (req) => ok(page(svc().banned.list().map(banView), req.query)),
    },
    {
      method: 'POST',
      url: '/banned',
      tags: ['Banned'],
      summary: 'Ban a client by clientid, username or peerhost (an address or CIDR range), on every node',
      notWhileJoining: true,
      body: S.obj(
        {
          as: { type: 'string', enum: BAN_KINDS },
          who: { type: 'string', minLength: 1, maxLength: 65535 },
          by: { type: 'string', maxLength: 1024 },
          reason: { type: 'string', maxLength: 4096 },
          at: { type: 'string', maxLength: 64 },
          until: { type: 'string', maxLength: 64 },
        },
        ['as', 'who'],
      ),
      response: { 200: S.any(), 400: ERROR_SCHEMA },
      handler: (req) =>
        guarded(async () => {
          const b = req.body as { as: BanKind; who: string; by?: string; reason?: string; at?: string; until?: string };
          const time = (v: string | undefined, what: string): number | undefined => {
            if (v === undefined) return undefined;
            const t = parseTime(v);
            if (t === undefined) throw badRequest(`${what}: '${v}' is not an RFC 3339 time`);
            return Math.floor(t / 1000);
          };
          const at = time(b.at, 'at') ?? Math.floor(Date.now() / 1000);
          const until = b.until === 'infinity' ? undefined : (time(b.until, 'until') ?? at + DEFAULT_BAN_S);
          if (until !== undefined && until <= Math.floor(Date.now() / 1000)) throw badRequest('until: the ban would already have ended');
          const ban: Ban = { as: b.as, who: b.who, by: b.by ?? req.principal?.kind ?? 'api', reason: b.reason ?? '', at, ...(until !== undefined ? { until } : {}) };
          await svc().banned.add(ban);
          return ok(banView(ban));
        }),
    },
    {
      method: 'DELETE',
      url: '/banned/:as/:who',
      tags: ['Banned'],
      summary: 'Lift a ban',
      notWhileJoining: true,
      params: S.obj({ as: { type: 'string', enum: BAN_KINDS }, who: { type: 'string', minLength: 1 } }, ['as', 'who']),
      response: { 204: { description: 'Deleted' }, 404: ERROR_SCHEMA },
      handler: async (req) => {
        if (!(await svc().banned.del(req.params.as as BanKind, req.params.who!))) throw notFound(`${req.params.as ?? ''} ${req.params.who ?? ''} is not banned`);
        return noContent();
      },
    },
    {
      method: 'DELETE',
      url: '/banned',
      tags: ['Banned'],
      summary: 'Lift every ban',
      notWhileJoining: true,
      handler: async () => {
        await svc().banned.clear();
        return noContent();
      },
    },
    ...rulesFor('username'),
    ...rulesFor('clientid'),
    {
      method: 'GET',
      url: '/authorization/sources/built_in_database/rules/all',
      tags: ['Authorization'],
      summary: 'Rules for all clients',
      handler: () => ok({ rules: svc().rules.get({ kind: 'all' }) ?? [] }),
    },
    {
      method: 'POST',
      url: '/authorization/sources/built_in_database/rules/all',
      tags: ['Authorization'],
      summary: 'Set the rules for all clients',
      notWhileJoining: true,
      body: S.obj({ rules: RULES }, ['rules']),
      handler: (req) =>
        guarded(async () => {
          const s = svc();
          await s.rules.set({ kind: 'all' }, (req.body as { rules: RawRule[] }).rules);
          s.authorizer.invalidate();
          return noContent();
        }),
    },
    {
      method: 'DELETE',
      url: '/authorization/sources/built_in_database/rules/all',
      tags: ['Authorization'],
      summary: 'Delete the rules for all clients',
      notWhileJoining: true,
      handler: async () => {
        const s = svc();
        await s.rules.del({ kind: 'all' });
        s.authorizer.invalidate();
        return noContent();
      },
    },
  ];
}
