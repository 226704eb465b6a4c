// Errors as EMQX's API returns them: an HTTP status and `{"code": "...", "message": "..."}`,
// with the codes of EMQX's http_api.hrl. A handler throws ApiError; the server's error handler
// turns it (and fastify's own validation, body and content-type errors) into that body, so no
// request ever ends in a bare 500.

export type ApiErrorCode =
  | 'BAD_REQUEST'
  | 'BAD_USERNAME_OR_PWD'
  | 'BAD_API_KEY_OR_SECRET'
  | 'API_KEY_NOT_ALLOW'
  | 'AUTHORIZATION_HEADER_ERROR'
  | 'BAD_TOKEN'
  | 'TOKEN_TIME_OUT'
  | 'WRONG_TOKEN_OR_USERNAME'
  | 'USER_NOT_FOUND'
  | 'NOT_ALLOWED'
  | 'ERROR_PWD_NOT_MATCH'
  | 'NOT_FOUND'
  | 'CLIENTID_NOT_FOUND'
  | 'TOPIC_NOT_FOUND'
  | 'MESSAGE_ID_NOT_FOUND'
  | 'MESSAGE_ID_SCHEMA_ERROR'
  | 'MESSAGE_NOT_FOUND'
  | 'INVALID_NODE'
  | 'ALREADY_EXISTS'
  | 'BAD_LISTENER_ID'
  | 'BAD_TOPIC'
  | 'ALREADY_EXISTED'
  | 'DUPLICATE_CONDITION'
  | 'NODE_ERROR'
  | 'INVALID_TOPIC_NAME'
  | 'INVALID_PARAMETER'
  | 'PARAM_ERROR'
  | 'CONFLICT'
  | 'EXCEED_LIMIT'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'METHOD_NOT_ALLOWED'
  | 'TOO_MANY_REQUESTS'
  | 'NODE_DOWN'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_ERROR';

export interface ErrorBody {
  readonly code: ApiErrorCode;
  readonly message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    /** Extra response headers (WWW-Authenticate, Retry-After). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): ErrorBody {
    return { code: this.code, message: this.message };
  }
}

export const badRequest = (message: string): ApiError => new ApiError(400, 'BAD_REQUEST', message);
export const notFound = (message: string, code: ApiErrorCode = 'NOT_FOUND'): ApiError => new ApiError(404, code, message);

/** EMQX's emqx_utils_api: `Node not found: <name>`. */
export const nodeNotFound = (node: string): ApiError => notFound(`Node not found: ${node}`);

/** EMQX's reply when the Authorization header is missing or of another scheme. */
export function unauthorizedHeader(): ApiError {
  return new ApiError(401, 'AUTHORIZATION_HEADER_ERROR', 'Support authorization: basic/bearer ', { 'www-authenticate': 'Basic Realm="emqx-dashboard"' });
}

/** The OpenAPI shape of every error body, for route schemas. */
export const ERROR_SCHEMA = {
  type: 'object',
  properties: { code: { type: 'string' }, message: { type: 'string' } },
  required: ['code', 'message'],
} as const;
