// Cuts the byte stream of one connection into whole MQTT packets (fixed header + body), so the
// decoder only ever sees complete packets and a declared length over the limit is refused as
// soon as its length bytes arrive: a 256 MB length prefix costs nothing but the five bytes.
// Pure: bytes in, frames or one error out.

export type FrameError =
  /** The remaining length is encoded in more than four bytes (MQTT-1.5.5 / 2.2.3). */
  | 'malformed_length'
  /** The whole packet would exceed the allowed maximum. */
  | 'too_large';

export interface Frame {
  /** The first byte: packet type and flags. */
  readonly header: number;
  /** The packet without its fixed header. */
  readonly body: Buffer;
  /** The whole packet as received (fixed header included). */
  readonly bytes: Buffer;
}

const EMPTY = Buffer.alloc(0);

export class FrameReader {
  #buf: Buffer = EMPTY;
  #error: FrameError | undefined;

  /** `maxPacketSize`: the largest whole packet accepted, fixed header included. */
  constructor(public maxPacketSize: number) {}

  /** Bytes buffered but not yet a whole packet. */
  get pending(): number {
    return this.#buf.length;
  }

  /**
   * Appends `chunk` and calls `onFrame` for every whole packet now available, in order. Returns
   * an error (and keeps returning it) once the stream cannot be framed any more.
   */
  push(chunk: Buffer, onFrame: (frame: Frame) => boolean | void): FrameError | undefined {
    if (this.#error) return this.#error;
    const buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    let pos = 0;
    while (pos < buf.length) {
      // The remaining length: 1 to 4 bytes, 7 bits each, high bit = more.
      let len = 0;
      let mul = 1;
      let i = pos + 1;
      let complete = false;
      for (let n = 0; n < 4 && i < buf.length; n++, i++) {
        const b = buf[i]!;
        len += (b & 0x7f) * mul;
        mul *= 128;
        if ((b & 0x80) === 0) {
          complete = true;
          i++;
          break;
        }
      }
      if (!complete) {
        if (i - pos - 1 >= 4) return this.#fail('malformed_length');
        break; // the length bytes are not all here yet
      }
      const headerLen = i - pos;
      const total = headerLen + len;
      if (total > this.maxPacketSize) return this.#fail('too_large');
      if (pos + total > buf.length) break;
      // A read that holds exactly one packet (the usual case below full load) is that packet.
      const bytes = pos === 0 && total === buf.length ? buf : buf.subarray(pos, pos + total);
      pos += total;
      // A stop (false) leaves the rest unread: the connection is closing.
      if (onFrame({ header: bytes[0]!, body: bytes.subarray(headerLen), bytes }) === false) {
        this.#buf = EMPTY;
        return undefined;
      }
    }
    // Keep only the unread tail; copied when small so a big chunk is not pinned by it.
    const rest = buf.subarray(pos);
    this.#buf = rest.length === 0 ? EMPTY : rest.length < 4096 ? Buffer.from(rest) : rest;
    return undefined;
  }

  #fail(e: FrameError): FrameError {
    this.#error = e;
    this.#buf = EMPTY;
    return e;
  }
}
