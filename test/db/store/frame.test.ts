import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FRAME_HEADER_BYTES, checkHeader, encodeFrame, payloadMatches } from '../../../src/db/store/frame.js';

test('a frame round-trips: header verifies, payload checksum matches', () => {
  const payload = Buffer.from('hello store');
  const f = encodeFrame(payload);
  assert.equal(f.length, FRAME_HEADER_BYTES + payload.length);
  const h = checkHeader(f.subarray(0, FRAME_HEADER_BYTES));
  assert.ok(h.ok);
  assert.equal(h.length, payload.length);
  assert.ok(payloadMatches(f.subarray(FRAME_HEADER_BYTES), h.crc));
});

test('a damaged length is detected by the header checksum, not trusted', () => {
  const f = encodeFrame(Buffer.from('x'.repeat(100)));
  f[1] = f[1]! ^ 0x40;
  const h = checkHeader(f.subarray(0, FRAME_HEADER_BYTES));
  assert.equal(h.ok, false);
});

test('an all-zero header is not a valid frame', () => {
  assert.equal(checkHeader(Buffer.alloc(FRAME_HEADER_BYTES)).ok, false);
});

test('a flipped payload byte fails the payload checksum', () => {
  const f = encodeFrame(Buffer.from('abcdef'));
  const h = checkHeader(f.subarray(0, FRAME_HEADER_BYTES));
  assert.ok(h.ok);
  f[FRAME_HEADER_BYTES + 2] = f[FRAME_HEADER_BYTES + 2]! ^ 1;
  assert.equal(payloadMatches(f.subarray(FRAME_HEADER_BYTES), h.crc), false);
});

test('empty payloads are refused', () => {
  assert.throws(() => encodeFrame(Buffer.alloc(0)), RangeError);
});
