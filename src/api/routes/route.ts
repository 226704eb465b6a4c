// One API route as data: method, path under /api/v5, who may call it, the JSON schemas that
// validate its input (and document it in the OpenAPI at /api-docs), and a handler that returns
// a status and a body or throws ApiError. The server turns these into fastify routes.
import type { Principal, AuthRule } from '../auth/guard.js';

export interface ApiRequest {
  readonly params: Record<string, string>;
  readonly query: Record<string, unknown>;
  readonly body: unknown;
  readonly headers: Record<string, string | string[] | undefined>;
  /** The caller's address (the socket's peer). */
  readonly ip: string;
  readonly principal: Principal | undefined;
}

export interface ApiReply {
  readonly status?: number;
  /** Sent as JSON unless `type` says otherwise; none for 204. */
  readonly body?: unknown;
  readonly type?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface RouteDef {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Under /api/v5, fastify syntax (`/nodes/:node`). */
  readonly url: string;
  /** Default `any`. */
  readonly auth?: AuthRule;
  readonly tags: readonly string[];
  readonly summary: string;
  readonly params?: object;
  readonly querystring?: object;
  readonly body?: object;
  /** For the OpenAPI only: responses are sent as they are. */
  readonly response?: Readonly<Record<number, object>>;
  /** Refused with 409 while this node is joining a cluster (the data it would change is being replaced). */
  readonly notWhileJoining?: boolean;
  /**
   * The body is a file: `application/octet-stream`, or `multipart/form-data` (which a page of
   * another site can post: see the route), up to `limitBytes`; the handler gets it as a Buffer.
   */
  readonly upload?: { readonly limitBytes: number };
  handler(req: ApiRequest): Promise<ApiReply> | ApiReply;
}

export const ok = (body: unknown): ApiReply => ({ status: 200, body });
export const noContent = (): ApiReply => ({ status: 204 });
/** A file to download, under `filename`. */
export const attachment = (body: Buffer, filename: string): ApiReply => ({ status: 200, body, type: 'application/octet-stream', headers: { 'content-disposition': `attachment; filename="${filename}"` } });

/** JSON schema helpers: small, so route files read as EMQX's field lists. */
export const S = {
  str: (description?: string): object => ({ type: 'string', ...(description ? { description } : {}) }),
  int: (min?: number, max?: number, description?: string): object => ({
    type: 'integer',
    ...(min !== undefined ? { minimum: min } : {}),
    ...(max !== undefined ? { maximum: max } : {}),
    ...(description ? { description } : {}),
  }),
  bool: (description?: string): object => ({ type: 'boolean', ...(description ? { description } : {}) }),
  obj: (properties: Record<string, object>, required: readonly string[] = [], additional = false): object => ({
    type: 'object',
    properties,
    ...(required.length > 0 ? { required } : {}),
    additionalProperties: additional,
  }),
  arr: (items: object): object => ({ type: 'array', items }),
  any: (description?: string): object => ({ type: 'object', additionalProperties: true, ...(description ? { description } : {}) }),
};

export const NODE_PARAM = S.obj({ node: { type: 'string', minLength: 1, maxLength: 1024, description: 'Node name, e.g. emqx@127.0.0.1' } }, ['node']);

/** EMQX's page and limit (emqx_dashboard_swagger: limit 1..10000, default 100). */
export const PAGE_QUERY = {
  page: { type: 'integer', minimum: 1, default: 1, description: 'Page number of the results to fetch.' },
  limit: { type: 'integer', minimum: 1, maximum: 10000, default: 100, description: 'Results per page (max 10000)' },
};
