// EMQX's HTTP authorization source (emqx_authz_http): a check the cache cannot answer becomes a
// request to an HTTP service, its placeholders filled in from the client and what it asks
// (`${action}`, `${topic}`, `${qos}`, `${retain}`, ...). The answer:
//   204                                          allow
//   200 {"result": "allow"|"deny"|"ignore"}      as it says (JSON, or a form)
//   any other status, no answer within request_timeout, an unreadable body: no match, the next
//   source decides, as in EMQX; `onIgnored` hears why (logged rate-limited by the auth service).
import type { HttpServiceConfig } from '../../config/types.js';
import { HttpClient } from '../http-client.js';
import { answerFields, buildRequest } from '../http-request.js';
import { clientVar, type Vars } from '../placeholders.js';
import type { AuthzRequest, Permission, RuleClient } from './rule.js';

/** An authorization answer is a few bytes. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** The placeholders of a request (the config allows those of AUTHZ_HTTP_VARS in config/schema/auth-fields.ts). */
export function authzVars(c: RuleClient, req: AuthzRequest, topic: string): Vars {
  return (name) => {
    switch (name) {
      case 'proto_name':
        return c.protoName;
      case 'mountpoint':
        return c.mountpoint;
      case 'action':
        return req.type;
      case 'access':
        // EMQX 4's numbers, which EMQX 5 still fills in: 1 subscribe, 2 publish.
        return req.type === 'subscribe' ? '1' : '2';
      case 'topic':
        return topic;
      case 'qos':
        return String(req.qos);
      case 'retain':
        return String(req.retain);
      default:
        return clientVar(c, name);
    }
  };
}

/** What an answer says (pure): a permission, or why it says nothing. */
export function readAnswer(status: number, contentType: string | undefined, body: string): Permission | { readonly ignored: string } {
  if (status === 204) return 'allow';
  if (status !== 200) return { ignored: `the service answered ${status}` };
  const fields = answerFields(contentType, body);
  if (typeof fields === 'string') return { ignored: fields };
  const result = fields.result;
  if (result === 'allow' || result === 'deny') return result;
  return { ignored: `the service said ${JSON.stringify(result ?? 'nothing')}` };
}

export class HttpAuthzSource {
  readonly type = 'http';
  readonly #client: HttpClient;
  /** A check the service did not decide, and why. */
  onIgnored: (why: string) => void = () => undefined;

  /** Reads the CA file now (throws when it cannot be read): a reload builds a new source. */
  constructor(readonly cfg: HttpServiceConfig) {
    this.#client = new HttpClient(cfg.ssl, MAX_ANSWER_BYTES, cfg.pool_size);
  }

  /** A reload replaced it: its pooled connections close once the checks under way are done. */
  close(): void {
    this.#client.close(this.cfg.request_timeout);
  }

  /** Never rejects: a failed request is no match. */
  async check(c: RuleClient, req: AuthzRequest, topic: string): Promise<Permission | undefined> {
    let answer: Permission | { readonly ignored: string };
    try {
      const { url, method, headers, body } = buildRequest(this.cfg, authzVars(c, req, topic));
      const a = await this.#client.request(url, method, headers, body, this.cfg.request_timeout);
      answer = readAnswer(a.status, a.contentType, a.body);
    } catch (err) {
      answer = { ignored: `the request failed: ${(err as Error).message}` };
    }
    if (typeof answer === 'string') return answer;
    this.onIgnored(answer.ignored);
    return undefined;
  }
}
