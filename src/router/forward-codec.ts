// Forwarded batches in a compact binary form. v8.serialize writes every field name of every
// message and builds generic objects on the way back: 1.7 µs per 16-byte message for both ends
// together, against 0.6 µs here, and that cost is paid at every cross-node message. The rare
// parts (MQTT 5 properties) still go through v8 as one opaque field. Topics and publishers'
// client ids repeat within a batch (a publisher sends many messages a turn, to few topics): each
// distinct one is written once, in a table the messages refer to, so the receiver decodes it
// once and every message of that topic shares one string (hashed once by the topic index).
// Pure: values in, Buffer out.
//
//   batch:   u8 version | u8 flags (1: seq and base present) | str epoch | [f64 seq | f64 base]
//            | u32 strings | str × strings | u32 count | message × count
//   message: u8 flags (bits 0-1 qos, 2 retain, 3 expiresAt, 4 props, 5 target) | u32 topic (table index)
//            | u32 payload length | payload | u32 from (table index) | f64 timestamp | [f64 expiresAt]
//            | [u32 length | v8 props] | [str group | str filter | str client id]
//   str:     u16 length | utf8
import { deserialize, serialize } from 'node:v8';
import type { MessageProps } from '../mqtt/port.js';
import type { ForwardMsg, WireMessage } from './protocol.js';

/** The wire version this node writes and reads; a batch of another is not decoded. */
export const FORWARD_VERSION = 2;
const VERSION = FORWARD_VERSION;
const HAS_SEQ = 1;
const RETAIN = 4;
const EXPIRES = 8;
const PROPS = 16;
const TARGET = 32;
/** Payloads up to this many bytes are copied by a loop. */
const SMALL = 64;

/** utf8 takes at most 3 bytes per UTF-16 code unit: the size bound needs no byteLength pass. */
const strBound = (s: string): number => 2 + 3 * s.length;

function putStr(buf: Buffer, o: number, s: string): number {
  const n = buf.write(s, o + 2);
  if (n > 0xffff) throw new RangeError(`a string of ${n} bytes does not fit a forwarded message`);
  buf.writeUInt16BE(n, o);
  return o + 2 + n;
}

export function encodeForward(b: ForwardMsg): Buffer {
  const msgs = b.msgs;
  const index = new Map<string, number>();
  const table: string[] = [];
  const ref = (s: string): number => {
    let i = index.get(s);
    if (i === undefined) {
      i = table.length;
      index.set(s, i);
      table.push(s);
    }
    return i;
  };
  const refs = new Uint32Array(msgs.length * 2);
  const props = new Array<Buffer | undefined>(msgs.length);
  let size = 2 + strBound(b.epoch) + 16 + 4 + 4;
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i]!;
    refs[2 * i] = ref(m.topic);
    refs[2 * i + 1] = ref(m.from);
    const p = m.props ? serialize(m.props) : undefined;
    props[i] = p;
    size += 1 + 4 + 4 + m.payload.length + 4 + 16 + (p ? 4 + p.length : 0);
    if (m.target) size += strBound(m.target[0]) + strBound(m.target[1]) + strBound(m.target[2]);
  }
  for (const s of table) size += strBound(s);
  const buf = Buffer.allocUnsafe(size);
  buf[0] = VERSION;
  const seq = b.seq !== undefined;
  buf[1] = seq ? HAS_SEQ : 0;
  let o = putStr(buf, 2, b.epoch);
  if (seq) {
    o = buf.writeDoubleBE(b.seq!, o);
    o = buf.writeDoubleBE(b.base ?? b.seq!, o);
  }
  o = buf.writeUInt32BE(table.length, o);
  for (const s of table) o = putStr(buf, o, s);
  o = buf.writeUInt32BE(msgs.length, o);
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i]!;
    const p = props[i];
    buf[o++] = m.qos | (m.retain ? RETAIN : 0) | (m.expiresAt !== undefined ? EXPIRES : 0) | (p ? PROPS : 0) | (m.target ? TARGET : 0);
    o = buf.writeUInt32BE(refs[2 * i]!, o);
    const payload = m.payload;
    o = buf.writeUInt32BE(payload.length, o);
    if (payload.length <= SMALL) {
      // A loop beats Buffer#copy (a view and a native call) for the small payloads most messages carry.
      for (let k = 0; k < payload.length; k++) buf[o + k] = payload[k]!;
      o += payload.length;
    } else o += payload.copy(buf, o);
    o = buf.writeUInt32BE(refs[2 * i + 1]!, o);
    o = buf.writeDoubleBE(m.timestamp, o);
    if (m.expiresAt !== undefined) o = buf.writeDoubleBE(m.expiresAt, o);
    if (p) {
      o = buf.writeUInt32BE(p.length, o);
      o += p.copy(buf, o);
    }
    if (m.target) for (const s of m.target) o = putStr(buf, o, s);
  }
  return buf.subarray(0, o);
}

