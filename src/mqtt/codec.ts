// Whole packets ↔ values, for one connection (its protocol version is learnt from CONNECT).
// mqtt-packet parses and writes every packet kind; PUBLISH, the packet every message is, has a
// direct path both ways (no properties, or v3), and so do the 4-byte acknowledgements of QoS 1
// and 2: they are most of the work of a broker, and mqtt-packet's general parser costs several
// times more per packet. Strings the protocol requires to be well-formed UTF-8 without U+0000
// are checked on the raw bytes, which mqtt-packet does not do (it would silently replace bad
// bytes).
import { isUtf8 } from 'node:buffer';
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';
import type { Frame } from './framer.js';
import { RC } from './reason-codes.js';

export type ProtocolVersion = 3 | 4 | 5;

export interface DecodeError {
  readonly error: string;
  /** The v5 reason code to close with (malformed packet or protocol error). */
  readonly rc: number;
}

export type Decoded = Packet | DecodeError;

export const isDecodeError = (d: Decoded): d is DecodeError => (d as DecodeError).error !== undefined;

const PUBLISH = 3;
const CONNECT = 1;
const SUBSCRIBE = 8;
const UNSUBSCRIBE = 10;

/** A string field of the protocol: well-formed UTF-8 without U+0000 (MQTT 5 §1.5.4). */
function wellFormed(b: Buffer, start: number, end: number): boolean {
  let ascii = true;
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c === 0) return false;
    if (c >= 0x80) ascii = false;
  }
  // Pure ASCII, the common case, is always well-formed.
  return ascii || isUtf8(b.subarray(start, end));
}

/** Reads a variable byte integer at `pos`: [value, next position], or undefined if cut short. */
function varint(b: Buffer, pos: number): [number, number] | undefined {
  let v = 0;
  let mul = 1;
  for (let n = 0; n < 4; n++) {
    if (pos >= b.length) return undefined;
    const byte = b[pos++]!;
    v += (byte & 0x7f) * mul;
    if ((byte & 0x80) === 0) return [v, pos];
    mul *= 128;
  }
  return undefined;
}

/**
 * Checks the UTF-8 strings of CONNECT, SUBSCRIBE and UNSUBSCRIBE. A structure cut short is left
 * to the full parser, which reports it as malformed.
 */
export function stringsWellFormed(type: number, body: Buffer, v5: boolean): boolean {
  let pos = 0;
  /** The next string: well-formed, not, or cut short (then the full parser reports it). */
  const str = (): 'ok' | 'bad' | 'short' => {
    if (pos + 2 > body.length) return 'short';
    const len = body.readUInt16BE(pos);
    pos += 2;
    if (pos + len > body.length) return 'short';
    const ok = wellFormed(body, pos, pos + len);
    pos += len;
    return ok ? 'ok' : 'bad';
  };
  const skipBinary = (): void => {
    if (pos + 2 <= body.length) pos += 2 + body.readUInt16BE(pos);
  };
  const skipProps = (): boolean => {
    const r = varint(body, pos);
    if (!r) return false;
    pos = r[1] + r[0];
    return true;
  };
  if (type === SUBSCRIBE || type === UNSUBSCRIBE) {
    pos = 2;
    if (v5 && !skipProps()) return true;
    while (pos < body.length) {
      const r = str();
      if (r !== 'ok') return r === 'short';
      if (type === SUBSCRIBE) pos++;
    }
    return true;
  }
  if (type === CONNECT) {
    let r = str(); // protocol name
    if (r !== 'ok') return r === 'short';
    if (pos + 4 > body.length) return true;
    const version = body[pos]!;
    const flags = body[pos + 1]!;
    pos += 4;
    const connectV5 = version === 5;
    if (connectV5 && !skipProps()) return true;
    r = str(); // client id
    if (r !== 'ok') return r === 'short';
    if (flags & 0x04) {
      if (connectV5 && !skipProps()) return true;
      r = str(); // will topic
      if (r !== 'ok') return r === 'short';
      skipBinary(); // will payload
    }
    if (flags & 0x80) {
      r = str(); // username
      if (r !== 'ok') return r === 'short';
    }
    return true;
  }
  return true;
}

