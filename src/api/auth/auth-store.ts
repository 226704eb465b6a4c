// What login tokens need from the replicated database: the cluster-wide signing key (made by the
// first node that needs one; a node that joins takes the cluster's, so its old tokens end) and
// the ids of tokens ended by logout until they would have expired anyway.
import { randomBytes } from 'node:crypto';
import type { Db } from '../../db/db.js';

export const API_META_TABLE = 'api_meta';
export const REVOKED_TABLE = 'api_tokens_revoked';
const KEY_ROW = 'token_signing_key';

export class AuthStore {
  constructor(private readonly db: Db) {}

  /** The signing key, read on every use: after a join or a heal the cluster's key is the one in force. */
  signingKey(): Buffer | undefined {
    const v = this.db.get(API_META_TABLE, KEY_ROW);
    return typeof v === 'string' ? Buffer.from(v, 'base64') : undefined;
  }

  async ensureSigningKey(): Promise<void> {
    if (!this.signingKey()) await this.db.write(API_META_TABLE, KEY_ROW, randomBytes(32).toString('base64'));
  }

  isRevoked(jti: string): boolean {
    return this.db.get(REVOKED_TABLE, jti) !== undefined;
  }

  revoke(jti: string, exp: number): Promise<void> {
    return this.db.write(REVOKED_TABLE, jti, exp);
  }

  /** Forgets revocations of tokens that have expired by now (they are refused as expired). */
  async sweep(now: number): Promise<void> {
    const gone = this.db.list(REVOKED_TABLE).filter(([, exp]) => typeof exp !== 'number' || exp < now);
    if (gone.length > 0) await this.db.writeMany(gone.map(([key]) => ({ table: REVOKED_TABLE, key, value: undefined })));
  }
}
