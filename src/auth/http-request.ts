// The request an authenticator or an authorization source sends to its HTTP service (EMQX's
// emqx_authn_http and emqx_authz_http share this shape): URL, headers and body templates whose
// `${name}` placeholders are filled in for each request, the fields in the query (GET) or the body
// (POST, JSON or a form as the content-type header says); and how the answer's fields are read.
import type { HttpServiceConfig } from '../config/types.js';
import { fillTemplate, type Vars } from './placeholders.js';

export type { HttpServiceConfig } from '../config/types.js';

export interface HttpRequest {
  readonly url: URL;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
}

/** The request for one client, placeholders filled in. */
export function buildRequest(cfg: HttpServiceConfig, vars: Vars): HttpRequest {
  const url = new URL(fillTemplate(cfg.url, vars, encodeURIComponent));
  const method = cfg.method.toUpperCase();
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(cfg.headers)) headers[k.toLowerCase()] = fillTemplate(v, vars);
  const fields = Object.entries(cfg.body).map(([k, v]) => [k, fillTemplate(v, vars)] as [string, string]);
  if (cfg.method === 'get') {
    for (const [k, v] of fields) url.searchParams.append(k, v);
    return { url, method, headers, body: undefined };
  }
  const form = (headers['content-type'] ?? 'application/json').startsWith('application/x-www-form-urlencoded');
  if (!headers['content-type']) headers['content-type'] = 'application/json';
  const body = form ? new URLSearchParams(fields).toString() : JSON.stringify(Object.fromEntries(fields));
  return { url, method, headers, body };
}

/** The fields of a 200 answer (JSON, or a form when its content type says so); a reason when it has none. */
export function answerFields(contentType: string | undefined, body: string): Record<string, unknown> | string {
  let fields: unknown;
  try {
    fields = (contentType ?? '').startsWith('application/x-www-form-urlencoded') ? Object.fromEntries(new URLSearchParams(body)) : JSON.parse(body);
  } catch {
    return 'the answer is not JSON';
  }
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) return 'the answer is not an object';
  return fields as Record<string, unknown>;
}