/** Property identifier → value kind, for the properties a client's PUBLISH may carry (MQTT 5 §3.3.2.3). */
const PUBLISH_PROPS: ReadonlyMap<number, 'byte' | 'u16' | 'u32' | 'varint' | 'string' | 'binary' | 'pair'> = new Map([
  [0x01, 'byte'], // payload format indicator
  [0x02, 'u32'], // message expiry interval
  [0x03, 'string'], // content type
  [0x08, 'string'], // response topic
  [0x09, 'binary'], // correlation data
  [0x0b, 'varint'], // subscription identifier (never from a client: MQTT-3.3.4-6)
  [0x23, 'u16'], // topic alias
  [0x26, 'pair'], // user property (may repeat)
]);

/**
 * The property block of a v5 PUBLISH at `pos`: each identifier known and in place, none repeated
 * but user properties, the block within the packet (mqtt-packet takes the last of a repeated
 * property and skips unknown ones without a word).
 */
function checkPublishProps(b: Buffer, pos: number): DecodeError | undefined {
  const len = varint(b, pos);
  if (!len || len[1] + len[0] > b.length) return { error: 'PUBLISH properties run past the packet', rc: RC.malformedPacket };
  let p = len[1];
  const end = p + len[0];
  const seen = new Set<number>();
  while (p < end) {
    const id = b[p++]!;
    const kind = PUBLISH_PROPS.get(id);
    if (kind === undefined) return { error: `property 0x${id.toString(16)} is not allowed in PUBLISH`, rc: RC.malformedPacket };
    if (id === 0x0b) return { error: 'a client PUBLISH may not carry a subscription identifier', rc: RC.protocolError };
    if (kind !== 'pair') {
      if (seen.has(id)) return { error: `property 0x${id.toString(16)} appears twice`, rc: RC.protocolError };
      seen.add(id);
    }
    const need = (n: number): boolean => p + n <= end;
    switch (kind) {
      case 'byte':
        if (!need(1)) return { error: 'PUBLISH property cut short', rc: RC.malformedPacket };
        if (b[p]! > 1) return { error: 'payload format indicator is not 0 or 1', rc: RC.protocolError };
        p += 1;
        break;
      case 'u16':
        p += 2;
        break;
      case 'u32':
        p += 4;
        break;
      case 'varint': {
        const v = varint(b, p);
        if (!v) return { error: 'PUBLISH property cut short', rc: RC.malformedPacket };
        p = v[1];
        break;
      }
      case 'string':
      case 'binary':
      case 'pair':
        for (let n = kind === 'pair' ? 2 : 1; n > 0; n--) {
          if (!need(2)) return { error: 'PUBLISH property cut short', rc: RC.malformedPacket };
          const l = b.readUInt16BE(p);
          p += 2;
          if (!need(l)) return { error: 'PUBLISH property cut short', rc: RC.malformedPacket };
          if (kind !== 'binary' && !wellFormed(b, p, p + l)) return { error: 'a PUBLISH property string is not well-formed UTF-8', rc: RC.malformedPacket };
          p += l;
        }
        break;
    }
    if (p > end) return { error: 'PUBLISH property cut short', rc: RC.malformedPacket };
  }
  return undefined;
}

/**
 * mqtt-packet's parser, shared by every connection of a protocol version: it is only ever given
 * one whole packet at a time and answers synchronously, so it holds no state between calls that
 * matters (a failed parse is reset by the next call). One per connection would cost each of
 * 50,000 idle clients an EventEmitter and a buffer list.
 */
class SharedParser {
  readonly #parser;
  readonly #settings: { protocolVersion: 4 | 5 };
  #out: Packet | undefined;
  #err: string | undefined;

