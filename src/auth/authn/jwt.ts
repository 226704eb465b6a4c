// EMQX's JWT authenticator (emqx_authn_jwt) with a secret, a public key or the keys of a JWKS
// endpoint: the token the client sends as its password (or user name) is checked: its signature
// (HS256/384/512 with the secret; RS*, PS* and ES* 256/384/512 with the public key or the JWKS
// key the token's `kid` names; `none` never), `exp` and `nbf` when present,
// and every `verify_claims` entry (`${clientid}`, `${username}` filled in). No token: ignored (the
// next authenticator decides); a bad one: refused with 0x86. `is_superuser` in the claims makes a
// superuser; an `acl` claim (acl_claim_name) gives the client its own rules, which alone decide
// for it until the token expires; with disconnect_after_expire the connection ends then. Pure but
// for the clock, which is given.
import { createHmac, createPublicKey, timingSafeEqual, verify as verifySignature, constants, type KeyObject } from 'node:crypto';
import type { JwtAuthenticatorConfig } from '../../config/types.js';
import { RC } from '../../mqtt/reason-codes.js';
import { credentialVars, type Credentials, type Decision } from './decision.js';
import { fillTemplate } from '../placeholders.js';
import { aclOf } from '../authz/client-acl.js';
import { JwksKeys } from './jwks.js';

const HMAC: Readonly<Record<string, string>> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };
const PUBLIC: Readonly<Record<string, { hash: string; kind: 'rsa' | 'pss' | 'ec' }>> = {
  RS256: { hash: 'sha256', kind: 'rsa' },
  RS384: { hash: 'sha384', kind: 'rsa' },
  RS512: { hash: 'sha512', kind: 'rsa' },
  PS256: { hash: 'sha256', kind: 'pss' },
  PS384: { hash: 'sha384', kind: 'pss' },
  PS512: { hash: 'sha512', kind: 'pss' },
  ES256: { hash: 'sha256', kind: 'ec' },
  ES384: { hash: 'sha384', kind: 'ec' },
  ES512: { hash: 'sha512', kind: 'ec' },
};

/** Tokens longer than this are refused unread (bounded work per CONNECT). */
const MAX_TOKEN_BYTES = 16 * 1024;

const refuse = (reason: string): Decision => ({ kind: 'deny', rc: RC.badUsernameOrPassword, reason });

function json(part: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export class JwtAuthenticator {
  readonly #secret: Buffer | undefined;
  readonly #key: KeyObject | undefined;
  readonly #jwks: JwksKeys | undefined;

  /** `onError`: a JWKS fetch that failed (logged by the caller). */
  constructor(
    readonly cfg: JwtAuthenticatorConfig,
    onError: (why: string) => void = () => undefined,
  ) {
    this.#secret = cfg.secret === undefined ? undefined : Buffer.from(cfg.secret, cfg.secret_base64_encoded ? 'base64' : 'utf8');
    this.#key = cfg.public_key === undefined ? undefined : createPublicKey(cfg.public_key);
    if (cfg.jwks) {
      this.#jwks = new JwksKeys(cfg.jwks, onError);
      this.#jwks.start();
    }
  }

  /** Stops the JWKS refresh (a reload replaced this authenticator). */
  close(): void {
    this.#jwks?.close();
  }

  authenticate(c: Credentials, nowS: number): Decision {
    const token = this.cfg.from === 'username' ? c.username : c.password?.toString('utf8');
    if (token === undefined || token === '') return { kind: 'ignore', why: `no token in the ${this.cfg.from}` };
    if (this.#jwks && this.#jwks.keys === undefined) return { kind: 'ignore', why: `the JWKS at ${this.#jwks ? this.cfg.jwks!.endpoint : ''} has not been fetched yet` };
    if (token.length > MAX_TOKEN_BYTES) return refuse('token too long');
    const parts = token.split('.');
    if (parts.length !== 3) return refuse('not a JWT');
    const [h, p, s] = parts as [string, string, string];
    const header = json(h);
    const claims = json(p);
    if (!header || !claims) return refuse('not a JWT');
    const alg = typeof header.alg === 'string' ? header.alg : '';
    const signed = Buffer.from(`${h}.${p}`);
    const sig = Buffer.from(s, 'base64url');
    if (!this.#signatureOk(alg, signed, sig, typeof header.kid === 'string' ? header.kid : undefined)) return refuse(`bad signature (alg ${alg || 'none'})`);
    if (claims.exp !== undefined && !(typeof claims.exp === 'number' && nowS < claims.exp)) return refuse('token expired');
    if (claims.nbf !== undefined && !(typeof claims.nbf === 'number' && nowS >= claims.nbf)) return refuse('token not valid yet');
    for (const [name, want] of Object.entries(this.cfg.verify_claims)) {
      const expected = fillTemplate(want, credentialVars(c));
      const got = claims[name];
      if ((typeof got !== 'string' && typeof got !== 'number') || String(got) !== expected) return refuse(`claim ${name} does not match`);
    }
    const exp = typeof claims.exp === 'number' ? claims.exp * 1000 : undefined;
    const acl = aclOf(claims[this.cfg.acl_claim_name]);
    if (acl === 'bad') return refuse(`claim ${this.cfg.acl_claim_name} is not a list of rules nor {pub, sub, all}`);
    return {
      kind: 'allow',
      superuser: claims.is_superuser === true || claims.is_superuser === 'true',
      ...(acl ? { acl: { rules: acl, ...(exp !== undefined ? { expiresAt: exp } : {}) } } : {}),
      ...(exp !== undefined && this.cfg.disconnect_after_expire ? { expiresAt: exp } : {}),
    };
  }

  #signatureOk(alg: string, signed: Buffer, sig: Buffer, kid: string | undefined): boolean {
    if (this.cfg.algorithm === 'hmac-based') {
      const hash = HMAC[alg];
      if (!hash || !this.#secret) return false;
      const mac = createHmac(hash, this.#secret).update(signed).digest();
      return mac.length === sig.length && timingSafeEqual(mac, sig);
    }
    const spec = PUBLIC[alg];
    if (!spec) return false;
    // From a JWKS: the key the token names, or else each key in turn.
    const jwks = this.#jwks?.keys;
    const keys = jwks ? (kid !== undefined && jwks.some((k) => k.kid === kid) ? jwks.filter((k) => k.kid === kid) : jwks).map((k) => k.key) : this.#key ? [this.#key] : [];
    return keys.some((key) => verifyWith(spec, key, signed, sig));
  }
}

function verifyWith(spec: { hash: string; kind: 'rsa' | 'pss' | 'ec' }, key: KeyObject, signed: Buffer, sig: Buffer): boolean {
  try {
    if (spec.kind === 'ec') return verifySignature(spec.hash, signed, { key, dsaEncoding: 'ieee-p1363' }, sig);
    if (spec.kind === 'pss') return verifySignature(spec.hash, signed, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, sig);
    return verifySignature(spec.hash, signed, key, sig);
  } catch {
    // A key of another type than the token says (an EC token for an RSA key): not valid.
    return false;
  }
}
