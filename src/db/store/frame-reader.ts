// Sequential reader of framed files (logs, snapshots) with bounded memory: reads the file in
// large chunks and hands out one frame at a time, reporting exactly how and where it stops.
import type { FileHandle } from 'node:fs/promises';
import { FRAME_HEADER_BYTES, checkHeader, payloadMatches } from './frame.js';

const CHUNK_BYTES = 4 << 20;

export type FrameRead =
  | { readonly kind: 'frame'; readonly offset: number; readonly payload: Buffer }
  /** Clean end: the previous frame ended exactly at the end of the file. */
  | { readonly kind: 'end'; readonly offset: number }
  /** The file ends inside a frame (header or payload): what an interrupted append leaves. */
  | { readonly kind: 'truncated'; readonly offset: number; readonly have: number; readonly want: number }
  /** A complete frame that fails its checksum. */
  | { readonly kind: 'damaged'; readonly offset: number; readonly reason: string };

export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  /** File offset of buf[0]. */
  private bufStart: number;
  private pos: number;

  constructor(
    private readonly fh: FileHandle,
    start: number,
    private readonly size: number,
  ) {
    this.bufStart = start;
    this.pos = start;
  }

  /** Offset of the next frame (= end of the last good one). */
  get offset(): number {
    return this.pos;
  }

  async next(): Promise<FrameRead> {
    const offset = this.pos;
    if (offset === this.size) return { kind: 'end', offset };
    if (this.size - offset < FRAME_HEADER_BYTES) return { kind: 'truncated', offset, have: this.size - offset, want: FRAME_HEADER_BYTES };
    const header = await this.bytes(offset, FRAME_HEADER_BYTES);
    const h = checkHeader(header);
    if (!h.ok) return { kind: 'damaged', offset, reason: h.reason };
    const want = FRAME_HEADER_BYTES + h.length;
    if (this.size - offset < want) return { kind: 'truncated', offset, have: this.size - offset, want };
    const payload = await this.bytes(offset + FRAME_HEADER_BYTES, h.length);
    if (!payloadMatches(payload, h.crc)) return { kind: 'damaged', offset, reason: `checksum mismatch in a frame of ${h.length} bytes` };
    this.pos = offset + want;
    return { kind: 'frame', offset, payload };
  }

  /** true when every byte from `from` to the end of the file is zero (a tail the filesystem zero-filled). */
  async zeroTail(from: number): Promise<boolean> {
    for (let at = from; at < this.size; ) {
      const n = Math.min(CHUNK_BYTES, this.size - at);
      const chunk = await this.bytes(at, n);
      if (chunk.some((b) => b !== 0)) return false;
      at += n;
    }
    return true;
  }

  /** `n` bytes at file offset `at`, from the buffer when possible. */
  private async bytes(at: number, n: number): Promise<Buffer> {
    const end = this.bufStart + this.buf.length;
    if (at >= this.bufStart && at + n <= end) return this.buf.subarray(at - this.bufStart, at - this.bufStart + n);
    const len = Math.min(Math.max(n, CHUNK_BYTES), this.size - at);
    const fresh = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const { bytesRead } = await this.fh.read(fresh, got, len - got, at + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got < n) throw new Error(`short read at offset ${at + got}: the file shrank while being read`);
    this.buf = fresh.subarray(0, got);
    this.bufStart = at;
    return this.buf.subarray(0, n);
  }
}
