// The users of the built_in_database authenticators (EMQX's emqx_authn_mnesia and
// emqx_authn_scram_mnesia), each kind in its replicated table: a user added on one node can
// connect to every node. A password_based user is stored with its password hash and salt as EMQX
// stores them, so EMQX's exported files import as they are; a SCRAM user with its stored and
// server keys, salt and iteration count.
import type { Db } from '../../db/db.js';
import type { StoredPassword } from './password-hash.js';
import type { ScramSecret } from './scram.js';

export const AUTHN_USERS_TABLE = 'authn_users';
export const SCRAM_USERS_TABLE = 'authn_scram_users';

/** What every kind of user has. */
export interface StoredUser {
  readonly user_id: string;
  readonly is_superuser: boolean;
}

export interface AuthnUser extends StoredPassword, StoredUser {}
export interface ScramUser extends ScramSecret, StoredUser {}

/** Where a kind of user is kept, and how a row is recognised. */
export interface UserKind<T extends StoredUser> {
  readonly table: string;
  valid(v: unknown): v is T;
}

export const PASSWORD_USERS: UserKind<AuthnUser> = {
  table: AUTHN_USERS_TABLE,
  valid(v): v is AuthnUser {
    const u = v as Partial<AuthnUser> | undefined;
    return !!u && typeof u.user_id === 'string' && typeof u.password_hash === 'string' && typeof u.salt === 'string';
  },
};

export const SCRAM_USERS: UserKind<ScramUser> = {
  table: SCRAM_USERS_TABLE,
  valid(v): v is ScramUser {
    const u = v as Partial<ScramUser> | undefined;
    return !!u && typeof u.user_id === 'string' && typeof u.stored_key === 'string' && typeof u.server_key === 'string' && typeof u.salt === 'string' && typeof u.iteration_count === 'number';
  },
};

/** What a password becomes in the table (throws UserError when the authenticator is gone). */
export type SecretOf<T extends StoredUser> = (password: string) => Promise<Omit<T, keyof StoredUser>>;

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

export function checkUserId(id: unknown): string {
  if (typeof id !== 'string' || id === '') throw new UserError('bad_request', 'user_id: must be a non-empty string');
  if (Buffer.byteLength(id) > MAX_USER_ID_BYTES) throw new UserError('bad_request', `user_id: longer than ${MAX_USER_ID_BYTES} bytes`);
  return id;
}

export class Users<T extends StoredUser = AuthnUser> {
  constructor(
    private readonly db: () => Db | undefined,
    private readonly kind: UserKind<T>,
    /** Reads the authenticator's settings in force at each call. */
    private readonly secret: SecretOf<T>,
  ) {}

  #db(): Db {
    const d = this.db();
    if (!d) throw new UserError('bad_request', 'the database is not open yet');
    return d;
  }

  get(userId: string): T | undefined {
    const v = this.db()?.get(this.kind.table, userId);
    return this.kind.valid(v) ? v : undefined;
  }

  list(): T[] {
    return (this.db()?.list(this.kind.table) ?? []).map(([, v]) => v).filter((v) => this.kind.valid(v));
  }

  async add(userId: string, password: string, isSuperuser = false): Promise<T> {
    checkUserId(userId);
    if (typeof password !== 'string') throw new UserError('bad_request', 'password: must be a string');
    if (this.get(userId)) throw new UserError('already_exist', `User ${userId} already exists`);
    const user = { user_id: userId, ...(await this.secret(password)), is_superuser: isSuperuser } as T;
    await this.#db().write(this.kind.table, userId, user);
    return user;
  }

  async update(userId: string, change: { password?: string; is_superuser?: boolean }): Promise<T> {
    const cur = this.get(userId);
    if (!cur) throw new UserError('not_found', 'User not found');
    const next = {
      ...cur,
      ...(change.password !== undefined ? await this.secret(change.password) : {}),
      ...(change.is_superuser !== undefined ? { is_superuser: change.is_superuser } : {}),
    } as T;
    await this.#db().write(this.kind.table, userId, next);
    return next;
  }

  async del(userId: string): Promise<void> {
    if (!this.get(userId)) throw new UserError('not_found', 'User not found');
    await this.#db().write(this.kind.table, userId, undefined);
  }

  /**
   * Bulk import (EMQX's import_users): users already present are replaced (`override`) or left
   * (`skipped`, for bootstrap files), all in one replicated write.
   */
  async import(users: readonly T[], override: boolean): Promise<{ total: number; success: number; override: number; skipped: number; failed: number }> {
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
      rows.push({ table: this.kind.table, key: u.user_id, value: u });
    }
    if (rows.length > 0) await this.#db().writeMany(rows);
    return res;
  }
}
