// The keys of a JWKS endpoint (use_jwks = true): fetched when the authenticator is configured and
// every refresh_interval after, each usable JWK (RSA and EC public keys) kept with its `kid`. A
// fetch that fails keeps the keys of the last good one and is logged; until a first fetch
// succeeds the authenticator decides nothing (the next one of the chain does).
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { JwtAuthenticatorConfig } from '../../config/types.js';
import { HttpClient } from '../http-client.js';

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
  readonly #client: HttpClient;

  constructor(
    private readonly cfg: JwksConfig,
    private readonly onError: (why: string) => void,
  ) {
    this.#client = new HttpClient(cfg.ssl, MAX_JWKS_BYTES, 1);
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
    this.#client.close(10_000);
  }

  async refresh(): Promise<void> {
    try {
      this.#keys = parseJwks(await this.#get());
    } catch (err) {
      this.onError(`the JWKS at ${this.cfg.endpoint} could not be used: ${(err as Error).message}`);
    }
  }

  async #get(): Promise<string> {
    const a = await this.#client.request(new URL(this.cfg.endpoint), 'GET', { accept: 'application/json' }, undefined, 10_000);
    if (a.status !== 200) throw new Error(`status ${a.status}`);
    return a.body;
  }
}
