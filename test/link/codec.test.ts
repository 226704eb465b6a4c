import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CodecError, decodeCall, decodeError, decodeReply, decodeSend, encodeCall, encodeError, encodeReply, encodeSend, type Encoded,
} from '../../src/link/codec.js';
import { FrameDecoder } from '../../src/link/framing.js';

/** Runs encoded parts through the frame decoder, as the receiving side does. */
function body(e: Encoded): Buffer {
  const d = new FrameDecoder(1 << 30);
  const out: Buffer[] = [];
  d.push(Buffer.concat(e.parts), (b) => out.push(b));
  assert.equal(out.length, 1);
  assert.equal(Buffer.concat(e.parts).length, e.bytes);
  return out[0]!;
}

test('Buffers travel raw, other values through v8, channels in utf8', () => {
  const big = Buffer.alloc(70_000, 3);
  const e = encodeSend('chän', big);
  assert.equal(e.parts.at(-1), big, 'a large Buffer is not copied on the way out');
  const m = decodeSend(body(e));
  assert.equal(m.channel, 'chän');
  assert.deepEqual(m.payload, big);
  const v = { a: [1, 'x', null], m: new Map([[1n, new Set([2])]]), d: new Date(5), small: Buffer.from('hi') };
  assert.deepEqual(decodeSend(body(encodeSend('c', v))).payload, v);
  assert.deepEqual(decodeSend(body(encodeSend('c', Buffer.alloc(0)))).payload, Buffer.alloc(0));
  assert.equal(decodeSend(body(encodeSend('c', undefined))).payload, undefined);
});

test('calls, replies and errors keep their ids', () => {
  const c = decodeCall(body(encodeCall(0xfffffffe, 'q', [1, 2])));
  assert.deepEqual(c, { id: 0xfffffffe, channel: 'q', payload: [1, 2] });
  assert.deepEqual(decodeReply(body(encodeReply(7, 'ok'))), { id: 7, value: 'ok' });
  assert.deepEqual(decodeError(body(encodeError(8, 'no such table'))), { id: 8, message: 'no such table' });
});

test('truncated or unknown encodings are errors, not crashes', () => {
  const b = body(encodeSend('chan', 'x'));
  assert.throws(() => decodeSend(b.subarray(0, 4)), CodecError);
  const bad = Buffer.from(b);
  bad[1 + 2 + 4] = 9;
  assert.throws(() => decodeSend(bad), /unknown payload encoding/);
  assert.throws(() => encodeSend('c', () => 1), /could not be cloned/);
});
