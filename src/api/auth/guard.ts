// Who is calling: a bearer token from POST /login, or an API key as HTTP Basic `key:secret`,
// with EMQX's 401 bodies (emqx_dashboard:authorize). Credentials travel only in the
// Authorization header, never in a cookie, so another site's page cannot make a browser call the
// API on a user's behalf. Failed API key secrets count towards the source address's limit.
import type { Admins } from '../../db/admins.js';
import { ApiError, unauthorizedHeader } from '../errors.js';
import type { ApiKeys } from './api-keys.js';
import type { AuthStore } from './auth-store.js';
import type { FailureLimiter } from './rate-limit.js';
import { fingerprint, verifyToken, type TokenClaims } from './token.js';

export type Principal = { readonly kind: 'token'; readonly username: string; readonly claims: TokenClaims } | { readonly kind: 'api_key'; readonly apiKey: string };

/** `any`: token or API key; `token`: a logged-in user only (EMQX keeps API keys off these paths). */
export type AuthRule = 'none' | 'any' | 'token';

export interface GuardDeps {
  readonly admins: () => Admins | undefined;
  readonly apiKeys: () => ApiKeys | undefined;
  readonly store: () => AuthStore | undefined;
  readonly failures: FailureLimiter;
  readonly now: () => number;
}

export function tooManyFailures(source: string, waitMs: number): ApiError {
  const s = Math.max(1, Math.ceil(waitMs / 1000));
  return new ApiError(429, 'TOO_MANY_REQUESTS', `Too many failed authentication attempts from ${source}; retry in ${s} s`, { 'retry-after': String(s) });
}

/** A username locked by dashboard.unsuccessful_login_*: refused as a failed login is, saying for how long. */
export function loginLocked(waitMs: number): ApiError {
  const s = Math.max(1, Math.ceil(waitMs / 1000));
  return new ApiError(401, 'BAD_USERNAME_OR_PWD', `Login locked after too many failed attempts; try again in ${s} s`, { 'retry-after': String(s) });
}

export async function authenticate(header: string | undefined, rule: AuthRule, source: string, path: string, d: GuardDeps): Promise<Principal> {
  const m = header === undefined ? null : /^(basic|bearer)\s+(\S+)\s*$/i.exec(header);
  if (!m) throw unauthorizedHeader();
  const scheme = m[1]!.toLowerCase();
  const cred = m[2]!;
  if (scheme === 'bearer') {
    const key = d.store()?.signingKey();
    const r = key ? verifyToken(key, cred, d.now()) : ({ ok: false, reason: 'bad_signature' } as const);
    if (!r.ok) {
      if (r.reason === 'expired') throw new ApiError(401, 'TOKEN_TIME_OUT', 'Token expired, get new token by POST /login');
      throw new ApiError(401, 'BAD_TOKEN', 'Get a token by POST /login');
    }
    const admin = d.admins()?.get(r.claims.u);
    // A logout, a changed password or a removed user ends the token.
    if (!admin || fingerprint(admin.pwdHash) !== r.claims.f || d.store()?.isRevoked(r.claims.jti)) {
      throw new ApiError(401, 'BAD_TOKEN', 'Get a token by POST /login');
    }
    return { kind: 'token', username: r.claims.u, claims: r.claims };
  }
  const decoded = Buffer.from(cred, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw new ApiError(401, 'BAD_API_KEY_OR_SECRET', 'Check api_key/api_secret', { 'www-authenticate': 'Basic Realm="emqx-dashboard"' });
  if (rule === 'token') {
    const resource = path.includes('/api_key') ? 'api_key' : path.includes('/logout') ? 'logout' : 'users';
    throw new ApiError(401, 'API_KEY_NOT_ALLOW', `Please use bearer Token instead, using API key/secret in ${resource} path is not permitted`, {
      'www-authenticate': 'Basic Realm="emqx-dashboard"',
    });
  }
  const wait = d.failures.blockedFor(source, d.now());
  if (wait > 0) throw tooManyFailures(source, wait);
  const keys = d.apiKeys();
  const outcome = keys ? await keys.check(decoded.slice(0, colon), decoded.slice(colon + 1), d.now()) : 'not_found';
  if (outcome !== 'ok') {
    if (outcome === 'not_found' || outcome === 'secret_error') d.failures.fail(source, d.now());
    throw new ApiError(401, 'BAD_API_KEY_OR_SECRET', 'Check api_key/api_secret', { 'www-authenticate': 'Basic Realm="emqx-dashboard"' });
  }
  d.failures.succeed(source);
  return { kind: 'api_key', apiKey: decoded.slice(0, colon) };
}
