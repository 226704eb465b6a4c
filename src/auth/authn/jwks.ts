// The keys of a JWKS endpoint (use_jwks = true): fetched when the authenticator is configured and
// every refresh_interval after, each usable JWK (RSA and EC public keys) kept with its `kid`. A
// fetch that fails keeps the keys of the last good one and is logged; until a first fetch
// succeeds the authenticator decides nothing (the next one of the chain does).
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { JwtAuthenticatorConfig } from '../../config/types.js';

type JwksConfig = NonNullable<JwtAuthenticatorConfig['jwks']>;

export interface Jwk {
  readonly kid: string | undefined;
  readonly key: KeyObject;
}

/** A JWKS document as keys (pure); keys that are not public RSA or EC keys are left out. */
export function parseJwks(text: string): Jwk[] {
  const doc = JSON.parse(text) as { keys?: unknown };
  if (!Array.isArray(doc.keys)) throw new Error('no "keys" array');
  const out: Jwk[] = [];
  for (const k of doc.keys as Array<Record<string, unknown>>) {
    if (k === null || typeof k !== 'object' || (k.kty !== 'RSA' && k.kty !== 'EC') || k.d !== undefined) continue;
    try {
      out.push({ kid: typeof k.kid === 'string' ? k.kid : undefined, key: createPublicKey({ key: k as JsonWebKey, format: 'jwk' }) });
    } catch {
      // A malformed key: the others still count.
    }
  }
  return out;
}

/** At most this much of an answer is read. */
const MAX_JWKS_BYTES = 1024 * 1024;

export class JwksKeys {
  #keys: Jwk[] | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #ca: Buffer | undefined;

  constructor(
    private readonly cfg: JwksConfig,
    private readonly onError: (why: string) => void,
  ) {
    this.#ca = cfg.ssl?.cacertfile ? readFileSync(cfg.ssl.cacertfile) : undefined;
  }

  /** The keys of the last good fetch; undefined before the first. */
  get keys(): readonly Jwk[] | undefined {
    return this.#keys;
  }

  start(): void {
    void this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.cfg.refresh_interval);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
  }

  async refresh(): Promise<void> {
    try {
      this.#keys = parseJwks(await this.#get());
    } catch (err) {
      this.onError(`the JWKS at ${this.cfg.endpoint} could not be used: ${(err as Error).message}`);
    }
  }

  #get(): Promise<string> {
    const url = new URL(this.cfg.endpoint);
    const https = url.protocol === 'https:';
    const tls = this.cfg.ssl;
    return new Promise((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(
        url,
        {
          method: 'GET',
          headers: { accept: 'application/json' },
          timeout: 10_000,
          ...(https ? { rejectUnauthorized: tls?.verify ?? true, ...(this.#ca ? { ca: this.#ca } : {}), ...(tls?.server_name_indication ? { servername: tls.server_name_indication } : {}) } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (b: Buffer) => {
            size += b.length;
            if (size > MAX_JWKS_BYTES) req.destroy(new Error(`answer over ${MAX_JWKS_BYTES} bytes`));
            else chunks.push(b);
          });
          res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`status ${res.statusCode ?? 0}`))));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
      req.on('error', reject);
      req.end();
    });
  }
}
