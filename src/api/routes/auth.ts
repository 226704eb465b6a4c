// POST /login and /logout (EMQX's emqx_dashboard_api), against the replicated admins table.
// Failed logins count towards the source address's limit; a login with the shipped default
// password succeeds, as in EMQX 5.8, and says in its answer that the password must be changed.
import { verifyPassword } from '../../db/password.js';
import type { ApiContext } from '../context.js';
import { ApiError, ERROR_SCHEMA } from '../errors.js';
import { loginLocked, tooManyFailures } from '../auth/guard.js';
import { signToken } from '../auth/token.js';
import { noContent, ok, S, type RouteDef } from './route.js';

export const DEFAULT_PASSWORD = 'public';

export function defaultPasswordWarning(username: string): string {
  return `The dashboard user '${username}' still has the default password. Change it: emqx ctl admins passwd ${username} <a-strong-password>`;
}

export function authRoutes(ctx: ApiContext): RouteDef[] {
  return [
    {
      method: 'POST',
      url: '/login',
      auth: 'none',
      tags: ['dashboard'],
      summary: 'Dashboard authentication: a bearer token for the other calls',
      body: S.obj({ username: { type: 'string', maxLength: 100 }, password: { type: 'string', maxLength: 100 } }, ['username', 'password']),
      response: {
        200: S.obj({ token: S.str(), version: S.str(), role: S.str(), license: S.any(), default_password_in_use: S.bool(), warning: S.str() }, [], true),
        401: ERROR_SCHEMA,
        429: ERROR_SCHEMA,
      },
      async handler(req) {
        const { username, password } = req.body as { username: string; password: string };
        const now = ctx.now();
        const wait = ctx.failures.blockedFor(req.ip, now);
        if (wait > 0) throw tooManyFailures(req.ip, wait);
        const locked = ctx.logins.lockedFor(username, now);
        if (locked > 0) {
          // Still a failed attempt from this address, for the per-address limit.
          ctx.failures.fail(req.ip, now);
          throw loginLocked(locked);
        }
        const admin = ctx.admins()?.get(username);
        const key = ctx.store()?.signingKey();
        const good = admin !== undefined && (await verifyPassword(password, admin.pwdHash));
        const cfg = ctx.config().dashboard;
        if (!good || !key) {
          ctx.failures.fail(req.ip, now);
          const lock = { maxAttempts: cfg.unsuccessful_login_max_attempts, intervalMs: cfg.unsuccessful_login_interval, lockMs: cfg.unsuccessful_login_lock_duration };
          if (ctx.logins.fail(username, now, lock)) {
            ctx.log.warn({ username, source: req.ip, lock_ms: lock.lockMs }, `dashboard login of ${username} locked: ${lock.maxAttempts} failed attempts`);
          } else {
            ctx.log.info({ username, source: req.ip }, 'dashboard login failed');
          }
          throw new ApiError(401, 'BAD_USERNAME_OR_PWD', 'Auth failed');
        }
        ctx.failures.succeed(req.ip);
        ctx.logins.succeed(username);
        const { token } = signToken(key, username, admin.pwdHash, now, ctx.config().dashboard.token_expired_time);
        ctx.log.info({ username, source: req.ip }, 'dashboard login');
        const isDefault = password === DEFAULT_PASSWORD || (username === cfg.default_username && password === cfg.default_password);
        return ok({
          token,
          version: ctx.version,
          role: 'administrator',
          license: { edition: 'opensource' },
          ...(isDefault ? { default_password_in_use: true, warning: defaultPasswordWarning(username) } : {}),
        });
      },
    },
    {
      method: 'POST',
      url: '/logout',
      auth: 'token',
      tags: ['dashboard'],
      summary: 'Ends the bearer token the call carries',
      body: S.obj({ username: { type: 'string', maxLength: 100 } }, ['username']),
      response: { 204: { description: 'Dashboard logout successfully' }, 401: ERROR_SCHEMA },
      async handler(req) {
        const p = req.principal;
        const { username } = req.body as { username: string };
        if (p?.kind !== 'token' || p.username !== username) throw new ApiError(401, 'WRONG_TOKEN_OR_USERNAME', 'Ensure your token & username');
        await ctx.store()?.revoke(p.claims.jti, p.claims.exp);
        return noContent();
      },
    },
  ];
}
