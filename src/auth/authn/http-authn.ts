// EMQX's HTTP authenticator (emqx_authn_http): the client's credentials go to an HTTP service, in
// the query (GET) or the body (POST, JSON or form as the content-type header says), placeholders
// filled in; the answer decides:
//   204                                   allowed
//   200 {"result": "allow"|"deny"|"ignore", "is_superuser": bool}   as it says (JSON or a form)
//   any other status, no answer in request_timeout, an unreadable body: ignored (the next
//   authenticator of the chain decides), as in EMQX.
import type { HttpAuthenticatorConfig } from '../../config/types.js';
import { RC } from '../../mqtt/reason-codes.js';
import { fillPlaceholders, type Credentials, type Decision } from './decision.js';
import { HttpClient } from './http-client.js';

/** An answer larger than this is not read (an authentication answer is a few bytes). */
const MAX_ANSWER_BYTES = 64 * 1024;

/** The request for one client: URL, headers and body, placeholders filled in. */
export function buildRequest(cfg: HttpAuthenticatorConfig, c: Credentials): { url: URL; headers: Record<string, string>; body: string | undefined } {
  const url = new URL(fillPlaceholders(cfg.url, c, encodeURIComponent));
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(cfg.headers)) headers[k.toLowerCase()] = fillPlaceholders(v, c);
  const fields = Object.entries(cfg.body).map(([k, v]) => [k, fillPlaceholders(v, c)] as const);
  if (cfg.method === 'get') {
    for (const [k, v] of fields) url.searchParams.append(k, v);
    return { url, headers, body: undefined };
  }
  const form = (headers['content-type'] ?? 'application/json').startsWith('application/x-www-form-urlencoded');
  if (!headers['content-type']) headers['content-type'] = 'application/json';
  const body = form ? new URLSearchParams(fields as Array<[string, string]>).toString() : JSON.stringify(Object.fromEntries(fields));
  return { url, headers, body };
}

/** What an answer says (pure): EMQX's rules above. */
export function decide(status: number, contentType: string | undefined, body: string): Decision {
  if (status === 204) return { kind: 'allow', superuser: false };
  if (status !== 200) return { kind: 'ignore', why: `the service answered ${status}` };
  let fields: Record<string, unknown>;
  try {
    fields = (contentType ?? '').startsWith('application/x-www-form-urlencoded') ? Object.fromEntries(new URLSearchParams(body)) : (JSON.parse(body) as Record<string, unknown>);
  } catch {
    return { kind: 'ignore', why: 'the answer is not JSON' };
  }
  if (fields === null || typeof fields !== 'object') return { kind: 'ignore', why: 'the answer is not an object' };
  const result = fields.result ?? 'ignore';
  const superuser = fields.is_superuser === true || fields.is_superuser === 'true';
  if (result === 'allow') return { kind: 'allow', superuser };
  if (result === 'deny') return { kind: 'deny', rc: RC.notAuthorized, reason: 'the HTTP service denied it' };
  return { kind: 'ignore', why: `the service said ${JSON.stringify(result)}` };
}

export class HttpAuthenticator {
  readonly #client: HttpClient;

  constructor(readonly cfg: HttpAuthenticatorConfig) {
    // The CA file is read once, when the chain is configured (a reload reads it again).
    this.#client = new HttpClient(cfg.ssl, MAX_ANSWER_BYTES);
  }

  async authenticate(c: Credentials): Promise<Decision> {
    const { url, headers, body } = buildRequest(this.cfg, c);
    try {
      const a = await this.#client.request(url, this.cfg.method.toUpperCase(), headers, body, this.cfg.request_timeout);
      return decide(a.status, a.contentType, a.body);
    } catch (err) {
      return { kind: 'ignore', why: `the request failed: ${(err as Error).message}` };
    }
  }
}
