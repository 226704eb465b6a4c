// EMQX's Redis authenticator (emqx_authn_redis): `HMGET mqtt_user:${username} password_hash salt
// is_superuser` (or HGET of one field), the key's placeholders filled in from the client; the
// values found are checked as EMQX does: the password against `password_hash` (or `password`)
// and `salt` with the configured algorithm, `is_superuser` read as a boolean. A key with none of
// the fields is a user this authenticator does not know (ignored: the next one decides); a wrong
// password is refused (0x86); Redis down or in error: ignored, as EMQX's default.
import type { RedisAuthenticatorConfig } from '../../config/types.js';
import { RC } from '../../mqtt/reason-codes.js';
import { fillTemplate } from '../placeholders.js';
import { openRedis, type RedisConn } from '../redis/client.js';
import { credentialVars, type Credentials, type Decision } from './decision.js';
import { checkPassword } from './password-hash.js';
import { storedPassword, truthy } from '../rows.js';

/** The fields found, by name (pure): the values that are not nil, in the order of `fields`. */
export function selected(fields: readonly string[], reply: unknown): Map<string, string> {
  const values = Array.isArray(reply) ? reply : [reply];
  const out = new Map<string, string>();
  fields.forEach((f, i) => {
    const v: unknown = values[i];
    if (typeof v === 'string') out.set(f, v);
    else if (Buffer.isBuffer(v)) out.set(f, v.toString('utf8'));
  });
  return out;
}

export class RedisAuthenticator {
  readonly #conn: RedisConn;

  constructor(readonly cfg: RedisAuthenticatorConfig) {
    this.#conn = openRedis(cfg);
  }

  close(): void {
    this.#conn.close();
  }

  async authenticate(c: Credentials): Promise<Decision> {
    if (c.password === undefined) return { kind: 'ignore', why: 'no password' };
    const [name, key, ...fields] = this.cfg.cmd as [string, string, ...string[]];
    let reply: unknown;
    try {
      reply = await this.#conn.call([name, fillTemplate(key, credentialVars(c)), ...fields]);
    } catch (err) {
      return { kind: 'ignore', why: `the query failed: ${(err as Error).message}` };
    }
    const found = Object.fromEntries(selected(fields, reply));
    const stored = storedPassword(found);
    if (!stored) return { kind: 'ignore', why: 'no such user' };
    if (!(await checkPassword(this.cfg.password_hash_algorithm, stored, c.password))) return { kind: 'deny', rc: RC.badUsernameOrPassword, reason: 'wrong password' };
    return { kind: 'allow', superuser: truthy(found.is_superuser) };
  }
}
