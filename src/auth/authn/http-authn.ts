// EMQX's HTTP authenticator (emqx_authn_http): the client's credentials go to an HTTP service
// (auth/http-request.ts builds the request); the answer decides:
//   204                                   allowed
//   200 {"result": "allow"|"deny"|"ignore", "is_superuser": bool, "acl": [...], "expire_at": s}
//                                         as it says (JSON or a form); `acl` (EMQX 5.8) gives the
//                                         client its own rules, `expire_at` (Unix seconds) ends
//                                         the connection then
//   any other status, no answer in request_timeout, an unreadable body: ignored (the next
//   authenticator of the chain decides), as in EMQX.
import type { HttpAuthenticatorConfig } from '../../config/types.js';
import { RC } from '../../mqtt/reason-codes.js';
import { aclOf } from '../authz/client-acl.js';
import { HttpClient } from '../http-client.js';
import { answerFields, buildRequest } from '../http-request.js';
import { credentialVars, type Credentials, type Decision } from './decision.js';

/** An answer larger than this is not read (an authentication answer is a few bytes, its acl a few KiB). */
const MAX_ANSWER_BYTES = 256 * 1024;

/** What an answer says (pure): EMQX's rules above. */
export function decide(status: number, contentType: string | undefined, body: string): Decision {
  if (status === 204) return { kind: 'allow', superuser: false };
  if (status !== 200) return { kind: 'ignore', why: `the service answered ${status}` };
  const fields = answerFields(contentType, body);
  if (typeof fields === 'string') return { kind: 'ignore', why: fields };
  const result = fields.result ?? 'ignore';
  const superuser = fields.is_superuser === true || fields.is_superuser === 'true';
  if (result === 'deny') return { kind: 'deny', rc: RC.notAuthorized, reason: 'the HTTP service denied it' };
  if (result !== 'allow') return { kind: 'ignore', why: `the service said ${JSON.stringify(result)}` };
  const acl = aclOf(fields.acl);
  // A malformed answer decides nothing, as EMQX treats it.
  if (acl === 'bad') return { kind: 'ignore', why: 'the answer\'s acl is not a list of rules' };
  const exp = fields.expire_at;
  if (exp !== undefined && !(typeof exp === 'number' && Number.isFinite(exp) && exp > 0)) return { kind: 'ignore', why: 'the answer\'s expire_at is not a Unix time in seconds' };
  const expiresAt = exp === undefined ? undefined : exp * 1000;
  if (expiresAt !== undefined && expiresAt <= Date.now()) return { kind: 'deny', rc: RC.notAuthorized, reason: 'the HTTP service answered an expire_at in the past' };
  return { kind: 'allow', superuser, ...(acl ? { acl: { rules: acl } } : {}), ...(expiresAt !== undefined ? { expiresAt } : {}) };
}

export class HttpAuthenticator {
  readonly #client: HttpClient;

  constructor(readonly cfg: HttpAuthenticatorConfig) {
    // The CA file is read once, when the chain is configured (a reload reads it again).
    this.#client = new HttpClient(cfg.ssl, MAX_ANSWER_BYTES, cfg.pool_size);
  }

  /** A reload replaced it: its pooled connections close once the checks under way are done. */
  close(): void {
    this.#client.close(this.cfg.request_timeout);
  }

  async authenticate(c: Credentials): Promise<Decision> {
    const { url, method, headers, body } = buildRequest(this.cfg, credentialVars(c));
    try {
      const a = await this.#client.request(url, method, headers, body, this.cfg.request_timeout);
      return decide(a.status, a.contentType, a.body);
    } catch (err) {
      return { kind: 'ignore', why: `the request failed: ${(err as Error).message}` };
    }
  }
}
