// A password checked against an LDAP password attribute (pure), as EMQX's LDAP authenticator does:
// RFC 2307 `{SCHEME}base64` with SSHA (SHA-1 of password + salt, the salt after the 20-byte hash),
// SHA, SHA256, SHA384, SHA512 and MD5; a value that is itself base64 (as LDIF gives it) is decoded
// first. Compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';

const ALGORITHMS: Readonly<Record<string, string>> = { sha: 'sha1', ssha: 'sha1', md5: 'md5', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512' };

function same(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** true: it matches; false: it does not; a string: why the stored value cannot be read. */
export function checkLdapPassword(stored: string, password: Buffer, decoded = false): boolean | string {
  const m = /^\{([^{}]+)\}(.+)$/s.exec(stored);
  if (!m) {
    if (decoded) return 'not an RFC 2307 {SCHEME} password';
    const inner = Buffer.from(stored, 'base64').toString('latin1');
    return inner.startsWith('{') ? checkLdapPassword(inner, password, true) : 'not an RFC 2307 {SCHEME} password';
  }
  const scheme = m[1]!.toLowerCase();
  const alg = ALGORITHMS[scheme];
  if (alg === undefined) return `the {${m[1]}} scheme is not one of ${Object.keys(ALGORITHMS).join(', ')}`;
  const data = Buffer.from(m[2]!, 'base64');
  if (scheme === 'ssha') {
    if (data.length <= 20) return 'an {SSHA} value too short to hold a salt';
    const hash = data.subarray(0, 20);
    const salt = data.subarray(20);
    return same(hash, createHash('sha1').update(password).update(salt).digest());
  }
  return same(data, createHash(alg).update(password).digest());
}
