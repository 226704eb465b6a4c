// The codec's direct paths against mqtt-packet's general parser: the same packet, field for field.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { isDecodeError, MqttCodec } from '../../src/mqtt/codec.js';

/** The frame the framer would cut from `bytes` (fixed header of one length byte). */
const frame = (bytes: Buffer) => ({ header: bytes[0]!, body: bytes.subarray(2), bytes });

function reference(bytes: Buffer, protocolVersion: 4 | 5): Packet {
  const parser = mqttPacket.parser({ protocolVersion });
  let out: Packet | undefined;
  parser.on('packet', (p: Packet) => (out = p));
  parser.on('error', (e: Error) => assert.fail(e.message));
  parser.parse(bytes);
  assert.ok(out, 'mqtt-packet parsed nothing');
  return out;
}

const FIRST = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 } as const;

describe('acknowledgements in their 4-byte form', () => {
  for (const version of [4, 5] as const) {
    for (const cmd of ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const) {
      test(`${cmd}, MQTT ${version === 5 ? '5' : '3.1.1'}: as mqtt-packet reads it`, () => {
        const codec = new MqttCodec();
        codec.setVersion(version);
        for (const messageId of [1, 0x1234, 65535]) {
          // The short form (mqtt-packet writes v5 acknowledgements with a reason code always).
          const bytes = Buffer.from([FIRST[cmd], 2, messageId >> 8, messageId & 0xff]);
          const ours = codec.decode(frame(bytes));
          assert.ok(!isDecodeError(ours));
          const ref = reference(bytes, version) as Packet & { messageId: number; reasonCode?: number };
          const got = ours as Packet & { messageId: number; reasonCode?: number };
          assert.equal(got.cmd, ref.cmd);
          assert.equal(got.messageId, ref.messageId);
          assert.equal(got.reasonCode, ref.reasonCode);
        }
      });
    }
  }

  test('reserved flags are refused as before (MQTT-3.6.1-1: PUBREL is 0110 0010)', () => {
    const codec = new MqttCodec();
    for (const header of [0x41, 0x42, 0x52, 0x60, 0x63, 0x72]) {
      const d = codec.decode(frame(Buffer.from([header, 2, 0, 1])));
      assert.ok(isDecodeError(d), `first byte 0x${header.toString(16)} accepted`);
    }
  });

  test('a v5 acknowledgement with a reason code still goes through the full parser', () => {
    const codec = new MqttCodec();
    codec.setVersion(5);
    const d = codec.decode(frame(Buffer.from([0x40, 3, 0, 7, 0x10])));
    assert.ok(!isDecodeError(d));
    assert.deepEqual([(d as { messageId?: number }).messageId, (d as { reasonCode?: number }).reasonCode], [7, 0x10]);
    assert.ok(isDecodeError(codec.decode(frame(Buffer.from([0x40, 3, 0, 7, 0x01])))), 'an invalid PUBACK reason code is refused');
  });
});

describe('PUBLISH payloads', () => {
  test('are copies, not views of the read buffer, small or large (a retained or queued message must not pin it)', () => {
    for (const version of [4, 5] as const) {
      const codec = new MqttCodec();
      codec.setVersion(version);
      for (const size of [0, 1, 64, 65, 5000]) {
        const payload = Buffer.alloc(size, 0x61);
        const bytes = mqttPacket.generate({ cmd: 'publish', topic: 't/x', payload, qos: 0, retain: false, dup: false } as Packet, { protocolVersion: version });
        let at = 1;
        while (bytes[at]! & 0x80) at++;
        const p = codec.decode({ header: bytes[0]!, body: bytes.subarray(at + 1), bytes });
        assert.ok(!isDecodeError(p) && p.cmd === 'publish');
        const got = (p as { payload: Buffer }).payload;
        assert.deepEqual(got, payload, `${size} bytes`);
        bytes.fill(0x7a);
        assert.deepEqual(got, payload, `${size} bytes: unchanged when the read buffer is reused`);
      }
    }
  });
});