  constructor(protocolVersion: 4 | 5) {
    this.#settings = { protocolVersion };
    this.#parser = mqttPacket.parser(this.#settings);
    this.#parser.on('packet', (p: Packet) => {
      this.#out = p;
    });
    this.#parser.on('error', (e: unknown) => {
      this.#err = e instanceof Error ? e.message : String(e);
    });
  }

  parse(bytes: Buffer): { packet?: Packet; error?: string } {
    this.#out = undefined;
    this.#err = undefined;
    // Whatever a previous packet left must not reach this one: mqtt-packet's reset keeps the read
    // position of a packet that failed halfway, and a parsed CONNECT replaces the parser's
    // settings with itself. Put all three back.
    const internals = this.#parser as unknown as { _resetState(): void; settings: object; _pos: number; error: unknown; _list: { length: number }; _stateCounter: number };
    // A clean parse leaves nothing behind; a reset (a new buffer list) only after one that did not.
    if (internals.error || internals._list.length > 0 || internals._stateCounter !== 0) internals._resetState();
    internals._pos = 0;
    internals.settings = this.#settings;
    this.#parser.parse(bytes);
    const r = { packet: this.#out as Packet | undefined, error: this.#err as string | undefined };
    this.#out = undefined;
    this.#err = undefined;
    return r.error !== undefined ? { error: r.error } : r.packet !== undefined ? { packet: r.packet } : {};
  }
}

const PARSERS = { 4: new SharedParser(4), 5: new SharedParser(5) } as const;

/** `b` from `start` on, in a buffer of its own; small payloads by a loop (no view, no native call). */
function copyOut(b: Buffer, start: number): Buffer {
  const n = b.length - start;
  if (n > 64) return Buffer.from(b.subarray(start));
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = b[start + i]!;
  return out;
}

type AckCmd = 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';
/** The acknowledgements by their whole first byte: flags 0000, PUBREL's 0010 (MQTT-3.6.1-1); any other goes to the full parser, which refuses it. */
const SHORT_ACK: ReadonlyMap<number, AckCmd> = new Map([
  [0x40, 'puback'],
  [0x50, 'pubrec'],
  [0x62, 'pubrel'],
  [0x70, 'pubcomp'],
]);

export class MqttCodec {
  /** 4 (3.1.1) until a CONNECT says otherwise. */
  version: ProtocolVersion = 4;

  setVersion(v: ProtocolVersion): void {
    this.version = v;
  }

  decode(frame: Frame): Decoded {
    const type = frame.header >> 4;
    if (frame.body.length === 2) {
      // The acknowledgement of every QoS 1 and 2 message, nearly always in its 4-byte form.
      const cmd = SHORT_ACK.get(frame.header);
      if (cmd !== undefined) return this.#shortAck(cmd, frame.body);
    }
    if (type === PUBLISH) {
      const fast = this.#decodePublish(frame);
      if (fast !== undefined) return fast;
    } else if ((type === CONNECT || type === SUBSCRIBE || type === UNSUBSCRIBE) && !stringsWellFormed(type, frame.body, this.version === 5)) {
      return { error: 'a string is not well-formed UTF-8 or holds U+0000', rc: RC.malformedPacket };
    }
    const { packet: p, error: err } = PARSERS[this.version === 5 ? 5 : 4].parse(frame.bytes);
    // mqtt-packet reports a few protocol errors (MQTT 5 §3.8.3) as parse errors.
    if (err !== undefined) return { error: err, rc: /QoS, must be <= 2|retain handling/i.test(err) ? RC.protocolError : RC.malformedPacket };
    if (p === undefined) return { error: 'incomplete packet', rc: RC.malformedPacket };
    if (p.cmd === 'publish') {
      // Reached only for v5 PUBLISH with properties: the topic still needs its byte check.
      const bad = this.#publishTopicBad(frame);
      if (bad) return bad;
      p.payload = Buffer.from(p.payload as Buffer);
    }
    return p;
  }

