// The HTTP application: fastify with EMQX's /api/v5 routes, the OpenAPI document generated from
// the same JSON schemas that validate each request (served at /api-docs), the dashboard page at
// `/`, and one error path that answers every failure as EMQX does: `{"code", "message"}` with a
// 4xx, or (never expected) a 500 INTERNAL_ERROR, never a dropped connection. The listeners
// (listeners.ts) hand their requests to `handle`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifySchemaCompiler } from 'fastify';
import swagger from '@fastify/swagger';
import { AjvCompiler } from '@fastify/ajv-compiler';
import { authenticate, type AuthRule, type Principal } from './auth/guard.js';
import type { ApiContext } from './context.js';
import { ApiError, type ErrorBody } from './errors.js';
import type { ApiRequest, RouteDef } from './routes/route.js';
import type { StaticFile } from './static.js';
import { UPLOAD_LIMIT_BYTES } from './routes/data-backup.js';

export const API_PREFIX = '/api/v5';
/** Request bodies over this are refused with 413. */
export const BODY_LIMIT = 1024 * 1024;

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthRule;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

function errorReply(err: FastifyError | ApiError | Error): { status: number; body: ErrorBody; headers: Record<string, string> } {
  if (err instanceof ApiError) return { status: err.status, body: err.body(), headers: { ...err.headers } };
  const f = err as FastifyError;
  if (f.validation) return { status: 400, body: { code: 'BAD_REQUEST', message: f.message }, headers: {} };
  switch (f.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: { code: 'BAD_REQUEST', message: `request body is larger than this path takes (${BODY_LIMIT} bytes of JSON; a backup upload ${UPLOAD_LIMIT_BYTES})` }, headers: {} };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, body: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'send the request body as application/json' }, headers: {} };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, body: { code: 'BAD_REQUEST', message: `Invalid JSON body: ${f.message}` }, headers: {} };
  }
  if (f instanceof SyntaxError || (typeof f.statusCode === 'number' && f.statusCode === 400)) {
    return { status: 400, body: { code: 'BAD_REQUEST', message: f.message }, headers: {} };
  }
  if (typeof f.statusCode === 'number' && f.statusCode >= 400 && f.statusCode < 500) {
    return { status: f.statusCode, body: { code: 'BAD_REQUEST', message: f.message }, headers: {} };
  }
  return { status: 500, body: { code: 'INTERNAL_ERROR', message: 'the request failed on this node; see its log' }, headers: {} };
}

const NOT_FOUND_HTML = '<html><head><title>404 - NOT FOUND</title></head><body><h1>404 - NOT FOUND</h1></body></html>';

