// The administrators table (EMQX's dashboard users), replicated cluster-wide. Validation and
// error wording follow EMQX 5.8's emqx_dashboard_admin; passwords never leave this module in
// clear and are never logged.
import type { Db } from './db.js';
import { hashPassword, verifyPassword } from './password.js';

export const ADMINS_TABLE = 'admins';

export interface Admin {
  readonly username: string;
  readonly pwdHash: string;
  readonly description: string;
  readonly role: 'administrator';
  readonly createdAt: number;
}

export class AdminError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'AdminError';
  }
}

const USERNAME_RE = /^[_a-zA-Z0-9]+$/;

export function checkUsername(u: string): void {
  if (!USERNAME_RE.test(u) || u.length > 100) {
    throw new AdminError('Bad Username. Only upper and lower case letters, numbers and underscores are supported');
  }
}

export function checkPassword(p: string): void {
  if (p.length < 8 || p.length > 64) throw new AdminError('The range of password length is 8~64');
  const kinds = [/[A-Za-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(p)).length;
  if (kinds < 2) {
    throw new AdminError(
      'The password must contain at least two different kind of characters from groups of letters, numbers, and special characters. For example, if password is composed from letters, it must contain at least one number or a special character.',
    );
  }
}

function isAdmin(v: unknown): v is Admin {
  const a = v as Partial<Admin> | undefined;
  return !!a && typeof a.username === 'string' && typeof a.pwdHash === 'string';
}

export class Admins {
  constructor(private readonly db: Db) {}

  get(username: string): Admin | undefined {
    const v = this.db.get(ADMINS_TABLE, username);
    return isAdmin(v) ? v : undefined;
  }

  list(): Admin[] {
    return this.db.list(ADMINS_TABLE).map(([, v]) => v).filter(isAdmin);
  }

  async add(username: string, password: string, description = ''): Promise<void> {
    checkUsername(username);
    checkPassword(password);
    if (this.get(username)) throw new AdminError('username_already_exist');
    const admin: Admin = { username, pwdHash: await hashPassword(password), description, role: 'administrator', createdAt: Date.now() };
    await this.db.write(ADMINS_TABLE, username, admin);
  }

  async passwd(username: string, password: string): Promise<void> {
    const cur = this.get(username);
    if (!cur) throw new AdminError('username_not_found');
    checkPassword(password);
    await this.db.write(ADMINS_TABLE, username, { ...cur, pwdHash: await hashPassword(password) });
  }

  async describe(username: string, description: string): Promise<Admin> {
    const cur = this.get(username);
    if (!cur) throw new AdminError('username_not_found');
    const next = { ...cur, description };
    await this.db.write(ADMINS_TABLE, username, next);
    return next;
  }

  /** The password changed only when `oldPassword` is the current one (the dashboard's change_pwd). */
  async changePassword(username: string, oldPassword: string, newPassword: string): Promise<void> {
    const cur = this.get(username);
    if (!cur) throw new AdminError('username_not_found');
    if (!(await verifyPassword(oldPassword, cur.pwdHash))) throw new AdminError('password_error');
    checkPassword(newPassword);
    const pwdHash = await hashPassword(newPassword);
    // Read again after the slow hashes: a user removed meanwhile (on any node) stays removed.
    const now = this.get(username);
    if (!now) throw new AdminError('username_not_found');
    await this.db.write(ADMINS_TABLE, username, { ...now, pwdHash });
  }

  async del(username: string): Promise<void> {
    if (!this.get(username)) throw new AdminError('username_not_found');
    await this.db.write(ADMINS_TABLE, username, undefined);
  }

  async check(username: string, password: string): Promise<boolean> {
    const a = this.get(username);
    return a ? verifyPassword(password, a.pwdHash) : false;
  }
}
