// SCRAM (RFC 5802, with SHA-256 per RFC 7677 and SHA-512) on the server side, as MQTT 5's
// enhanced authentication carries it (EMQX's `mechanism = scram`): the client's first message
// names the user and a nonce, the server answers with the user's salt and iteration count, the
// client proves it knows the password without sending it, and the server proves in turn that it
// holds the user's keys. Pure: no I/O, the caller keeps the state between the two steps.
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

export type ScramAlgorithm = 'sha256' | 'sha512';

/** The MQTT Authentication Method of each algorithm. */
export const SCRAM_METHOD: Readonly<Record<ScramAlgorithm, string>> = { sha256: 'SCRAM-SHA-256', sha512: 'SCRAM-SHA-512' };

/** What the server keeps of a password (base64 strings, as they are stored). */
export interface ScramSecret {
  readonly stored_key: string;
  readonly server_key: string;
  readonly salt: string;
  readonly iteration_count: number;
  readonly algorithm: ScramAlgorithm;
}

const hmac = (algo: ScramAlgorithm, key: Buffer, text: string): Buffer => createHmac(algo, key).update(text).digest();
const digestLength = (algo: ScramAlgorithm): number => (algo === 'sha256' ? 32 : 64);

/** The keys of a password (RFC 5802 §3); the salt is random unless given (tests). */
export async function scramSecret(algo: ScramAlgorithm, iterations: number, password: string, salt: Buffer = randomBytes(16)): Promise<ScramSecret> {
  const salted = await pbkdf2Async(Buffer.from(password, 'utf8'), salt, iterations, digestLength(algo), algo);
  const clientKey = hmac(algo, salted, 'Client Key');
  return {
    stored_key: createHash(algo).update(clientKey).digest('base64'),
    server_key: hmac(algo, salted, 'Server Key').toString('base64'),
    salt: salt.toString('base64'),
    iteration_count: iterations,
    algorithm: algo,
  };
}

export class ScramError extends Error {
  override name = 'ScramError';
}

/** The client's first message, parsed. */
export interface ClientFirst {
  /** `n=`, with `=2C` and `=3D` decoded. */
  readonly user: string;
  readonly nonce: string;
  /** The GS2 header (`n,,`), which the final message must carry back base64-encoded. */
  readonly gs2: string;
  /** The message without its GS2 header, part of what both sides sign. */
  readonly bare: string;
}

/** Printable ASCII but `,` (RFC 5802 `printable`). */
const NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;

/** `attr=value` pairs of a message, in order. */
function attributes(text: string): Array<[string, string]> {
  return text.split(',').map((part) => {
    if (part.length < 2 || part[1] !== '=') throw new ScramError(`'${part.slice(0, 40)}' is not an attribute`);
    return [part[0]!, part.slice(2)];
  });
}

function saslName(raw: string): string {
  // '=' may appear only as =2C or =3D (RFC 5802 §5.1).
  if (/=(?!2C|3D)/.test(raw)) throw new ScramError('the user name has a bad escape');
  return raw.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

export function parseClientFirst(data: Buffer): ClientFirst {
  const text = data.toString('utf8');
  // gs2-header: a channel-binding flag, an optional authzid, then the bare message.
  const m = /^([ny]|p=[^,]*),(a=[^,]*)?,(.*)$/s.exec(text);
  if (!m) throw new ScramError('not a SCRAM client-first message');
  if (m[1]!.startsWith('p=')) throw new ScramError('channel binding is not supported');
  const bare = m[3]!;
  const attrs = attributes(bare);
  if (attrs[0]?.[0] === 'm') throw new ScramError('mandatory extensions are not supported');
  if (attrs[0]?.[0] !== 'n' || attrs[1]?.[0] !== 'r') throw new ScramError('the message must start with n= and r=');
  const user = saslName(attrs[0][1]);
  const nonce = attrs[1][1];
  if (user === '') throw new ScramError('the user name is empty');
  if (!NONCE.test(nonce)) throw new ScramError('the client nonce is not printable');
  return { user, nonce, gs2: text.slice(0, text.length - bare.length), bare };
}

/** Between the two steps: what the server said and must check the client's proof against. */
export interface ScramPending {
  readonly first: ClientFirst;
  readonly serverFirst: string;
  /** The client's nonce with the server's appended. */
  readonly nonce: string;
}

/** The server's first message: the joined nonce, the user's salt and iteration count. */
export function serverFirst(first: ClientFirst, secret: Pick<ScramSecret, 'salt' | 'iteration_count'>, serverNonce: string = randomBytes(18).toString('base64')): ScramPending {
  const nonce = first.nonce + serverNonce;
  return { first, nonce, serverFirst: `r=${nonce},s=${secret.salt},i=${secret.iteration_count}` };
}

/**
 * Checks the client's final message against the stored keys. Returns the server's final message
 * (`v=` its signature), or throws when the proof is wrong or the message malformed.
 */
export function verifyClientFinal(p: ScramPending, secret: ScramSecret, data: Buffer): string {
  const text = data.toString('utf8');
  const at = text.lastIndexOf(',p=');
  if (at < 0) throw new ScramError('the final message has no proof');
  const withoutProof = text.slice(0, at);
  const attrs = attributes(withoutProof);
  if (attrs[0]?.[0] !== 'c' || attrs[1]?.[0] !== 'r') throw new ScramError('the final message must start with c= and r=');
  if (Buffer.from(attrs[0][1], 'base64').toString('utf8') !== p.first.gs2) throw new ScramError('the channel binding does not match the first message');
  if (attrs[1][1] !== p.nonce) throw new ScramError('the nonce does not match');
  const algo = secret.algorithm;
  const proof = Buffer.from(text.slice(at + 3), 'base64');
  if (proof.length !== digestLength(algo)) throw new ScramError('the proof has the wrong length');
  const authMessage = `${p.first.bare},${p.serverFirst},${withoutProof}`;
  const storedKey = Buffer.from(secret.stored_key, 'base64');
  const signature = hmac(algo, storedKey, authMessage);
  const clientKey = Buffer.alloc(proof.length);
  for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ signature[i]!;
  const computed = createHash(algo).update(clientKey).digest();
  if (computed.length !== storedKey.length || !timingSafeEqual(computed, storedKey)) throw new ScramError('wrong password');
  return `v=${hmac(algo, Buffer.from(secret.server_key, 'base64'), authMessage).toString('base64')}`;
}
