// The API keys table (EMQX's emqx_mgmt_auth), replicated cluster-wide like the administrators:
// a key is `api_key:api_secret` over HTTP Basic. The secret is shown once, at creation, and kept
// only as a salted scrypt hash. Checking a secret costs one scrypt (tens of ms), so a secret
// that checked out is remembered in memory as an HMAC under a per-process random key, tied to the
// hash it matched: a changed or deleted key is checked afresh.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../../db/db.js';
import { hashPassword, verifyPassword } from '../../db/password.js';

export const API_KEYS_TABLE = 'api_keys';
/** EMQX refuses a 101st key. */
export const MAX_API_KEYS = 100;
const NAME_RE = /^[A-Za-z]+[A-Za-z0-9-_]*$/;

export interface ApiKeyRecord {
  readonly name: string;
  readonly apiKey: string;
  readonly secretHash: string;
  readonly enable: boolean;
  /** Seconds since the epoch; undefined: never expires. */
  readonly expiredAt?: number;
  /** Seconds since the epoch. */
  readonly createdAt: number;
  readonly desc: string;
}

export class ApiKeyError extends Error {
  constructor(
    readonly kind: 'bad_request' | 'not_found',
    message: string,
  ) {
    super(message);
    this.name = 'ApiKeyError';
  }
}

function isRecord(v: unknown): v is ApiKeyRecord {
  const r = v as Partial<ApiKeyRecord> | undefined;
  return !!r && typeof r.name === 'string' && typeof r.apiKey === 'string' && typeof r.secretHash === 'string';
}

/** EMQX's validate_name. */
export function checkName(name: string): string | undefined {
  if (name.length === 0 || name.length > 256) return 'Name Length must =< 256';
  if (!NAME_RE.test(name)) return `Name should be ${NAME_RE.source}`;
  return undefined;
}

export type CheckOutcome = 'ok' | 'not_found' | 'secret_error' | 'secret_expired' | 'secret_disable';

export class ApiKeys {
  readonly #verified = new Map<string, { mac: Buffer; hash: string }>();
  readonly #macKey = randomBytes(32);

  constructor(private readonly db: Db) {}

  list(): ApiKeyRecord[] {
    return this.db.list(API_KEYS_TABLE).map(([, v]) => v).filter(isRecord);
  }

  get(name: string): ApiKeyRecord | undefined {
    const v = this.db.get(API_KEYS_TABLE, name);
    return isRecord(v) ? v : undefined;
  }

  byKey(apiKey: string): ApiKeyRecord | undefined {
    return this.list().find((r) => r.apiKey === apiKey);
  }

  /** Returns the record and its secret, which is never stored in clear. */
  async create(o: { name: string; enable: boolean; expiredAt?: number; desc: string }, now = Date.now()): Promise<{ record: ApiKeyRecord; secret: string }> {
    const bad = checkName(o.name);
    if (bad) throw new ApiKeyError('bad_request', bad);
    if (this.list().length >= MAX_API_KEYS) throw new ApiKeyError('bad_request', 'Maximum number of ApiKeys reached.');
    if (this.get(o.name)) throw new ApiKeyError('bad_request', 'name_already_existed');
    const apiKey = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const record: ApiKeyRecord = {
      name: o.name,
      apiKey,
      secretHash: await hashPassword(secret),
      enable: o.enable,
      ...(o.expiredAt !== undefined ? { expiredAt: o.expiredAt } : {}),
      createdAt: Math.floor(now / 1000),
      desc: o.desc,
    };
    await this.db.write(API_KEYS_TABLE, o.name, record);
    return { record, secret };
  }

  async update(name: string, o: { enable?: boolean; expiredAt?: number | null; desc?: string }): Promise<ApiKeyRecord> {
    const cur = this.get(name);
    if (!cur) throw new ApiKeyError('not_found', 'Name NOT FOUND');
    const { expiredAt: _old, ...rest } = cur;
    const expiredAt = o.expiredAt === undefined ? cur.expiredAt : o.expiredAt === null ? undefined : o.expiredAt;
    const next: ApiKeyRecord = { ...rest, enable: o.enable ?? cur.enable, desc: o.desc ?? cur.desc, ...(expiredAt !== undefined ? { expiredAt } : {}) };
    await this.db.write(API_KEYS_TABLE, name, next);
    return next;
  }

  async delete(name: string): Promise<void> {
    if (!this.get(name)) throw new ApiKeyError('not_found', 'Name NOT FOUND');
    await this.db.write(API_KEYS_TABLE, name, undefined);
  }

  /** A key from api_key.bootstrap_file: replaces any key with the same api_key (as EMQX does). */
  async bootstrap(apiKey: string, secret: string, now = Date.now()): Promise<void> {
    const name = `from_bootstrap_file_${apiKey.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 256);
    const existing = this.byKey(apiKey);
    if (existing && (await verifyPassword(secret, existing.secretHash))) return;
    const writes: Array<{ table: string; key: string; value: unknown }> = [];
    for (const r of this.list()) if (r.apiKey === apiKey && r.name !== name) writes.push({ table: API_KEYS_TABLE, key: r.name, value: undefined });
    const record: ApiKeyRecord = { name, apiKey, secretHash: await hashPassword(secret), enable: true, createdAt: Math.floor(now / 1000), desc: 'Bootstrapped From File' };
    writes.push({ table: API_KEYS_TABLE, key: name, value: record });
    await this.db.writeMany(writes);
  }

  async check(apiKey: string, secret: string, now = Date.now()): Promise<CheckOutcome> {
    const r = this.byKey(apiKey);
    if (!r) return 'not_found';
    const mac = createHmac('sha256', this.#macKey).update(`${apiKey}\0${secret}`).digest();
    const seen = this.#verified.get(apiKey);
    let good = seen !== undefined && seen.hash === r.secretHash && timingSafeEqual(seen.mac, mac);
    if (!good) {
      good = await verifyPassword(secret, r.secretHash);
      if (good) {
        if (this.#verified.size >= MAX_API_KEYS * 2) this.#verified.clear();
        this.#verified.set(apiKey, { mac, hash: r.secretHash });
      }
    }
    if (!good) return 'secret_error';
    if (!r.enable) return 'secret_disable';
    if (r.expiredAt !== undefined && r.expiredAt < Math.floor(now / 1000)) return 'secret_expired';
    return 'ok';
  }
}

/**
 * api_key.bootstrap_file: one `key:secret` per line (EMQX also allows `key:secret:role`; the role
 * is accepted and, with one role here, not used). Blank lines are skipped. Pure.
 */
export function parseBootstrapFile(text: string): { keys: Array<{ apiKey: string; secret: string }>; errors: string[] } {
  const keys: Array<{ apiKey: string; secret: string }> = [];
  const errors: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const m = /^([^:]+):([^:]+)(?::([^:]+))?$/.exec(line);
    if (!m) errors.push(`line ${i + 1}: expected key:secret`);
    else keys.push({ apiKey: m[1]!, secret: m[2]! });
  });
  return { keys, errors };
}
