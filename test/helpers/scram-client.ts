// The client side of SCRAM (RFC 5802), for tests: the first message, then the final one with
// its proof, and the check of the server's signature.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

export type ScramAlgo = 'sha256' | 'sha512';

export class ScramClient {
  readonly nonce: string;
  #serverSignature: string | undefined;

  /**
   * @param salted a cache of salted passwords by salt and iteration count, shared by clients that
   *   log in again and again (a load generator): PBKDF2 is the client's cost, not the server's.
   */
  constructor(
    private readonly algo: ScramAlgo,
    private readonly user: string,
    private readonly password: string,
    nonce = randomBytes(18).toString('base64'),
    private readonly salted?: Map<string, Buffer>,
  ) {
    this.nonce = nonce;
  }

  get bare(): string {
    return `n=${this.user.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${this.nonce}`;
  }

  first(): Buffer {
    return Buffer.from(`n,,${this.bare}`);
  }

  /** The final message for the server's first one. */
  final(serverFirst: Buffer): Buffer {
    const text = serverFirst.toString('utf8');
    const attrs = Object.fromEntries(text.split(',').map((a) => [a[0], a.slice(2)]));
    const key = `${attrs.s!}:${attrs.i!}`;
    let salted = this.salted?.get(key);
    if (salted === undefined) {
      salted = pbkdf2Sync(this.password, Buffer.from(attrs.s!, 'base64'), Number(attrs.i), this.algo === 'sha256' ? 32 : 64, this.algo);
      this.salted?.set(key, salted);
    }
    const hmac = (key: Buffer, s: string): Buffer => createHmac(this.algo, key).update(s).digest();
    const clientKey = hmac(salted, 'Client Key');
    const storedKey = createHash(this.algo).update(clientKey).digest();
    const withoutProof = `c=biws,r=${attrs.r!}`;
    const authMessage = `${this.bare},${text},${withoutProof}`;
    const sig = hmac(storedKey, authMessage);
    const proof = Buffer.from(clientKey.map((b, i) => b ^ sig[i]!));
    this.#serverSignature = hmac(hmac(salted, 'Server Key'), authMessage).toString('base64');
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`);
  }

  /** Whether the server's final message proves it holds this user's keys. */
  verifies(serverFinal: Buffer | undefined): boolean {
    return serverFinal !== undefined && serverFinal.toString('utf8') === `v=${this.#serverSignature ?? ''}`;
  }
}
