import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDecoder, FrameTooLargeError, encodeFrame } from '../../src/link/framing.js';
import { prng } from '../helpers/prng.js';

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

test('an oversized header is left unread, so a reader with a larger limit takes it over intact', () => {
  // The handshake reads with a small limit; the peer's first frame after authentication can
  // arrive in the same chunk as the handshake's last frame.
  const small = encodeFrame(1, Buffer.from('last handshake frame'));
  const big = encodeFrame(18, Buffer.alloc(2000, 7));
  const d = new FrameDecoder(512);
  const seen: Buffer[] = [];
  for (const chunk of [Buffer.concat([small, big.subarray(0, 2)]), big.subarray(2, 700)]) {
    try {
      d.push(chunk, (b) => seen.push(b));
    } catch (e) {
      assert.ok(e instanceof FrameTooLargeError);
      assert.equal(e.size, 2001);
    }
  }
  assert.equal(seen.length, 1, 'the handshake frame was delivered');
  d.requeue([]);
  d.maxFrame = 64 * 1024 * 1024;
  const after: Buffer[] = [];
  d.push(big.subarray(700), (b) => after.push(b));
  assert.equal(after.length, 1);
  assert.equal(after[0]![0], 18);
  assert.equal(after[0]!.length, 2001);
});

test('frames larger than a read chunk come out intact and in order, whatever the chunking', () => {
  const bodies = [Buffer.alloc(100_000), Buffer.from('small'), Buffer.alloc(16 * 1024), Buffer.alloc(70_000), Buffer.from('x')];
  bodies.forEach((b, i) => {
    if (b.length > 10) for (let j = 0; j < b.length; j++) b[j] = (i * 31 + j) & 0xff;
  });
  const all = Buffer.concat(bodies.map((b, i) => encodeFrame(i + 1, b)));
  const rnd = prng(4);
  for (let run = 0; run < 30; run++) {
    const d = new FrameDecoder(1 << 20);
    const got: Buffer[] = [];
    for (let i = 0; i < all.length; ) {
      const n = 1 + Math.floor(rnd() * (run % 2 === 0 ? 70_000 : 9000));
      d.push(all.subarray(i, i + n), (b) => got.push(b));
      i += n;
    }
    assert.equal(got.length, bodies.length, `run ${run}`);
    got.forEach((g, i) => {
      assert.equal(g[0], i + 1);
      assert.ok(g.subarray(1).equals(bodies[i]!), `run ${run}, frame ${i}`);
    });
    assert.equal(d.pending, 0);
  }
});

test('requeue in the middle of a frame spanning chunks keeps what has arrived of it', () => {
  const small = encodeFrame(1, Buffer.from('a'));
  const big = encodeFrame(2, Buffer.alloc(40_000, 9));
  const d = new FrameDecoder(1 << 20);
  const got: Buffer[] = [];
  d.push(Buffer.concat([small, big.subarray(0, 30_000)]), (f) => got.push(f));
  assert.equal(got.length, 1);
  assert.equal(d.pending, 30_000 - 4);
  d.requeue(got);
  const again: Buffer[] = [];
  d.push(big.subarray(30_000), (f) => again.push(f));
  assert.equal(again.length, 2);
  assert.equal(again[0]!.toString('latin1'), '\x01a');
  assert.ok(again[1]!.equals(big.subarray(4)));
});

/** Plays the kernel for direct reads: copies up to `max()` bytes of `src` into each readBuffer(). */
function readAll(d: FrameDecoder, src: Buffer, max: () => number, onFrame: (b: Buffer) => void): { buffer: ArrayBufferLike; n: number }[] {
  const reads: { buffer: ArrayBufferLike; n: number }[] = [];
  for (let i = 0; i < src.length; ) {
    const target = d.readBuffer();
    const n = Math.min(target.length, src.length - i, max());
    src.copy(target, 0, i, i + n);
    reads.push({ buffer: target.buffer, n });
    i += n;
    d.wrote(n, onFrame);
  }
  return reads;
}

test('direct reads: frames of every size come out intact, in order, and are never overwritten later', () => {
  const rnd = prng(11);
  const sizes = Array.from({ length: 400 }, (_, i) => (i % 7 === 0 ? Math.floor(rnd() * 200_000) : Math.floor(rnd() * 300)));
  const bodies = sizes.map((n, i) => Buffer.from(Array.from({ length: n }, (_, j) => (i * 7 + j) & 0xff)));
  const all = Buffer.concat(bodies.map((b, i) => encodeFrame(i & 0xff, b)));
  for (const [label, max] of [['whole buffers', () => Infinity], ['short reads', () => 1 + Math.floor(rnd() * 5000)], ['tiny reads', () => 1 + Math.floor(rnd() * 7)]] as const) {
    const d = new FrameDecoder(1 << 20);
    const got: Buffer[] = [];
    readAll(d, all, max, (b) => got.push(b));
    // Checked only after every read: a frame handed out must not share a buffer that is read into again.
    assert.equal(got.length, bodies.length, label);
    got.forEach((g, i) => {
      assert.equal(g[0], i & 0xff, `${label}: frame ${i}`);
      assert.ok(g.subarray(1).equals(bodies[i]!), `${label}: frame ${i} intact`);
    });
    assert.equal(d.pending, 0, label);
  }
});

test('direct reads: a big body is read straight into the buffer it is handed out in', () => {
  const body = Buffer.alloc(65_536, 3);
  const all = Buffer.concat(Array.from({ length: 40 }, () => encodeFrame(5, body)));
  const d = new FrameDecoder(1 << 20);
  const got: Buffer[] = [];
  const reads = readAll(d, all, () => Infinity, (b) => got.push(b));
  assert.equal(got.length, 40);
  const homes = new Set(got.map((g) => g.buffer));
  const inPlace = reads.filter((r) => homes.has(r.buffer)).reduce((s, r) => s + r.n, 0);
  // Only the first frame's body goes mostly through the read buffer; after that, a short peek
  // per frame brings its header (and the first bytes of its body).
  assert.ok(inPlace / all.length > 0.95, `${inPlace} of ${all.length} bytes read in place`);
});

test('direct reads take over from a handshake reader that stopped at an oversized header', () => {
  const last = encodeFrame(1, Buffer.from('last handshake frame'));
  const big = encodeFrame(18, Buffer.alloc(100_000, 7));
  const src = Buffer.concat([last, big]);
  const d = new FrameDecoder(512);
  const seen: Buffer[] = [];
  const target = d.readBuffer();
  const first = Math.min(target.length, 3000);
  src.copy(target, 0, 0, first);
  assert.throws(() => d.wrote(first, (b) => seen.push(b)), FrameTooLargeError);
  assert.equal(seen.length, 1);
  d.requeue([]);
  d.maxFrame = 1 << 20;
  const after: Buffer[] = [];
  d.push(Buffer.alloc(0), (b) => after.push(b));
  readAll(d, src.subarray(first), () => 10_000, (b) => after.push(b));
  assert.equal(after.length, 1);
  assert.ok(after[0]!.equals(big.subarray(4)));
});
