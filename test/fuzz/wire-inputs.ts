// Hostile inputs for the wire fuzz, built from a recorded real exchange. Pure and seeded
// (prng from mutate.ts), so a failing input can be regenerated from its seed and index.
import { isIP } from 'node:net';
import { Kind } from '../../src/link/protocol.js';

export type Rnd = () => number;

/** What a real dialer wrote during one handshake and just after it, frame by frame (headers included). */
export interface Transcript {
  /** Hello, Proof, Confirm as sent on the wire. */
  readonly handshake: readonly Buffer[];
  /** Post-authentication frames of a real link (Call, Send, Tick, Peers, Reply, Error, ...). */
  readonly linkFrames: readonly Buffer[];
}

const int = (rnd: Rnd, n: number): number => Math.floor(rnd() * n);
const pick = <T>(rnd: Rnd, xs: readonly T[]): T => xs[int(rnd, xs.length)]!;

const INTERESTING_U32 = [0, 1, 4, 5, 0x7f, 0x80, 0xff, 0x100, 0x1ff, 0x200, 0x201, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];
const INTERESTING_BYTES = [0, 1, 0x7f, 0x80, 0xff, Kind.Hello, Kind.Proof, Kind.Tick, Kind.Send, Kind.Call, Kind.Reply, Kind.Error, Kind.Peers, Kind.Bye, 0x22, 0x7b, 0x7d, 0x5c];

/** One byte-level edit: flip, overwrite, insert, delete, truncate, duplicate, or a bad length. */
export function mutateBytes(input: Buffer, rnd: Rnd): Buffer {
  let b = Buffer.from(input);
  const edits = 1 + int(rnd, 4);
  for (let i = 0; i < edits; i++) {
    const p = int(rnd, b.length + 1);
    switch (int(rnd, 9)) {
      case 0: // flip a bit
        if (b.length > 0) b[Math.min(p, b.length - 1)]! ^= 1 << int(rnd, 8);
        break;
      case 1: // an interesting byte
        if (b.length > 0) b[Math.min(p, b.length - 1)] = pick(rnd, INTERESTING_BYTES);
        break;
      case 2: // insert random bytes
        b = Buffer.concat([b.subarray(0, p), Buffer.from(Array.from({ length: 1 + int(rnd, 8) }, () => int(rnd, 256))), b.subarray(p)]);
        break;
      case 3: // delete a span
        b = Buffer.concat([b.subarray(0, p), b.subarray(p + 1 + int(rnd, 16))]);
        break;
      case 4: // truncate
        b = b.subarray(0, p);
        break;
      case 5: { // duplicate a span
        const q = int(rnd, b.length + 1);
        const [from, to] = p < q ? [p, q] : [q, p];
        b = Buffer.concat([b.subarray(0, to), b.subarray(from, Math.min(to, from + 64)), b.subarray(to)]);
        break;
      }
      case 6: // rewrite the length header of the first frame
        if (b.length >= 4) b.writeUInt32BE(pick(rnd, INTERESTING_U32), 0);
        break;
      case 7: // nudge the length header by a little
        if (b.length >= 4) b.writeUInt32BE((b.readUInt32BE(0) + int(rnd, 9) - 4) >>> 0, 0);
        break;
      default: // overwrite a 4-byte word anywhere (ids, channel lengths, v8 lengths)
        if (b.length >= 4) b.writeUInt32BE(pick(rnd, INTERESTING_U32), Math.min(p, b.length - 4));
    }
  }
  return b;
}

/**
 * Keeps the node from resolving attacker-chosen host names during the fuzz: a Hello whose
 * `from` names a host that is not an IP literal gets an IP instead (DNS would leave loopback).
 */
export function pinHelloHost(frame: Buffer, ip: string): Buffer {
  if (frame.length < 6 || frame[4] !== Kind.Hello) return frame;
  const text = frame.toString('utf8', 5);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return frame;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return frame;
  const o = v as Record<string, unknown>;
  if (typeof o.from !== 'string') return frame;
  const at = o.from.lastIndexOf('@');
  const host = at < 0 ? '' : o.from.slice(at + 1);
  if (at < 0 || isIP(host.replace(/^\[|\]$/g, '')) !== 0) return frame;
  o.from = `${o.from.slice(0, at)}@${ip}`;
  const rest = Buffer.from(JSON.stringify(o));
  const h = Buffer.alloc(5);
  h.writeUInt32BE(rest.length + 1, 0);
  h[4] = Kind.Hello;
  // Keep what followed the frame (more mutated frames), unchanged.
  const len = frame.readUInt32BE(0);
  return Buffer.concat([h, rest, frame.subarray(Math.min(frame.length, 4 + len))]);
}

/** A pre-authentication input: random bytes, or a mutation of (a prefix of) the recorded handshake. */
export function preAuthInput(t: Transcript, rnd: Rnd, ip: string): Buffer {
  const r = rnd();
  if (r < 0.15) return Buffer.from(Array.from({ length: int(rnd, 600) }, () => int(rnd, 256)));
  const frames = t.handshake.slice(0, 1 + int(rnd, t.handshake.length));
  let b: Buffer;
  if (r < 0.85) {
    // Mutate one frame of the prefix, keep the others verbatim.
    const k = int(rnd, frames.length);
    b = Buffer.concat(frames.map((f, i) => (i === k ? mutateBytes(f, rnd) : f)));
  } else {
    // The whole exchange as one byte string, mutated across frame boundaries.
    b = mutateBytes(Buffer.concat(frames), rnd);
  }
  return pinHelloHost(b, ip);
}

/** A post-authentication input: one real link frame, mutated (or sometimes sent intact). */
export function postAuthInput(t: Transcript, rnd: Rnd): Buffer {
  const f = pick(rnd, t.linkFrames);
  return rnd() < 0.1 ? f : mutateBytes(f, rnd);
}
