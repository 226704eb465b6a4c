// The users of the built_in_database authenticator (EMQX's emqx_authn_mnesia), in a replicated
// table: a user added on one node can connect to every node. A user is stored with its password
// hash and salt as EMQX stores them, so EMQX's exported files import as they are.
import type { Db } from '../../db/db.js';
import type { PasswordHashAlgorithm } from '../../config/types.js';
import { hashPassword, type StoredPassword } from './password-hash.js';

export const AUTHN_USERS_TABLE = 'authn_users';

export interface AuthnUser extends StoredPassword {
  readonly user_id: string;
  readonly is_superuser: boolean;
}

export class UserError extends Error {
  constructor(
    readonly kind: 'bad_request' | 'not_found' | 'already_exist',
    message: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** EMQX's limit on a user id is the topic-string one; ours is what a CONNECT can carry. */
export const MAX_USER_ID_BYTES = 65535;

function isUser(v: unknown): v is AuthnUser {
  const u = v as Partial<AuthnUser> | undefined;
  return !!u && typeof u.user_id === 'string' && typeof u.password_hash === 'string' && typeof u.salt === 'string';
}

export function checkUserId(id: unknown): string {
  if (typeof id !== 'string' || id === '') throw new UserError('bad_request', 'user_id: must be a non-empty string');
  if (Buffer.byteLength(id) > MAX_USER_ID_BYTES) throw new UserError('bad_request', `user_id: longer than ${MAX_USER_ID_BYTES} bytes`);
  return id;
}

export class Users {
  constructor(private readonly db: () => Db | undefined) {}

  #db(): Db {
    const d = this.db();
    if (!d) throw new UserError('bad_request', 'the database is not open yet');
    return d;
  }

  get(userId: string): AuthnUser | undefined {
    const v = this.db()?.get(AUTHN_USERS_TABLE, userId);
    return isUser(v) ? v : undefined;
  }

  list(): AuthnUser[] {
    return (this.db()?.list(AUTHN_USERS_TABLE) ?? []).map(([, v]) => v).filter(isUser);
  }

  async add(algo: PasswordHashAlgorithm, userId: string, password: string, isSuperuser = false): Promise<AuthnUser> {
    checkUserId(userId);
    if (typeof password !== 'string') throw new UserError('bad_request', 'password: must be a string');
    if (this.get(userId)) throw new UserError('already_exist', `User ${userId} already exists`);
    const user: AuthnUser = { user_id: userId, ...(await hashPassword(algo, password)), is_superuser: isSuperuser };
    await this.#db().write(AUTHN_USERS_TABLE, userId, user);
    return user;
  }

  async update(algo: PasswordHashAlgorithm, userId: string, change: { password?: string; is_superuser?: boolean }): Promise<AuthnUser> {
    const cur = this.get(userId);
    if (!cur) throw new UserError('not_found', 'User not found');
    const next: AuthnUser = {
      ...cur,
      ...(change.password !== undefined ? await hashPassword(algo, change.password) : {}),
      ...(change.is_superuser !== undefined ? { is_superuser: change.is_superuser } : {}),
    };
    await this.#db().write(AUTHN_USERS_TABLE, userId, next);
    return next;
  }

  async del(userId: string): Promise<void> {
    if (!this.get(userId)) throw new UserError('not_found', 'User not found');
    await this.#db().write(AUTHN_USERS_TABLE, userId, undefined);
  }

  /**
   * Bulk import (EMQX's import_users): users already present are replaced (`override`) or left
   * (`skipped`, for bootstrap files), all in one replicated write.
   */
  async import(users: readonly AuthnUser[], override: boolean): Promise<{ total: number; success: number; override: number; skipped: number; failed: number }> {
    const res = { total: users.length, success: 0, override: 0, skipped: 0, failed: 0 };
    const rows: Array<{ table: string; key: string; value: unknown }> = [];
    const seen = new Set<string>();
    for (const u of users) {
      const exists = this.get(u.user_id) !== undefined || seen.has(u.user_id);
      if (exists && !override) {
        res.skipped++;
        continue;
      }
      if (exists) res.override++;
      else res.success++;
      seen.add(u.user_id);
      rows.push({ table: AUTHN_USERS_TABLE, key: u.user_id, value: u });
    }
    if (rows.length > 0) await this.#db().writeMany(rows);
    return res;
  }
}
