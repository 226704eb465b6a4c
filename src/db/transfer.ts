// The database streamed to a joining node, in chunks: each is the storage engine's own encoding of
// a run of records (checksummed frames, which the joiner writes to disk as they are) behind a
// small header. A chunk travels as raw bytes on the link, so nothing wraps or copies it (pure).
//
//   u8 version | u8 flags (1: last chunk) | u32 seq | u32 records in this chunk
//   | u32 records in the whole copy | u8 id length | id (utf8) | frames
import type { DbRecord } from './record.js';

const VERSION = 1;
const LAST = 1;
const FIXED_BYTES = 1 + 1 + 4 + 4 + 4 + 1;

export interface ChunkHeader {
  /** The copy this chunk belongs to (the seed's session). */
  readonly id: string;
  /** 0 for the first chunk, then one more for each. */
  readonly seq: number;
  readonly records: number;
  /** Records in the whole copy. */
  readonly total: number;
  readonly last: boolean;
}

export function encodeChunkHeader(h: ChunkHeader): Buffer {
  const id = Buffer.from(h.id, 'utf8');
  if (id.length > 255) throw new RangeError('snapshot id longer than 255 bytes');
  const b = Buffer.allocUnsafe(FIXED_BYTES + id.length);
  b[0] = VERSION;
  b[1] = h.last ? LAST : 0;
  b.writeUInt32BE(h.seq, 2);
  b.writeUInt32BE(h.records, 6);
  b.writeUInt32BE(h.total, 10);
  b[14] = id.length;
  id.copy(b, FIXED_BYTES);
  return b;
}

/** Splits a received chunk into its header and its frames; throws saying what is wrong. */
export function decodeChunk(buf: unknown): { header: ChunkHeader; frames: Buffer } {
  if (!Buffer.isBuffer(buf) || buf.length < FIXED_BYTES) throw new Error('a snapshot chunk must be bytes (is the other node of an older version?)');
  if (buf[0] !== VERSION) throw new Error(`snapshot chunk of version ${String(buf[0])}, this node reads version ${VERSION}`);
  const idEnd = FIXED_BYTES + buf[14]!;
  if (idEnd > buf.length) throw new Error('truncated snapshot chunk header');
  const header: ChunkHeader = {
    id: buf.toString('utf8', FIXED_BYTES, idEnd),
    seq: buf.readUInt32BE(2),
    records: buf.readUInt32BE(6),
    total: buf.readUInt32BE(10),
    last: (buf[1]! & LAST) !== 0,
  };
  return { header, frames: buf.subarray(idEnd) };
}

export interface ChunkLimits {
  /** A chunk ends once its frames reach this many bytes. */
  readonly chunkBytes: number;
  /** Frames aim at this many bytes: records per frame follow the last frame's bytes per record. */
  readonly frameBytes: number;
  readonly maxFrameRecords: number;
}

export interface ChunkCursor {
  /** Next record to send. */
  pos: number;
  /** Records in the next frame (adapted as frames are encoded). */
  perFrame: number;
}

/**
 * Encodes records from `cur.pos` into frames until the chunk holds `chunkBytes` or the records
 * end, advancing the cursor; returns the frames' parts, their bytes and how many records. A frame
 * that comes out much larger than aimed for (a run of large values) is encoded again with half
 * the records, so a chunk stays well within a link frame unless a single record is that large.
 */
export function nextChunk(records: readonly DbRecord[], cur: ChunkCursor, encode: (rs: readonly DbRecord[]) => Buffer[], lim: ChunkLimits): { parts: Buffer[]; bytes: number; records: number } {
  const parts: Buffer[] = [];
  let bytes = 0;
  const start = cur.pos;
  while (cur.pos < records.length && bytes < lim.chunkBytes) {
    let n = Math.max(1, Math.min(cur.perFrame, records.length - cur.pos));
    let frame = encode(records.slice(cur.pos, cur.pos + n));
    let size = frame.reduce((s, b) => s + b.length, 0);
    while (n > 1 && size > 4 * lim.frameBytes) {
      n = n >> 1;
      frame = encode(records.slice(cur.pos, cur.pos + n));
      size = frame.reduce((s, b) => s + b.length, 0);
    }
    for (const b of frame) parts.push(b);
    bytes += size;
    cur.pos += n;
    cur.perFrame = Math.max(1, Math.min(lim.maxFrameRecords, Math.round((lim.frameBytes * n) / size)));
  }
  return { parts, bytes, records: cur.pos - start };
}
