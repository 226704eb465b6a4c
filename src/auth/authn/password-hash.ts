// EMQX's password hashing for built_in_database users (emqx_authn_password_hashing and
// emqx_passwd): pbkdf2 (hex of PBKDF2-HMAC, the salt used as the text it is stored as), bcrypt
// (the `$2b$…` string, which holds its own salt), and plain/md5/sha/sha256/sha512 over the salt
// and the password joined as salt_position says, in hex. Hashes are compared in constant time.
// pbkdf2 runs on libuv's thread pool and bcrypt hands the event loop back while it works, so a
// client checked at EMQX's cost never holds up the others.
import { createHash, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import type { PasswordHashAlgorithm } from '../../config/types.js';
import { bcryptHash, bcryptSalt, parseBcryptSalt } from './bcrypt.js';

export interface StoredPassword {
  /** Hex for pbkdf2 and the simple hashes; the whole `$2b$…` string for bcrypt. */
  readonly password_hash: string;
  /** The salt as EMQX stores it: 32 hex characters, '' for none (bcrypt: the hash itself). */
  readonly salt: string;
}

const DK_LENGTH: Readonly<Record<string, number>> = { sha: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64 };
const NODE_DIGEST: Readonly<Record<string, string>> = { sha: 'sha1', sha224: 'sha224', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512', md5: 'md5' };

function pbkdf2Hex(password: Buffer, salt: string, iterations: number, macFun: string, dkLength: number | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    pbkdf2(password, Buffer.from(salt, 'utf8'), iterations, dkLength ?? DK_LENGTH[macFun] ?? 32, NODE_DIGEST[macFun] ?? macFun, (err, key) => (err ? reject(err) : resolve(key.toString('hex'))));
  });
}

function simpleHex(name: string, data: Buffer): string {
  if (name === 'plain') return data.toString('utf8');
  return createHash(NODE_DIGEST[name] ?? name).update(data).digest('hex');
}

function joinSalt(algo: Extract<PasswordHashAlgorithm, { salt_position: string }>, salt: string, password: Buffer): Buffer {
  if (algo.salt_position === 'disable' || salt === '') return password;
  const s = Buffer.from(salt, 'utf8');
  return algo.salt_position === 'prefix' ? Buffer.concat([s, password]) : Buffer.concat([password, s]);
}

/** EMQX's gen_salt: 16 random bytes as 32 lowercase hex characters. */
export function newSalt(): string {
  return randomBytes(16).toString('hex');
}

/** Hashes a new password the way `algo` stores it. */
export async function hashPassword(algo: PasswordHashAlgorithm, password: string | Buffer): Promise<StoredPassword> {
  const pw = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  switch (algo.name) {
    case 'pbkdf2': {
      const salt = newSalt();
      return { password_hash: await pbkdf2Hex(pw, salt, algo.iterations, algo.mac_fun, algo.dk_length), salt };
    }
    case 'bcrypt': {
      const hash = await bcryptHash(pw, bcryptSalt(algo.salt_rounds, randomBytes(16)));
      return { password_hash: hash, salt: hash };
    }
    default: {
      const salt = algo.salt_position === 'disable' || algo.name === 'plain' ? '' : newSalt();
      return { password_hash: simpleHex(algo.name, joinSalt(algo, salt, pw)), salt };
    }
  }
}

/** Equal in constant time (hex compared without regard to case, as EMQX does). */
export function sameHash(a: string, b: string, caseless: boolean): boolean {
  const x = Buffer.from(caseless ? a.toLowerCase() : a, 'utf8');
  const y = Buffer.from(caseless ? b.toLowerCase() : b, 'utf8');
  // Compare equal lengths always, so the time does not tell how long the stored hash is.
  if (x.length !== y.length) {
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

/** Whether `password` matches what is stored, under `algo`. */
export async function checkPassword(algo: PasswordHashAlgorithm, stored: StoredPassword, password: Buffer | undefined): Promise<boolean> {
  if (password === undefined) return false;
  switch (algo.name) {
    case 'pbkdf2':
      return sameHash(await pbkdf2Hex(password, stored.salt, algo.iterations, algo.mac_fun, algo.dk_length), stored.password_hash, true);
    case 'bcrypt': {
      if (parseBcryptSalt(stored.password_hash) === undefined) return false;
      return sameHash(await bcryptHash(password, stored.password_hash), stored.password_hash, false);
    }
    default:
      return sameHash(simpleHex(algo.name, joinSalt(algo, stored.salt, password)), stored.password_hash, algo.name !== 'plain');
  }
}

/**
 * A stored password no password matches, costing what a real one does: checked for a user that
 * does not exist, so the time of a refusal does not tell whether the user exists.
 */
export function decoyFor(algo: PasswordHashAlgorithm): StoredPassword {
  switch (algo.name) {
    case 'pbkdf2':
      return { password_hash: '00'.repeat(algo.dk_length ?? DK_LENGTH[algo.mac_fun] ?? 32), salt: newSalt() };
    case 'bcrypt': {
      const salt = bcryptSalt(algo.salt_rounds, randomBytes(16));
      return { password_hash: `${salt}${'.'.repeat(31)}`, salt: '' };
    }
    default:
      return { password_hash: '', salt: newSalt() };
  }
}
