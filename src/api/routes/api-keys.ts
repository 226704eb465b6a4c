// /api_key (EMQX's emqx_mgmt_api_api_keys): API keys for scripts, usable as HTTP Basic
// `api_key:api_secret` on every path except these (and logout), which need a logged-in user.
import { ApiKeyError, type ApiKeyRecord } from '../auth/api-keys.js';
import type { ApiContext } from '../context.js';
import { ApiError, ERROR_SCHEMA, badRequest } from '../errors.js';
import { parseTime, rfc3339 } from '../format/time.js';
import { noContent, ok, S, type RouteDef } from './route.js';

const NAME = { type: 'string', minLength: 1, maxLength: 256, pattern: '^[A-Za-z]+[A-Za-z0-9-_]*$', description: 'Unique name, [A-Za-z][A-Za-z0-9-_]*' };
const EXPIRED_AT = { description: "'infinity', RFC 3339 text or epoch seconds", oneOf: [{ type: 'string', maxLength: 64 }, { type: 'integer', minimum: 0 }] };

const APP = S.obj(
  {
    name: S.str(),
    api_key: S.str(),
    api_secret: S.str('Shown once, when the key is created'),
    expired_at: S.str(),
    created_at: S.str(),
    desc: S.str(),
    enable: S.bool(),
    expired: S.bool(),
  },
  [],
  true,
);

export function formatKey(r: ApiKeyRecord, now: number): Record<string, unknown> {
  return {
    name: r.name,
    api_key: r.apiKey,
    expired_at: r.expiredAt === undefined ? 'infinity' : rfc3339(r.expiredAt * 1000, 'second'),
    created_at: rfc3339(r.createdAt * 1000, 'second'),
    desc: r.desc,
    enable: r.enable,
    expired: r.expiredAt !== undefined && r.expiredAt < Math.floor(now / 1000),
  };
}

/** `infinity` → null (never); RFC 3339 or epoch seconds → seconds. */
function expiredAt(v: unknown): number | null | undefined {
  if (v === undefined) return undefined;
  if (v === 'infinity') return null;
  const t = typeof v === 'number' ? v * 1000 : parseTime(String(v));
  if (t === undefined) throw badRequest(`expired_at: '${String(v)}' is not 'infinity', an RFC 3339 time or epoch seconds`);
  return Math.floor(t / 1000);
}

function mapError(err: unknown): never {
  if (err instanceof ApiKeyError) throw err.kind === 'not_found' ? new ApiError(404, 'NOT_FOUND', 'Name NOT FOUND') : badRequest(err.message);
  throw err;
}

export function apiKeyRoutes(ctx: ApiContext): RouteDef[] {
  const keys = (): NonNullable<ReturnType<ApiContext['apiKeys']>> => {
    const k = ctx.apiKeys();
    if (!k) throw new ApiError(503, 'SERVICE_UNAVAILABLE', 'the database is not open yet');
    return k;
  };
  const nameParam = S.obj({ name: NAME }, ['name']);
  return [
    {
      method: 'GET',
      url: '/api_key',
      auth: 'token',
      tags: ['API Keys'],
      summary: 'List API keys',
      response: { 200: S.arr(APP) },
      handler: () => ok(keys().list().map((r) => formatKey(r, ctx.now()))),
    },
    {
      method: 'POST',
      url: '/api_key',
      auth: 'token',
      notWhileJoining: true,
      tags: ['API Keys'],
      summary: 'Create an API key; its secret is in this answer only',
      body: S.obj({ name: NAME, expired_at: EXPIRED_AT, desc: { type: 'string', maxLength: 1024 }, enable: S.bool() }, ['name']),
      response: { 200: APP, 400: ERROR_SCHEMA },
      async handler(req) {
        const b = req.body as { name: string; expired_at?: unknown; desc?: string; enable?: boolean };
        const exp = expiredAt(b.expired_at);
        try {
          const { record, secret } = await keys().create({ name: b.name, enable: b.enable ?? true, desc: b.desc ?? '', ...(typeof exp === 'number' ? { expiredAt: exp } : {}) }, ctx.now());
          return ok({ ...formatKey(record, ctx.now()), api_secret: secret });
        } catch (err) {
          return mapError(err);
        }
      },
    },
    {
      method: 'GET',
      url: '/api_key/:name',
      auth: 'token',
      tags: ['API Keys'],
      summary: 'One API key',
      params: nameParam,
      response: { 200: APP, 404: ERROR_SCHEMA },
      handler(req) {
        const r = keys().get(req.params.name!);
        if (!r) throw new ApiError(404, 'NOT_FOUND', 'Name NOT FOUND');
        return ok(formatKey(r, ctx.now()));
      },
    },
    {
      method: 'PUT',
      url: '/api_key/:name',
      auth: 'token',
      notWhileJoining: true,
      tags: ['API Keys'],
      summary: 'Change an API key: enable, expired_at, desc',
      params: nameParam,
      body: S.obj({ expired_at: EXPIRED_AT, desc: { type: 'string', maxLength: 1024 }, enable: S.bool() }),
      response: { 200: APP, 404: ERROR_SCHEMA },
      async handler(req) {
        const b = req.body as { expired_at?: unknown; desc?: string; enable?: boolean };
        const exp = expiredAt(b.expired_at);
        try {
          const r = await keys().update(req.params.name!, { ...(b.enable !== undefined ? { enable: b.enable } : {}), ...(b.desc !== undefined ? { desc: b.desc } : {}), ...(exp !== undefined ? { expiredAt: exp } : {}) });
          return ok(formatKey(r, ctx.now()));
        } catch (err) {
          return mapError(err);
        }
      },
    },
    {
      method: 'DELETE',
      url: '/api_key/:name',
      auth: 'token',
      notWhileJoining: true,
      tags: ['API Keys'],
      summary: 'Delete an API key',
      params: nameParam,
      response: { 204: { description: 'Delete successfully' }, 404: ERROR_SCHEMA },
      async handler(req) {
        try {
          await keys().delete(req.params.name!);
          return noContent();
        } catch (err) {
          return mapError(err);
        }
      },
    },
  ];
}
