// Length-prefixed frames: u32 big-endian body length, then the body (first byte = message kind).
// Pure: no sockets; the decoder is fed chunks and hands out whole bodies.

export class FrameTooLargeError extends Error {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`frame of ${size} bytes exceeds the limit of ${limit} bytes`);
    this.name = 'FrameTooLargeError';
  }
}

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Body length of the frame being read, or -1 while reading its header. */
  private need = -1;

  constructor(public maxFrame: number) {}

  /** Bytes received but not yet handed out as frames. */
  get pending(): number {
    return this.buffered;
  }

  /**
   * Calls onFrame for each complete body; throws FrameTooLargeError on an oversized header.
   * An oversized header is left unread, so that a reader with a larger limit can take over: the
   * handshake reads with a 512-byte limit, and the first frame after it (sent by the peer as soon
   * as it has authenticated) may arrive in the same chunk as the handshake's last frame.
   */
  push(chunk: Buffer, onFrame: (body: Buffer) => void): void {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    while (true) {
      if (this.need < 0) {
        if (this.buffered < 4) return;
        const len = this.peekLength();
        if (len > this.maxFrame) throw new FrameTooLargeError(len, this.maxFrame);
        this.take(4);
        this.need = len;
      }
      if (this.buffered < this.need) return;
      const body = this.take(this.need);
      this.need = -1;
      onFrame(body);
    }
  }

  /** Puts already-decoded bodies back in front, in order (a handover between readers). */
  requeue(bodies: readonly Buffer[]): void {
    const front: Buffer[] = [];
    for (const b of bodies) {
      const h = Buffer.allocUnsafe(4);
      h.writeUInt32BE(b.length, 0);
      front.push(h, b);
    }
    if (this.need >= 0) {
      // The header of the frame being read was consumed: put it back too.
      const h = Buffer.allocUnsafe(4);
      h.writeUInt32BE(this.need, 0);
      front.push(h);
      this.need = -1;
    }
    for (const b of front) this.buffered += b.length;
    this.chunks.unshift(...front);
  }

  /** The u32 length at the front of the buffered bytes, without consuming it (buffered >= 4). */
  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readUInt32BE(0);
    const h = Buffer.allocUnsafe(4);
    let off = 0;
    for (const c of this.chunks) {
      off += c.copy(h, off, 0, Math.min(c.length, 4 - off));
      if (off === 4) break;
    }
    return h.readUInt32BE(0);
  }

  /** The first n buffered bytes; a view when they sit in one chunk, else one copy. */
  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0]!;
    if (n === 0) return Buffer.alloc(0);
    if (first.length === n) {
      this.chunks.shift();
      return first;
    }
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }
}

/** The 5-byte header (length + kind) of a frame whose body is kind + `rest` bytes. */
export function frameHeader(kind: number, restLength: number): Buffer {
  const h = Buffer.allocUnsafe(5);
  h.writeUInt32BE(restLength + 1, 0);
  h[4] = kind;
  return h;
}

/** A whole frame in one buffer (handshake and small control frames). */
export function encodeFrame(kind: number, rest: Buffer): Buffer {
  return Buffer.concat([frameHeader(kind, rest.length), rest]);
}
