// PUBLISH from a client (MQTT 5.0 §3.3, §4.3): topic alias resolved, topic, QoS and retain
// checked against the mqtt.* limits, the message handed to the broker, then acknowledged: QoS 1
// with PUBACK, QoS 2 with PUBREC after the packet identifier is remembered (a resent PUBLISH with
// the same identifier is acknowledged again, not delivered twice).
import { isUtf8 } from 'node:buffer';
import type { IPublishPacket } from 'mqtt-packet';
import { describeTopicProblem, validateTopicName } from '../topic.js';
import type { Channel } from '../channel.js';
import { encodeAck } from '../codec.js';
import type { QoS } from '../port.js';
import { RC } from '../reason-codes.js';
import { messageFrom } from './message.js';

export function handlePublish(ch: Channel, p: IPublishPacket): void {
  const cfg = ch.settings.mqtt;
  const c = ch.env.counters;
  c['packets.publish.received']++;
  const qos = p.qos as QoS;
  let topic = p.topic;
  const alias = p.properties?.topicAlias;
  if (topic === '' && alias === undefined) return ch.closeWith(RC.protocolError, 'PUBLISH with an empty topic and no topic alias');
  if (alias !== undefined) {
    if (alias === 0 || alias > cfg.max_topic_alias) return ch.closeWith(RC.topicAliasInvalid, `topic alias ${alias} outside 1..${cfg.max_topic_alias}`);
    if (topic === '') {
      const known = ch.aliasesIn.get(alias);
      if (known === undefined) return ch.closeWith(RC.protocolError, `topic alias ${alias} was never set`);
      topic = known;
    } else {
      ch.aliasesIn.set(alias, topic);
    }
  }
  const problem = validateTopicName(topic, cfg.max_topic_levels);
  if (problem) {
    c['packets.publish.error']++;
    return ch.closeWith(RC.topicNameInvalid, `PUBLISH topic '${topic.slice(0, 200)}': ${describeTopicProblem(problem)}`);
  }
  if (qos > cfg.max_qos_allowed) return ch.closeWith(RC.qosNotSupported, `PUBLISH QoS ${qos} above mqtt.max_qos_allowed (${cfg.max_qos_allowed})`);
  if (p.retain && !cfg.retain_available) return ch.closeWith(RC.retainNotSupported, 'retained PUBLISH while mqtt.retain_available = false');
  if (!ch.session) return;
  if (ch.access !== undefined) {
    const ok = ch.access.allow('publish', topic, qos, p.retain);
    if (ok !== true) {
      if (ok === false) return refused(ch, p, topic, qos);
      // A remote source (HTTP, Redis) is asked: the client's later packets wait for the answer.
      return ch.holdFor(ok, (allowed) => (allowed ? accepted(ch, p, topic, qos) : refused(ch, p, topic, qos)));
    }
  }
  accepted(ch, p, topic, qos);
}

/** Not authorized: dropped with 0x87 in the acknowledgement, or the client disconnected. */
function refused(ch: Channel, p: IPublishPacket, topic: string, qos: QoS): void {
  ch.env.counters['packets.publish.auth_error']++;
  ch.env.limited.warn(`${ch.settings.listener}:publish_denied`, { clientid: ch.clientId, topic: topic.slice(0, 200) }, 'PUBLISH not authorized');
  if (ch.access?.denyAction === 'disconnect') return ch.closeWith(RC.notAuthorized, `PUBLISH to '${topic.slice(0, 200)}' not authorized`);
  if (qos === 1) ack(ch, 'puback', p.messageId!, RC.notAuthorized);
  else if (qos === 2) ack(ch, 'pubrec', p.messageId!, RC.notAuthorized);
}

/** Checked and authorized: to the broker, then acknowledged. */
function accepted(ch: Channel, p: IPublishPacket, topic: string, qos: QoS): void {
  const cfg = ch.settings.mqtt;
  const c = ch.env.counters;
  const session = ch.session;
  if (!session) return;
  const payload = p.payload as Buffer;
  if (p.properties?.payloadFormatIndicator && !isUtf8(payload)) {
    // MQTT-3.3.2-4 allows refusing it in the acknowledgement.
    c['packets.publish.error']++;
    const id = p.messageId!;
    if (qos > 0) ch.ackInOrder(() => ack(ch, qos === 1 ? 'puback' : 'pubrec', id, RC.payloadFormatInvalid));
    return;
  }
  c['messages.received']++;
  if (qos === 0) c['messages.qos0.received']++;
  else if (qos === 1) c['messages.qos1.received']++;
  else c['messages.qos2.received']++;

  if (qos === 2) {
    const state = session.awaitRel(p.messageId!);
    if (state === 'full') {
      c['packets.publish.dropped']++;
      return ch.closeWith(RC.receiveMaximumExceeded, `more than mqtt.max_awaiting_rel (${cfg.max_awaiting_rel}) QoS 2 messages awaiting PUBREL`);
    }
    if (state === 'dup') {
      // Already delivered: acknowledge again, deliver nothing (exactly once).
      c['packets.publish.inuse']++;
      const id = p.messageId!;
      return ch.ackInOrder(() => ack(ch, 'pubrec', id, RC.success));
    }
  }
  const { matched, settled, refused } = ch.env.broker.publish(messageFrom(ch, topic, payload, qos, p.retain, p.properties), ch.client?.username);
  if (qos === 0) return;
  const rc = refused ?? (matched === 0 && ch.v5 ? RC.noMatchingSubscribers : RC.success);
  const id = p.messageId!;
  // Acknowledged once every node it went to holds it; acknowledgements leave in arrival order.
  ch.ackInOrder(() => ack(ch, qos === 1 ? 'puback' : 'pubrec', id, rc), settled);
}

function ack(ch: Channel, cmd: 'puback' | 'pubrec', messageId: number, rc: number): void {
  if (ch.v5 && rc !== RC.success) ch.send({ cmd, messageId, reasonCode: rc });
  else ch.sendRaw(encodeAck(cmd, messageId));
  ch.env.counters[cmd === 'puback' ? 'packets.puback.sent' : 'packets.pubrec.sent']++;
}
