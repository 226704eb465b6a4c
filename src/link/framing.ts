// Length-prefixed frames: u32 big-endian body length, then the body (first byte = message kind).
// Pure: no sockets; the decoder is fed chunks (or told what was read into the buffer it chose)
// and hands out whole bodies.

export class FrameTooLargeError extends Error {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`frame of ${size} bytes exceeds the limit of ${limit} bytes`);
    this.name = 'FrameTooLargeError';
  }
}

/** Where reads land between frames, when the decoder chooses the buffers (readBuffer()). */
const READ_SIZE = 64 * 1024;
/** Bodies at least this big are read straight into their own buffer instead of through READ_SIZE. */
const DIRECT_MIN = READ_SIZE / 2;
/**
 * After a body read straight into its own buffer, the next read stops here: the next frame is
 * likely big too, and its header should not pull most of its body through the read buffer.
 */
const PEEK_SIZE = 1024;

export class FrameDecoder {
  private chunks: Buffer[] = [];
  /** Bytes of chunks[0] already consumed (a read offset instead of re-slicing the chunk). */
  private off = 0;
  private buffered = 0;
  /** Body length of the frame being read, or -1 while reading its header. */
  private need = -1;

  /** The read buffer of direct reads (readBuffer/wrote); replaced when handed out as a chunk. */
  private scratch: Buffer | undefined;
  /** A big body being read straight from the socket (direct reads), and the bytes it has. */
  private body: Buffer | undefined;
  private bodyHave = 0;
  private peekNext = false;

  constructor(public maxFrame: number) {}

  /** Bytes received but not yet handed out as frames. */
  get pending(): number {
    return this.buffered + (this.body ? this.bodyHave : 0);
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
        this.skip(4);
        this.need = len;
      }
      if (this.buffered < this.need) return;
      const body = this.take(this.need);
      this.need = -1;
      onFrame(body);
    }
  }

  /**
   * Direct reads: where the next read should put its bytes. Between frames, a read buffer whose
   * bytes are copied out (or handed over whole); inside a big body, the rest of that body, so the
   * kernel copies it to its final place and nothing else does (as Erlang's packet mode does).
   */
  readBuffer(): Buffer {
    if (this.body) return this.body.subarray(this.bodyHave);
    this.scratch ??= Buffer.allocUnsafe(READ_SIZE);
    return this.peekNext ? this.scratch.subarray(0, PEEK_SIZE) : this.scratch;
  }

  /** Direct reads: n bytes were read into the buffer readBuffer() returned last. */
  wrote(n: number, onFrame: (body: Buffer) => void): void {
    const body = this.body;
    if (body) {
      this.bodyHave += n;
      if (this.bodyHave < body.length) return;
      this.body = undefined;
      this.need = -1;
      this.peekNext = true;
      onFrame(body);
      return;
    }
    this.peekNext = false;
    const scratch = this.scratch!;
    let chunk: Buffer;
    if (n > READ_SIZE / 2) {
      // Mostly full: hand the buffer over (frames are views of it) and read into a new one.
      chunk = scratch.subarray(0, n);
      this.scratch = undefined;
    } else {
      // Mostly empty: copy out what was read and keep the buffer.
      chunk = Buffer.from(scratch.subarray(0, n));
    }
    this.push(chunk, onFrame);
    if (this.need >= DIRECT_MIN && this.buffered < this.need) {
      // A big body has begun: move its first bytes into its own buffer, read the rest there.
      const b = Buffer.allocUnsafe(this.need);
      this.bodyHave = this.buffered;
      let at = 0;
      for (const c of this.chunks) {
        at += c.copy(b, at, this.off);
        this.off = 0;
      }
      this.chunks = [];
      this.buffered = 0;
      this.body = b;
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
    if (this.off > 0) {
      this.chunks[0] = this.chunks[0]!.subarray(this.off);
      this.off = 0;
    }
    for (const b of front) this.buffered += b.length;
    this.chunks.unshift(...front);
  }

  /** The u32 length at the front of the buffered bytes, without consuming it (buffered >= 4). */
  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.length - this.off >= 4) return first.readUInt32BE(this.off);
    const h = Buffer.allocUnsafe(4);
    let got = 0;
    let from = this.off;
    for (const c of this.chunks) {
      got += c.copy(h, got, from, Math.min(c.length, from + 4 - got));
      from = 0;
      if (got === 4) break;
    }
    return h.readUInt32BE(0);
  }

  /** Consumes n buffered bytes without handing them out. */
  private skip(n: number): void {
    this.buffered -= n;
    while (n > 0) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length - this.off, n);
      n -= k;
      this.advance(c, k);
    }
  }

  /** The first n buffered bytes; a view when they sit in one chunk, else one copy. */
  private take(n: number): Buffer {
    this.buffered -= n;
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    if (first.length - this.off >= n) {
      const body = this.off === 0 && first.length === n ? first : first.subarray(this.off, this.off + n);
      this.advance(first, n);
      return body;
    }
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length - this.off, n - got);
      c.copy(out, got, this.off, this.off + k);
      got += k;
      this.advance(c, k);
    }
    return out;
  }

  /** Moves the read offset k bytes into chunks[0] (= c), dropping the chunk once it is used up. */
  private advance(c: Buffer, k: number): void {
    this.off += k;
    if (this.off === c.length) {
      this.chunks.shift();
      this.off = 0;
    }
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
