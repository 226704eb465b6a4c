// bcrypt (Provos and Mazières' eksblowfish), the `$2a$`, `$2b$` and `$2y$` hashes EMQX's
// built_in_database stores with password_hash_algorithm.name = bcrypt. Node.js has no bcrypt and
// a cost of 10 means about a hundred milliseconds of work, so the expensive loop hands the event
// loop back every few rounds: other clients keep being served while a password is checked.
import { piWords } from './blowfish-pi.js';

const ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const INDEX = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) INDEX[ALPHABET.charCodeAt(i)] = i;

/** bcrypt's own base64 (its alphabet, no padding). */
export function encode64(bytes: Uint8Array, length: number): string {
  let out = '';
  let i = 0;
  while (i < length) {
    let c1 = bytes[i++]!;
    out += ALPHABET[c1 >> 2]!;
    c1 = (c1 & 3) << 4;
    if (i >= length) {
      out += ALPHABET[c1]!;
      break;
    }
    let c2 = bytes[i++]!;
    out += ALPHABET[c1 | (c2 >> 4)]!;
    c1 = (c2 & 0x0f) << 2;
    if (i >= length) {
      out += ALPHABET[c1]!;
      break;
    }
    c2 = bytes[i++]!;
    out += ALPHABET[c1 | (c2 >> 6)]! + ALPHABET[c2 & 0x3f]!;
  }
  return out;
}

export function decode64(text: string, length: number): Uint8Array | undefined {
  const out = new Uint8Array(length);
  let o = 0;
  let i = 0;
  const at = (k: number): number => {
    const c = text.charCodeAt(k);
    return c < 128 ? INDEX[c]! : -1;
  };
  while (o < length && i < text.length) {
    const c1 = at(i++);
    const c2 = at(i++);
    if (c1 < 0 || c2 < 0) return undefined;
    out[o++] = ((c1 << 2) | ((c2 & 0x30) >> 4)) & 0xff;
    if (o >= length || i >= text.length) break;
    const c3 = at(i++);
    if (c3 < 0) return undefined;
    out[o++] = (((c2 & 0x0f) << 4) | ((c3 & 0x3c) >> 2)) & 0xff;
    if (o >= length || i >= text.length) break;
    const c4 = at(i++);
    if (c4 < 0) return undefined;
    out[o++] = (((c3 & 0x03) << 6) | c4) & 0xff;
  }
  return o === length ? out : undefined;
}

/** The state: P (18 words) then S0..S3 (256 words each), as one array. */
type State = Uint32Array;

function encipher(s: State, lr: Uint32Array): void {
  let l = lr[0]!;
  let r = lr[1]!;
  l ^= s[0]!;
  for (let i = 1; i <= 16; i += 2) {
    r ^= (((s[18 + (l >>> 24)]! + s[274 + ((l >>> 16) & 0xff)]!) ^ s[530 + ((l >>> 8) & 0xff)]!) + s[786 + (l & 0xff)]!) ^ s[i]!;
    l ^= (((s[18 + (r >>> 24)]! + s[274 + ((r >>> 16) & 0xff)]!) ^ s[530 + ((r >>> 8) & 0xff)]!) + s[786 + (r & 0xff)]!) ^ s[i + 1]!;
  }
  lr[0] = r ^ s[17]!;
  lr[1] = l;
}

/** The next 32 bits of `data`, cycling; `pos` is advanced. */
function streamWord(data: Uint8Array, pos: { p: number }): number {
  let w = 0;
  for (let i = 0; i < 4; i++) {
    w = (w << 8) | data[pos.p]!;
    pos.p = (pos.p + 1) % data.length;
  }
  return w >>> 0;
}

function expandKey(s: State, key: Uint8Array, salt: Uint8Array | undefined, lr: Uint32Array): void {
  const kp = { p: 0 };
  for (let i = 0; i < 18; i++) s[i] = s[i]! ^ streamWord(key, kp);
  lr[0] = 0;
  lr[1] = 0;
  const sp = { p: 0 };
  for (let i = 0; i < 1042; i += 2) {
    if (salt) {
      lr[0] = lr[0]! ^ streamWord(salt, sp);
      lr[1] = lr[1]! ^ streamWord(salt, sp);
    }
    encipher(s, lr);
    s[i] = lr[0]!;
    s[i + 1] = lr[1]!;
  }
}

const MAGIC = Buffer.from('OrpheanBeholderScryDoubt', 'latin1');

export interface BcryptSalt {
  readonly minor: 'a' | 'b' | 'y';
  readonly cost: number;
  readonly salt: Uint8Array;
  /** `$2b$10$` + the 22 salt characters. */
  readonly prefix: string;
}

/** Reads `$2b$10$<22 chars>` (a whole hash works too: the rest is ignored). */
export function parseBcryptSalt(text: string): BcryptSalt | undefined {
  const m = /^\$2([aby])\$(\d\d)\$([./A-Za-z0-9]{22})/.exec(text);
  if (!m) return undefined;
  const cost = Number(m[2]);
  if (cost < 4 || cost > 31) return undefined;
  const salt = decode64(m[3]!, 16);
  if (!salt) return undefined;
  return { minor: m[1] as 'a' | 'b' | 'y', cost, salt, prefix: `$2${m[1]}$${m[2]}$${m[3]}` };
}

/** A new salt string for `cost` ($2b$, as EMQX's bcrypt writes). */
export function bcryptSalt(cost: number, random: Uint8Array): string {
  return `$2b$${String(cost).padStart(2, '0')}$${encode64(random, 16)}`;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * The full hash string for `password` under `salt` (a salt string or a stored hash). Rounds of
 * work between two hand-backs of the event loop: `yieldEvery` (0: never, for tests and workers).
 */
export async function bcryptHash(password: Uint8Array, saltText: string, yieldEvery = 16): Promise<string> {
  const salt = parseBcryptSalt(saltText);
  if (!salt) throw new Error('not a bcrypt salt');
  // The key is the password and its terminating NUL, at most 72 bytes.
  const key = new Uint8Array(Math.min(password.length + 1, 72));
  key.set(password.subarray(0, key.length - 1));
  const s: State = new Uint32Array(piWords());
  const lr = new Uint32Array(2);
  expandKey(s, key, salt.salt, lr);
  const rounds = 2 ** salt.cost;
  for (let i = 0; i < rounds; i++) {
    expandKey(s, key, undefined, lr);
    expandKey(s, salt.salt, undefined, lr);
    if (yieldEvery > 0 && i % yieldEvery === yieldEvery - 1) await tick();
  }
  const text = new Uint32Array(6);
  for (let i = 0; i < 6; i++) text[i] = MAGIC.readUInt32BE(i * 4);
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 6; j += 2) {
      lr[0] = text[j]!;
      lr[1] = text[j + 1]!;
      encipher(s, lr);
      text[j] = lr[0]!;
      text[j + 1] = lr[1]!;
    }
  }
  const out = Buffer.alloc(24);
  for (let i = 0; i < 6; i++) out.writeUInt32BE(text[i]!, i * 4);
  return salt.prefix + encode64(out, 23);
}
