// The acknowledgements of the QoS 1 and 2 flows (MQTT 5.0 §4.3): PUBACK, PUBREC and PUBCOMP
// settle messages this side sent; PUBREL releases a QoS 2 message the client sent. An unknown
// packet identifier is counted (and answered with 0x92 where the flow needs an answer), never fatal.
import type { IPubackPacket, IPubcompPacket, IPubrecPacket, IPubrelPacket } from 'mqtt-packet';
import type { Channel } from '../channel.js';
import { encodeAck } from '../codec.js';
import { RC } from '../reason-codes.js';

export function handlePuback(ch: Channel, p: IPubackPacket): void {
  const c = ch.env.counters;
  c['packets.puback.received']++;
  if (ch.session?.puback(p.messageId!)) c['messages.acked']++;
  else c['packets.puback.missed']++;
}

export function handlePubrec(ch: Channel, p: IPubrecPacket): void {
  const c = ch.env.counters;
  c['packets.pubrec.received']++;
  const session = ch.session;
  if (!session) return;
  const id = p.messageId!;
  // v5: a PUBREC with an error code ends the flow (MQTT-4.3.3-4): no PUBREL follows.
  if (ch.v5 && (p.reasonCode ?? 0) >= 0x80) {
    session.pubcomp(id);
    return;
  }
  if (session.pubrec(id)) return; // the session sent PUBREL
  c['packets.pubrec.missed']++;
  if (ch.v5) ch.send({ cmd: 'pubrel', messageId: id, reasonCode: RC.packetIdentifierNotFound });
  else ch.send({ cmd: 'pubrel', messageId: id });
  c['packets.pubrel.sent']++;
}

export function handlePubrel(ch: Channel, p: IPubrelPacket): void {
  const c = ch.env.counters;
  c['packets.pubrel.received']++;
  const session = ch.session;
  if (!session) return;
  const id = p.messageId!;
  const known = session.release(id);
  if (!known) c['packets.pubrel.missed']++;
  if (ch.v5 && !known) ch.send({ cmd: 'pubcomp', messageId: id, reasonCode: RC.packetIdentifierNotFound });
  else ch.sendRaw(encodeAck('pubcomp', id));
  c['packets.pubcomp.sent']++;
}

export function handlePubcomp(ch: Channel, p: IPubcompPacket): void {
  const c = ch.env.counters;
  c['packets.pubcomp.received']++;
  if (ch.session?.pubcomp(p.messageId!)) c['messages.acked']++;
  else c['packets.pubcomp.missed']++;
}
