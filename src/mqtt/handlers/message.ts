// A client's PUBLISH (or its will) as the broker's Message: mountpoint applied, expiry fixed as
// an instant, the v5 properties that travel with it kept, the per-hop ones (alias, subscription
// identifiers) dropped.
import type { IPublishPacket } from 'mqtt-packet';
import type { Channel } from '../channel.js';
import type { Message, MessageProps, QoS } from '../port.js';

type PublishProps = NonNullable<IPublishPacket['properties']>;

export function messageFrom(ch: Channel, topic: string, payload: Buffer, qos: QoS, retain: boolean, props: PublishProps | undefined): Message {
  const now = Date.now();
  const expirySec = props?.messageExpiryInterval;
  // As EMQX: the publisher's interval wins; `mqtt.message_expiry_interval` is for messages without one.
  const dflt = ch.settings.mqtt.message_expiry_interval;
  const expiresAt = expirySec !== undefined ? now + expirySec * 1000 : dflt === Number.POSITIVE_INFINITY ? dflt : now + dflt;
  let carried: MessageProps | undefined;
  if (props) {
    const { payloadFormatIndicator, contentType, responseTopic, correlationData, userProperties, messageExpiryInterval } = props;
    const c: { -readonly [K in keyof MessageProps]: MessageProps[K] } = {};
    if (payloadFormatIndicator !== undefined) c.payloadFormatIndicator = payloadFormatIndicator;
    if (contentType !== undefined) c.contentType = contentType;
    if (responseTopic !== undefined) c.responseTopic = responseTopic;
    if (correlationData !== undefined) c.correlationData = correlationData;
    if (userProperties !== undefined) c.userProperties = userProperties;
    if (messageExpiryInterval !== undefined) c.messageExpiryInterval = messageExpiryInterval;
    if (Object.keys(c).length > 0) carried = c;
  }
  const msg: Message = {
    topic: ch.mountpoint + topic,
    payload,
    qos,
    retain,
    from: ch.clientId ?? '',
    timestamp: now,
    expiresAt,
    ...(carried ? { props: carried } : {}),
  };
  return msg;
}
