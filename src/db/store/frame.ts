// The one framing used by every store file: a 12-byte header, then the payload.
//   u32 LE payload length | u32 LE crc32(length bytes) | u32 LE crc32(payload)
// The length has its own checksum so a damaged length is recognised as damage, instead of
// sending the reader past the end of the file where it would look like a torn (unacknowledged) tail.
import { crc32 } from 'node:zlib';

export const FRAME_HEADER_BYTES = 12;
/** Upper bound for one frame; larger lengths are treated as damage, never allocated. */
export const MAX_FRAME_BYTES = 1 << 30;

export function encodeFrame(payload: Uint8Array): Buffer {
  const header = frameHeader(payload);
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  header.copy(out, 0);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/** The 12-byte header of a frame holding `payload`: header then payload is the frame. */
export function frameHeader(payload: Uint8Array): Buffer {
  if (payload.length === 0 || payload.length > MAX_FRAME_BYTES) {
    throw new RangeError(`frame payload of ${payload.length} bytes is out of range (1..${MAX_FRAME_BYTES})`);
  }
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(crc32(out.subarray(0, 4)), 4);
  out.writeUInt32LE(crc32(payload), 8);
  return out;
}

export type HeaderCheck =
  | { readonly ok: true; readonly length: number; readonly crc: number }
  | { readonly ok: false; readonly reason: string };

/** Validates a complete 12-byte header. */
export function checkHeader(header: Uint8Array): HeaderCheck {
  const b = Buffer.from(header.buffer, header.byteOffset, FRAME_HEADER_BYTES);
  const length = b.readUInt32LE(0);
  if (crc32(b.subarray(0, 4)) !== b.readUInt32LE(4)) return { ok: false, reason: 'frame header checksum mismatch' };
  if (length === 0 || length > MAX_FRAME_BYTES) return { ok: false, reason: `implausible frame length ${length}` };
  return { ok: true, length, crc: b.readUInt32LE(8) };
}

export function payloadMatches(payload: Uint8Array, crc: number): boolean {
  return crc32(payload) === crc;
}
