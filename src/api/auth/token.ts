// Login tokens: `<payload>.<signature>`, both base64url; the payload is JSON naming the user,
// a token id (for logout), the issue and expiry times, and a fingerprint of the user's password
// hash, so a changed password or a removed user ends every token issued before. The signing key
// is one cluster-wide secret, so a token from one node is accepted by all. Pure.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface TokenClaims {
  /** Username. */
  readonly u: string;
  /** Token id. */
  readonly jti: string;
  /** Issued at, ms. */
  readonly iat: number;
  /** Expires at, ms. */
  readonly exp: number;
  /** Fingerprint of the user's password hash when the token was issued. */
  readonly f: string;
}

export type VerifyResult = { readonly ok: true; readonly claims: TokenClaims } | { readonly ok: false; readonly reason: 'malformed' | 'bad_signature' | 'expired' };

const b64url = (b: Buffer): string => b.toString('base64url');

function mac(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** A short stand-in for a password hash: changes whenever the hash does, reveals nothing. */
export function fingerprint(pwdHash: string): string {
  return createHash('sha256').update(pwdHash).digest('base64url').slice(0, 16);
}

export function signToken(key: Buffer, username: string, pwdHash: string, now: number, ttlMs: number): { token: string; claims: TokenClaims } {
  const claims: TokenClaims = { u: username, jti: b64url(randomBytes(12)), iat: now, exp: now + ttlMs, f: fingerprint(pwdHash) };
  const payload = b64url(Buffer.from(JSON.stringify(claims)));
  return { token: `${payload}.${b64url(mac(key, payload))}`, claims };
}

function isClaims(v: unknown): v is TokenClaims {
  const c = v as Partial<TokenClaims> | null;
  return !!c && typeof c.u === 'string' && typeof c.jti === 'string' && typeof c.iat === 'number' && typeof c.exp === 'number' && typeof c.f === 'string';
}

export function verifyToken(key: Buffer, token: string, now: number): VerifyResult {
  if (token.length > 2048) return { ok: false, reason: 'malformed' };
  const dot = token.indexOf('.');
  if (dot <= 0 || dot !== token.lastIndexOf('.')) return { ok: false, reason: 'malformed' };
  const payload = token.slice(0, dot);
  const sig = Buffer.from(token.slice(dot + 1), 'base64url');
  const want = mac(key, payload);
  // Checked before the payload is even parsed: a forged token gets no further.
  if (sig.length !== want.length || !timingSafeEqual(sig, want)) return { ok: false, reason: 'bad_signature' };
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (!isClaims(claims)) return { ok: false, reason: 'malformed' };
  if (claims.exp <= now) return { ok: false, reason: 'expired' };
  return { ok: true, claims };
}
