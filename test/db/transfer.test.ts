// The join stream's pure parts: the chunk header, and how records are cut into frames and chunks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeChunk, encodeChunkHeader, nextChunk, type ChunkCursor } from '../../src/db/transfer.js';
import type { DbRecord } from '../../src/db/record.js';

test('a chunk header round-trips and a chunk that is not one is refused', () => {
  const h = { id: 'c2c0f3b4-5a0d-4f53-9e43-b1d54c2c5f41', seq: 7, records: 512, total: 111_120, last: true };
  const frames = Buffer.from('frames');
  const c = decodeChunk(Buffer.concat([encodeChunkHeader(h), frames]));
  assert.deepEqual(c.header, h);
  assert.deepEqual(c.frames, frames);
  assert.equal(decodeChunk(encodeChunkHeader({ ...h, last: false })).header.last, false);
  assert.throws(() => decodeChunk({ records: [] }), /must be bytes/);
  assert.throws(() => decodeChunk(Buffer.concat([Buffer.from([9]), encodeChunkHeader(h).subarray(1)])), /version 9/);
  assert.throws(() => decodeChunk(encodeChunkHeader(h).subarray(0, 20)), /truncated/);
});

const recs = (sizes: readonly number[]): DbRecord[] => sizes.map((n, i) => ({ table: 't', key: `k${i}`, value: n, meta: { hlc: { t: i, c: 0, n: 'a' } } }));
/** A stand-in for the engine: a record "encodes" to as many bytes as its value says. */
const encode = (rs: readonly DbRecord[]): Buffer[] => [Buffer.alloc(rs.reduce((s, r) => s + (r.value as number), 0) + 1)];
const lim = { chunkBytes: 64 * 1024, frameBytes: 16 * 1024, maxFrameRecords: 512 };

function cutAll(records: readonly DbRecord[]): Array<{ records: number; bytes: number; frames: number }> {
  const cur: ChunkCursor = { pos: 0, perFrame: 512 };
  const out: Array<{ records: number; bytes: number; frames: number }> = [];
  while (cur.pos < records.length) {
    const c = nextChunk(records, cur, encode, lim);
    out.push({ records: c.records, bytes: c.bytes, frames: c.parts.length });
  }
  return out;
}

test('chunks cover every record once, in order, and end once they hold the chunk size', () => {
  const sizes = Array.from({ length: 5000 }, (_, i) => [10, 200, 3000, 40][i % 4]!);
  const chunks = cutAll(recs(sizes));
  assert.equal(chunks.reduce((s, c) => s + c.records, 0), 5000);
  for (const c of chunks.slice(0, -1)) assert.ok(c.bytes >= lim.chunkBytes && c.bytes < lim.chunkBytes + 4 * lim.frameBytes, `chunk of ${c.bytes} bytes`);
});

test('records per frame follow the sizes: small records fill frames of up to 512, large ones few per frame', () => {
  const small = cutAll(recs(Array.from({ length: 2000 }, () => 10)));
  assert.ok(small[0]!.records / small[0]!.frames > 400, `small records: ${JSON.stringify(small[0])}`);
  // The first frame is cut down from 512 records; after it, frames aim at frameBytes (2 of 8 KB).
  const large = cutAll(recs(Array.from({ length: 200 }, () => 8000)));
  assert.ok(large[1]!.records / large[1]!.frames <= 3, `8 KB records: ${JSON.stringify(large[1])}`);
});

test('a run of large records after small ones is split, not sent as one oversized frame', () => {
  const sizes = [...Array.from({ length: 600 }, () => 10), ...Array.from({ length: 600 }, () => 60_000)];
  const cur: ChunkCursor = { pos: 0, perFrame: 512 };
  const frameSizes: number[] = [];
  const spy = (rs: readonly DbRecord[]): Buffer[] => {
    const b = encode(rs);
    frameSizes.push(b[0]!.length);
    return b;
  };
  const records = recs(sizes);
  while (cur.pos < records.length) nextChunk(records, cur, spy, lim);
  // Frames that came out over 4x the aim were encoded again with half the records; those kept are within it
  // unless a single record is larger.
  assert.equal(cur.pos, records.length);
  assert.ok(frameSizes.some((n) => n > 4 * lim.frameBytes), 'a too-large frame was tried');
  const biggestKept = Math.max(...frameSizes.slice(-20));
  assert.ok(biggestKept <= 60_001 * 2, `kept frames of ${biggestKept} bytes`);
});