export interface ApiServer {
  readonly app: FastifyInstance;
  /** For the listeners: every request of every listener goes through here. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
}

type Validator = ReturnType<FastifySchemaCompiler<unknown>>;

/** A validator compiled when first called; fastify reads `errors` off it after a `false`. */
function lazyValidator(compile: () => Validator): Validator {
  let fn: Validator | undefined;
  const validate: Validator = (data: unknown) => {
    fn ??= compile();
    const result = fn(data);
    validate.errors = fn.errors;
    return result;
  };
  return validate;
}

export async function buildServer(ctx: ApiContext, routes: readonly RouteDef[], files: ReadonlyMap<string, StaticFile>): Promise<ApiServer> {
  const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT, trustProxy: false, return503OnClosing: true, routerOptions: { maxParamLength: 65535 } });
  // Query strings are text: coerced to the schema's types. Bodies are JSON: taken as typed, so
  // `{"timeout": "abc"}` or `{"enable": 1}` is a 400, not a guess.
  const factory = AjvCompiler();
  const loose = factory({}, { customOptions: { coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false } });
  const strict = factory({}, { customOptions: { coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false } });
  // Compiled on a route's first request, not at start: ~80 schemas cost about 0.2 s of CPU and
  // tens of MB of start-up heap, and most routes of a node are never called.
  app.setValidatorCompiler((route) => lazyValidator(() => (route.httpPart === 'body' ? strict(route) : loose(route))));
  // Response schemas document the API; answers are sent as they are.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // JSON only: a form or text/plain post from another site's page is refused before any handler.
  app.removeContentTypeParser('text/plain');

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'emqx-ts API', version: ctx.version, description: "EMQX 5's /api/v5 for this node's cluster" },
      servers: [{ url: '/' }],
      components: {
        securitySchemes: {
          basicAuth: { type: 'http', scheme: 'basic', description: 'API key and secret' },
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'A token from POST /api/v5/login' },
        },
      },
      security: [{ basicAuth: [] }, { bearerAuth: [] }],
    },
  });

  app.addHook('onRequest', async (req: FastifyRequest) => {
    const rule = req.routeOptions.config.auth ?? 'none';
    if (rule === 'none') return;
    req.principal = await authenticate(req.headers.authorization, rule, req.ip, req.url, {
      admins: ctx.admins,
      apiKeys: ctx.apiKeys,
      store: ctx.store,
      failures: ctx.failures,
      now: ctx.now,
    });
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const r = errorReply(err);
    if (r.status >= 500) ctx.log.error({ method: req.method, url: req.url, err: err.message }, 'API request failed');
    void reply.code(r.status).headers(r.headers).type('application/json').send(JSON.stringify(r.body));
  });

  app.setNotFoundHandler((req, reply) => {
    const accept = String(req.headers.accept ?? '');
    if (req.url.startsWith(`${API_PREFIX}/`) || accept.startsWith('application/json')) {
      void reply.code(404).type('application/json').send(JSON.stringify({ code: 'NOT_FOUND', message: 'Request Path Not Found' }));
    } else {
      void reply.code(404).type('text/html').send(NOT_FOUND_HTML);
    }
  });

  const addRoute = (instance: FastifyInstance, r: RouteDef): void => {
    instance.route({
      method: r.method,
      url: `${API_PREFIX}${r.url}`,
      config: { auth: r.auth ?? 'any' },
      schema: {
        tags: [...r.tags],
        summary: r.summary,
        ...(r.params ? { params: r.params } : {}),
        ...(r.querystring ? { querystring: r.querystring } : {}),
        ...(r.body ? { body: r.body } : {}),
        ...(r.response ? { response: r.response } : {}),
        ...((r.auth ?? 'any') === 'none' ? { security: [] } : r.auth === 'token' ? { security: [{ bearerAuth: [] }] } : {}),
      },
      handler: async (req, reply) => {
        const joining = ctx.cluster()?.busy();
        if (r.notWhileJoining && joining) {
          throw new ApiError(409, 'CONFLICT', `a cluster join to ${joining} is in progress on this node; try again when it has finished`);
        }
        const request: ApiRequest = {
          params: req.params as Record<string, string>,
          query: (req.query ?? {}) as Record<string, unknown>,
          body: req.body,
          headers: req.headers,
          ip: req.ip,
          principal: req.principal,
        };
        const out = await r.handler(request);
        if (r.method !== 'GET') ctx.log.info({ method: r.method, url: req.url, status: out.status ?? 200, by: principalName(req.principal), source: req.ip }, 'API call');
        void reply.code(out.status ?? 200);
        if (out.headers) void reply.headers(out.headers);
        if (out.status === 204 || out.body === undefined) return reply.send();
        if (out.type) return reply.type(out.type).send(out.body as string);
        return reply.type('application/json').send(JSON.stringify(out.body));
      },
    });
  };
  for (const r of routes.filter((x) => x.upload === undefined)) addRoute(app, r);
  // A file upload takes its body raw, in a scope of its own: every other route stays JSON only.
  for (const r of routes.filter((x) => x.upload !== undefined)) {
    await app.register(async (scope) => {
      scope.addContentTypeParser(['application/octet-stream', 'multipart/form-data'], { parseAs: 'buffer', bodyLimit: r.upload!.limitBytes }, (_req, body, done) => done(null, body));
      addRoute(scope, r);
    });
  }

  // EMQX serves the status at the root too, for load balancers' health checks.
  const status = routes.find((r) => r.url === '/status');
  if (status) {
    app.get('/status', { config: { auth: 'none' }, schema: { hide: true, querystring: status.querystring } }, async (req, reply) => {
      const out = await status.handler({ params: {}, query: req.query as Record<string, unknown>, body: undefined, headers: req.headers, ip: req.ip, principal: undefined });
      if (out.headers) void reply.headers(out.headers);
      if (out.type) return reply.type(out.type).send(out.body as string);
      return reply.type('application/json').send(JSON.stringify(out.body));
    });
  }

  const docs = async (_req: FastifyRequest, reply: FastifyReply): Promise<unknown> => reply.type('application/json').send(JSON.stringify(app.swagger()));
  app.get('/api-docs', { config: { auth: 'none' }, schema: { hide: true } }, docs);
  app.get('/api-docs/swagger.json', { config: { auth: 'none' }, schema: { hide: true } }, docs);

  const sendFile = (path: string) => async (_req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const f = files.get(path);
    if (!f) return reply.code(404).type('text/html').send(NOT_FOUND_HTML);
    return reply.type(f.type).header('cache-control', path === '/index.html' ? 'no-cache' : 'max-age=300').header('x-content-type-options', 'nosniff').send(f.body);
  };
  const page = { config: { auth: 'none' as const }, schema: { hide: true } };
  app.get('/', page, sendFile('/index.html'));
  app.get('/index.html', page, sendFile('/index.html'));
  app.get('/static/*', page, async (req, reply) => {
    const rest = (req.params as { '*': string })['*'];
    return sendFile(`/static/${rest}`)(req, reply);
  });

  await app.ready();
  return {
    app,
    handle: (req, res) => app.routing(req, res),
    close: () => app.close(),
  };
}

function principalName(p: Principal | undefined): string | undefined {
  if (!p) return undefined;
  return p.kind === 'token' ? p.username : `api_key:${p.apiKey}`;
}
