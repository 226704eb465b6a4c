import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeForward, encodeForward } from '../../src/router/forward-codec.js';
import type { ForwardMsg, WireMessage } from '../../src/router/protocol.js';
import { prng } from '../helpers/prng.js';

const plain: WireMessage = { topic: 'a/b', payload: Buffer.from('hello'), qos: 0, retain: false, from: 'c1', timestamp: 1796580000123 };
const full: WireMessage = {
  topic: 'ünïcødé/🚀/x',
  payload: Buffer.alloc(70_000, 7),
  qos: 2,
  retain: true,
  from: '',
  timestamp: 1796580000456.5,
  expiresAt: 1796580060000,
  props: { payloadFormatIndicator: true, contentType: 'text/plain', responseTopic: 'r/1', correlationData: Buffer.from([1, 2, 3]), userProperties: { a: '1', b: ['2', '3'] } },
  target: ['g', 'sensors/+', 'client-9'],
};

test('a batch comes back as it went: every field, optional parts present or not', () => {
  for (const b of [
    { epoch: 'e1', msgs: [] },
    { epoch: 'e1', msgs: [plain] },
    { epoch: 'e2', seq: 7, base: 3, msgs: [plain, full, { ...plain, qos: 1 as const }] },
  ] satisfies ForwardMsg[]) {
    assert.deepEqual(decodeForward(encodeForward(b)), b);
  }
});

test('anything but a whole batch is refused, never thrown: truncated, trailing bytes, another version, a bad QoS, random bytes', () => {
  const good = encodeForward({ epoch: 'e', seq: 1, base: 1, msgs: [plain, full] });
  for (let n = 0; n < good.length; n += 97) assert.equal(decodeForward(good.subarray(0, n)), undefined, `truncated to ${n}`);
  assert.equal(decodeForward(Buffer.concat([good, Buffer.from([0])])), undefined, 'trailing byte');
  const other = Buffer.from(good);
  other[0] = 9;
  assert.equal(decodeForward(other), undefined, 'version 9');
  const one = encodeForward({ epoch: 'e', msgs: [plain] });
  // version, flags, epoch 'e' (2 + 1), the table: its size, 'a/b' (2 + 3) and 'c1' (2 + 2); then the count.
  const tableAt = 2 + 2 + 1;
  const countAt = tableAt + 4 + 5 + 4;
  const badQos = Buffer.from(one);
  badQos[countAt + 4] = 3; // the first message's flags: QoS 3
  assert.equal(decodeForward(badQos), undefined, 'QoS 3');
  const huge = Buffer.from(one);
  huge.writeUInt32BE(0xffffffff, countAt); // a count no frame could hold
  assert.equal(decodeForward(huge), undefined, 'count');
  const hugeTable = Buffer.from(one);
  hugeTable.writeUInt32BE(0xffffffff, tableAt);
  assert.equal(decodeForward(hugeTable), undefined, 'table size');
  const badRef = Buffer.from(one);
  badRef.writeUInt32BE(2, countAt + 4 + 1); // the first message's topic: index 2 of a table of 2
  assert.equal(decodeForward(badRef), undefined, 'string index out of the table');
  assert.deepEqual(decodeForward(one), { epoch: 'e', msgs: [plain] }, 'the offsets above are the real ones');
  const rnd = prng(20261206);
  for (let i = 0; i < 20_000; i++) {
    const bytes = Buffer.from(Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256)));
    if (i % 2 === 0 && bytes.length > 0) bytes[0] = 1; // past the version byte
    assert.doesNotThrow(() => decodeForward(bytes));
  }
});

test('topics and publishers repeated in a batch are written once, and come back as one string each', () => {
  const msgs = Array.from({ length: 100 }, (_, i) => ({ ...plain, topic: `sensors/${i % 2}/temperature`, from: 'publisher-with-a-long-client-id', payload: Buffer.from([i]) }));
  const buf = encodeForward({ epoch: 'e', msgs });
  // Each message: flags, two indexes, payload length and byte, timestamp; the strings once.
  assert.ok(buf.length < 100 * 22 + 200, `${buf.length} bytes`);
  const back = decodeForward(buf)!;
  assert.deepEqual(back.msgs, msgs);
  assert.equal(new Set(back.msgs.map((m) => m.topic)).size, 2);
  assert.ok(back.msgs.every((m) => m.from === back.msgs[0]!.from));
});