  /**
   * PUBACK, PUBREC, PUBREL or PUBCOMP of 2 bytes: the packet identifier alone (v5: reason code 0
   * implied, MQTT 5.0 §3.4.2.1). As mqtt-packet gives it, without its per-packet debug calls.
   */
  #shortAck(cmd: AckCmd, body: Buffer): Decoded {
    const messageId = body.readUInt16BE(0);
    return (this.version === 5 ? { cmd, messageId, length: 2, reasonCode: 0 } : { cmd, messageId, length: 2 }) as Packet;
  }

  /** PUBLISH without properties, read in place. undefined: let the full parser have it. */
  #decodePublish(frame: Frame): Decoded | undefined {
    const h = frame.header;
    const b = frame.body;
    const qos = (h >> 1) & 3;
    if (qos === 3) return { error: 'PUBLISH with both QoS bits set', rc: RC.malformedPacket };
    if (qos === 0 && h & 0x08) return { error: 'PUBLISH QoS 0 with DUP set', rc: RC.malformedPacket };
    if (b.length < 2) return { error: 'PUBLISH too short', rc: RC.malformedPacket };
    const tlen = b.readUInt16BE(0);
    let pos = 2 + tlen;
    if (pos > b.length) return { error: 'PUBLISH topic runs past the packet', rc: RC.malformedPacket };
    if (!wellFormed(b, 2, pos)) return { error: 'PUBLISH topic is not well-formed UTF-8 or holds U+0000', rc: RC.malformedPacket };
    let messageId: number | undefined;
    if (qos > 0) {
      if (pos + 2 > b.length) return { error: 'PUBLISH too short for its packet identifier', rc: RC.malformedPacket };
      messageId = b.readUInt16BE(pos);
      if (messageId === 0) return { error: 'PUBLISH with packet identifier 0', rc: RC.malformedPacket };
      pos += 2;
    }
    if (this.version === 5) {
      if (pos >= b.length) return { error: 'PUBLISH too short for its properties', rc: RC.malformedPacket };
      if (b[pos] !== 0) {
        const bad = checkPublishProps(b, pos);
        return bad === undefined ? undefined : { error: bad.error, rc: bad.rc };
      }
      pos++;
    }
    const packet: IPublishPacket = {
      cmd: 'publish',
      topic: b.toString('utf8', 2, 2 + tlen),
      // A copy: the message may outlive the read buffer (queued, retained), which it must not pin.
      payload: copyOut(b, pos),
      qos: qos as 0 | 1 | 2,
      dup: (h & 0x08) !== 0,
      retain: (h & 0x01) !== 0,
    };
    if (messageId !== undefined) packet.messageId = messageId;
    return packet;
  }

  #publishTopicBad(frame: Frame): DecodeError | undefined {
    const b = frame.body;
    const tlen = b.readUInt16BE(0);
    return wellFormed(b, 2, 2 + tlen) ? undefined : { error: 'PUBLISH topic is not well-formed UTF-8 or holds U+0000', rc: RC.malformedPacket };
  }

  encode(packet: Packet): Buffer {
    return mqttPacket.generate(packet, { protocolVersion: this.version });
  }
}

const ACK_TYPE = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 } as const;

/** A successful PUBACK/PUBREC/PUBREL/PUBCOMP (v5 may leave out reason code 0): four bytes. */
export function encodeAck(cmd: keyof typeof ACK_TYPE, messageId: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b[0] = ACK_TYPE[cmd];
  b[1] = 2;
  b.writeUInt16BE(messageId, 2);
  return b;
}

/**
 * A PUBLISH without properties (v3, or v5 with an empty property block), written directly.
 * The same bytes serve every subscriber that gets the message at QoS 0.
 */
export function encodePublish(v5: boolean, topic: string, payload: Buffer, qos: number, retain: boolean, dup: boolean, messageId: number): Buffer {
  const tlen = Buffer.byteLength(topic);
  const remaining = 2 + tlen + (qos > 0 ? 2 : 0) + (v5 ? 1 : 0) + payload.length;
  const lenBytes = remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4;
  const buf = Buffer.allocUnsafe(1 + lenBytes + remaining);
  buf[0] = 0x30 | (dup ? 0x08 : 0) | (qos << 1) | (retain ? 1 : 0);
  let pos = 1;
  let x = remaining;
  do {
    let byte = x % 128;
    x = Math.floor(x / 128);
    if (x > 0) byte |= 0x80;
    buf[pos++] = byte;
  } while (x > 0);
  buf.writeUInt16BE(tlen, pos);
  pos += 2;
  pos += buf.write(topic, pos, 'utf8');
  if (qos > 0) {
    buf.writeUInt16BE(messageId, pos);
    pos += 2;
  }
  if (v5) buf[pos++] = 0;
  payload.copy(buf, pos);
  return buf;
}