class Reader {
  o = 0;
  constructor(private readonly buf: Buffer) {}
  need(n: number): void {
    if (this.o + n > this.buf.length) throw new RangeError('truncated');
  }
  u8(): number {
    this.need(1);
    return this.buf[this.o++]!;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.o);
    this.o += 4;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.o);
    this.o += 8;
    return v;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.o, this.o + n);
    this.o += n;
    return v;
  }
  str(): string {
    this.need(2);
    const n = this.buf.readUInt16BE(this.o);
    this.need(2 + n);
    const s = this.buf.toString('utf8', this.o + 2, this.o + 2 + n);
    this.o += 2 + n;
    return s;
  }
}

/**
 * The batch in `buf`, or undefined when it is not one (truncated, trailing bytes, another version,
 * bad properties). Payloads are views into `buf`, as v8.deserialize's Buffers are.
 */
export function decodeForward(buf: Buffer): ForwardMsg | undefined {
  try {
    const r = new Reader(buf);
    if (r.u8() !== VERSION) return undefined;
    const flags = r.u8();
    const epoch = r.str();
    const seq = flags & HAS_SEQ ? r.f64() : undefined;
    const base = seq !== undefined ? r.f64() : undefined;
    const strings = r.u32();
    // Each string takes at least 2 bytes, each message 21: counts beyond that are lies, not reasons to allocate.
    if (strings > buf.length / 2) return undefined;
    const table = new Array<string>(strings);
    for (let i = 0; i < strings; i++) table[i] = r.str();
    const str = (): string => {
      const s = table[r.u32()];
      if (s === undefined) throw new RangeError('string index out of the table');
      return s;
    };
    const count = r.u32();
    if (count > buf.length / 21) return undefined;
    const msgs: WireMessage[] = new Array<WireMessage>(count);
    for (let i = 0; i < count; i++) {
      const f = r.u8();
      const qos = f & 3;
      if (qos === 3) return undefined;
      const topic = str();
      const payload = r.bytes(r.u32());
      const from = str();
      const timestamp = r.f64();
      const expiresAt = f & EXPIRES ? r.f64() : undefined;
      const props = f & PROPS ? (deserialize(r.bytes(r.u32())) as MessageProps) : undefined;
      if (props !== undefined && (typeof props !== 'object' || props === null)) return undefined;
      const target = f & TARGET ? ([r.str(), r.str(), r.str()] as const) : undefined;
      msgs[i] = {
        topic,
        payload,
        qos: qos as 0 | 1 | 2,
        retain: (f & RETAIN) !== 0,
        from,
        timestamp,
        ...(expiresAt !== undefined ? { expiresAt } : {}),
        ...(props !== undefined ? { props } : {}),
        ...(target !== undefined ? { target } : {}),
      };
    }
    if (r.o !== buf.length) return undefined;
    return { epoch, ...(seq !== undefined ? { seq, base: base! } : {}), msgs };
  } catch {
    return undefined;
  }
}
