import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDecoder, FrameTooLargeError, encodeFrame } from '../../src/dist/framing.js';

test('decodes frames split at every byte boundary and merged in one chunk', () => {
  const frames = [encodeFrame(1, Buffer.from('hello')), encodeFrame(2, Buffer.alloc(0)), encodeFrame(3, Buffer.alloc(1000, 7))];
  const all = Buffer.concat(frames);
  for (const step of [1, 2, 3, 7, 100, all.length]) {
    const d = new FrameDecoder(2000);
    const got: Buffer[] = [];
    for (let i = 0; i < all.length; i += step) d.push(all.subarray(i, i + step), (b) => got.push(Buffer.from(b)));
    assert.equal(got.length, 3, `step ${step}`);
    assert.deepEqual(got[0], Buffer.from([1, ...Buffer.from('hello')]));
    assert.deepEqual(got[1], Buffer.from([2]));
    assert.equal(got[2]!.length, 1001);
    assert.equal(d.pending, 0);
  }
});

test('an oversized header is refused before its body is buffered', () => {
  const d = new FrameDecoder(512);
  const h = Buffer.alloc(4);
  h.writeUInt32BE(513, 0);
  assert.throws(() => d.push(h, () => undefined), (e: unknown) => e instanceof FrameTooLargeError && e.size === 513);
});

test('requeue puts decoded frames back in front of a partly read one', () => {
  const d = new FrameDecoder(100);
  const a = encodeFrame(1, Buffer.from('a'));
  const b = encodeFrame(2, Buffer.from('bbbb'));
  const got: Buffer[] = [];
  d.push(Buffer.concat([a, b.subarray(0, 6)]), (f) => got.push(f));
  assert.equal(got.length, 1);
  d.requeue(got);
  const again: string[] = [];
  d.push(b.subarray(6), (f) => again.push(f.toString('latin1')));
  assert.deepEqual(again, ['\x01a', '\x02bbbb']);
});
