// Bodies of the messages after authentication. Pure: Buffers in, values out.
// A Buffer payload travels as raw bytes (no serialization, no copy on the way out); anything
// else goes through v8.serialize, so payloads are any structured-clone value.
//   Send:  kind | u16 channel length | channel (utf8) | u8 encoding | payload
//   Call:  kind | u32 id | u16 channel length | channel | u8 encoding | payload
//   Reply: kind | u32 id | u8 encoding | payload
//   Error: kind | u32 id | message (utf8)
import { deserialize, serialize } from 'node:v8';
import { Kind } from './protocol.js';

const ENC_V8 = 0;
const ENC_RAW = 1;

export class CodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodecError';
  }
}

/** Frame parts (length prefix included) and the frame's total size. */
export interface Encoded {
  readonly parts: Buffer[];
  readonly bytes: number;
}

function payloadParts(payload: unknown): [number, Buffer] {
  if (Buffer.isBuffer(payload)) return [ENC_RAW, payload];
  return [ENC_V8, serialize(payload)];
}

function frame(kind: number, id: number | undefined, channel: string | undefined, payload: unknown): Encoded {
  const [enc, body] = payloadParts(payload);
  const chLen = channel === undefined ? 0 : Buffer.byteLength(channel);
  if (chLen > 0xffff) throw new CodecError(`channel name of ${chLen} bytes is too long`);
  const headLen = 4 + 1 + (id === undefined ? 0 : 4) + (channel === undefined ? 0 : 2 + chLen) + 1;
  const bytes = headLen + body.length;
  // Small: head and body in one buffer (a batch of them merges cheaply); large: the body is not
  // copied.
  const small = body.length < 1024;
  const head = Buffer.allocUnsafe(small ? bytes : headLen);
  head.writeUInt32BE(bytes - 4, 0);
  head[4] = kind;
  let off = 5;
  if (id !== undefined) off = head.writeUInt32BE(id, off);
  if (channel !== undefined) {
    off = head.writeUInt16BE(chLen, off);
    off += head.write(channel, off, 'utf8');
  }
  head[off] = enc;
  if (small) {
    body.copy(head, headLen);
    return { parts: [head], bytes };
  }
  return { parts: [head, body], bytes };
}

export const encodeSend = (channel: string, payload: unknown): Encoded => frame(Kind.Send, undefined, channel, payload);
export const encodeCall = (id: number, channel: string, payload: unknown): Encoded => frame(Kind.Call, id, channel, payload);
export const encodeReply = (id: number, value: unknown): Encoded => frame(Kind.Reply, id, undefined, value);

export function encodeError(id: number, message: string): Encoded {
  const msg = Buffer.from(message.slice(0, 4000), 'utf8');
  const head = Buffer.allocUnsafe(9);
  head.writeUInt32BE(5 + msg.length, 0);
  head[4] = Kind.Error;
  head.writeUInt32BE(id, 5);
  const b = Buffer.concat([head, msg]);
  return { parts: [b], bytes: b.length };
}

/** A control frame whose body (after the kind) is a v8-serialized value. */
export function encodeControl(kind: number, value?: unknown): Encoded {
  const body = value === undefined ? Buffer.alloc(0) : serialize(value);
  const b = Buffer.allocUnsafe(5 + body.length);
  b.writeUInt32BE(1 + body.length, 0);
  b[4] = kind;
  body.copy(b, 5);
  return { parts: [b], bytes: b.length };
}

function need(body: Buffer, end: number): void {
  if (end > body.length) throw new CodecError('truncated message');
}

function decodePayload(body: Buffer, off: number): unknown {
  need(body, off + 1);
  const enc = body[off];
  const rest = body.subarray(off + 1);
  if (enc === ENC_RAW) return rest;
  if (enc === ENC_V8) return deserialize(rest);
  throw new CodecError(`unknown payload encoding ${String(enc)}`);
}

function decodeChannel(body: Buffer, off: number): [string, number] {
  need(body, off + 2);
  const len = body.readUInt16BE(off);
  need(body, off + 2 + len);
  return [body.toString('utf8', off + 2, off + 2 + len), off + 2 + len];
}

/** body starts with the kind byte. */
export function decodeSend(body: Buffer): { channel: string; payload: unknown } {
  const [channel, off] = decodeChannel(body, 1);
  return { channel, payload: decodePayload(body, off) };
}

export function decodeCall(body: Buffer): { id: number; channel: string; payload: unknown } {
  need(body, 5);
  const id = body.readUInt32BE(1);
  const [channel, off] = decodeChannel(body, 5);
  return { id, channel, payload: decodePayload(body, off) };
}

export function decodeReply(body: Buffer): { id: number; value: unknown } {
  need(body, 5);
  return { id: body.readUInt32BE(1), value: decodePayload(body, 5) };
}

export function decodeError(body: Buffer): { id: number; message: string } {
  need(body, 5);
  return { id: body.readUInt32BE(1), message: body.toString('utf8', 5) };
}

export function decodeControl(body: Buffer): unknown {
  return body.length > 1 ? deserialize(body.subarray(1)) : undefined;
}
