// /users (EMQX's emqx_dashboard_api): the dashboard's users, the replicated admins table that
// `emqx ctl admins` also manages. Logged-in users only (EMQX keeps API keys off these paths).
// Better than EMQX: a wrong old password in change_pwd counts as a failed login (it would
// otherwise be a way around the login limits), and the last user cannot be deleted.
import { AdminError, type Admin, type Admins } from '../../db/admins.js';
import { tooManyFailures, type Principal } from '../auth/guard.js';
import type { ApiContext } from '../context.js';
import { ApiError, ERROR_SCHEMA, badRequest } from '../errors.js';
import { noContent, ok, S, type RouteDef } from './route.js';

/** The only role of an open-source EMQX (its Enterprise edition adds `viewer`). */
const ROLE = 'administrator';

const USER = S.obj({ username: S.str(), description: S.str(), role: S.str(), backend: S.str() }, [], true);
const USERNAME_PARAM = S.obj({ username: { type: 'string', minLength: 1, maxLength: 100 } }, ['username']);

export const formatUser = (a: Admin): Record<string, string> => ({ username: a.username, description: a.description, role: a.role, backend: 'local' });

const notFound = (): ApiError => new ApiError(404, 'USER_NOT_FOUND', 'User not found');

function checkRole(role: string | undefined): void {
  if (role !== undefined && role !== ROLE) throw badRequest('Role does not exist');
}

/** AdminError → EMQX's answer; anything else goes on as it is. */
function mapError(err: unknown): never {
  if (err instanceof AdminError) throw err.reason === 'username_not_found' ? notFound() : badRequest(err.reason);
  throw err;
}

export function userRoutes(ctx: ApiContext): RouteDef[] {
  const admins = (): Admins => {
    const a = ctx.admins();
    if (!a) throw new ApiError(503, 'SERVICE_UNAVAILABLE', 'the database is not open yet');
    return a;
  };
  return [
    {
      method: 'GET',
      url: '/users',
      auth: 'token',
      tags: ['dashboard'],
      summary: 'List the dashboard users',
      response: { 200: S.arr(USER) },
      handler: () => ok(admins().list().map(formatUser)),
    },
    {
      method: 'POST',
      url: '/users',
      auth: 'token',
      notWhileJoining: true,
      tags: ['dashboard'],
      summary: 'Create a dashboard user',
      body: S.obj({ username: { type: 'string', maxLength: 100 }, password: { type: 'string', maxLength: 100 }, description: { type: 'string', maxLength: 1024 }, role: S.str() }, ['username', 'password']),
      response: { 200: USER, 400: ERROR_SCHEMA },
      async handler(req) {
        const b = req.body as { username: string; password: string; description?: string; role?: string };
        if (b.username === '' || b.password === '') throw badRequest('Username or password undefined');
        checkRole(b.role);
        try {
          await admins().add(b.username, b.password, b.description ?? '');
        } catch (err) {
          return mapError(err);
        }
        ctx.log.info({ username: b.username, by: who(req.principal) }, 'dashboard user created');
        return ok(formatUser(admins().get(b.username)!));
      },
    },
    {
      method: 'PUT',
      url: '/users/:username',
      auth: 'token',
      notWhileJoining: true,
      tags: ['dashboard'],
      summary: "Change a dashboard user's description",
      params: USERNAME_PARAM,
      body: S.obj({ description: { type: 'string', maxLength: 1024 }, role: S.str() }, ['description']),
      response: { 200: USER, 400: ERROR_SCHEMA, 404: ERROR_SCHEMA },
      async handler(req) {
        const b = req.body as { description: string; role?: string };
        checkRole(b.role);
        try {
          return ok(formatUser(await admins().describe(req.params.username!, b.description)));
        } catch (err) {
          return mapError(err);
        }
      },
    },
    {
      method: 'DELETE',
      url: '/users/:username',
      auth: 'token',
      notWhileJoining: true,
      tags: ['dashboard'],
      summary: 'Delete a dashboard user (not oneself, not the default administrator, not the last one)',
      params: USERNAME_PARAM,
      response: { 204: { description: 'Delete User successfully' }, 400: ERROR_SCHEMA, 404: ERROR_SCHEMA },
      async handler(req) {
        const username = req.params.username!;
        const a = admins();
        if (!a.get(username)) throw notFound();
        if (req.principal?.kind === 'token' && req.principal.username === username) throw new ApiError(400, 'NOT_ALLOWED', 'Cannot delete self');
        const defaultUser = ctx.config().dashboard.default_username;
        if (defaultUser !== '' && username === defaultUser) throw new ApiError(400, 'NOT_ALLOWED', 'The default administrator user cannot be deleted.');
        // Without a user nobody logs in to the dashboard again (only `emqx ctl admins add` would help).
        if (a.list().length <= 1) throw new ApiError(400, 'NOT_ALLOWED', 'The last dashboard user cannot be deleted.');
        try {
          await a.del(username);
        } catch (err) {
          return mapError(err);
        }
        ctx.log.info({ username, by: who(req.principal) }, 'dashboard user deleted');
        return noContent();
      },
    },
    {
      method: 'POST',
      url: '/users/:username/change_pwd',
      auth: 'token',
      notWhileJoining: true,
      tags: ['dashboard'],
      summary: "Change a dashboard user's password (its tokens end)",
      params: USERNAME_PARAM,
      body: S.obj({ old_pwd: { type: 'string', maxLength: 100 }, new_pwd: { type: 'string', maxLength: 100 } }, ['old_pwd', 'new_pwd']),
      response: { 204: { description: 'Update user password successfully' }, 400: ERROR_SCHEMA, 404: ERROR_SCHEMA, 429: ERROR_SCHEMA },
      async handler(req) {
        const username = req.params.username!;
        const b = req.body as { old_pwd: string; new_pwd: string };
        if (b.old_pwd === '' || b.new_pwd === '') throw badRequest('Old password or new password undefined');
        const now = ctx.now();
        // The old password is a password check like a login's: the same limit per source address.
        const wait = ctx.failures.blockedFor(req.ip, now);
        if (wait > 0) throw tooManyFailures(req.ip, wait);
        try {
          await admins().changePassword(username, b.old_pwd, b.new_pwd);
        } catch (err) {
          if (err instanceof AdminError && err.reason === 'password_error') {
            ctx.failures.fail(req.ip, now);
            ctx.log.info({ username, source: req.ip }, 'dashboard password change refused: wrong old password');
            throw new ApiError(400, 'ERROR_PWD_NOT_MATCH', 'Old password not match');
          }
          return mapError(err);
        }
        ctx.log.info({ username, by: who(req.principal) }, 'dashboard user password changed');
        return noContent();
      },
    },
  ];
}

/** Who made a change, for the log line (every route here takes a logged-in user only). */
const who = (p: Principal | undefined): string => (p?.kind === 'token' ? p.username : 'unknown');
