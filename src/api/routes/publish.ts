// POST /publish and /publish/bulk (EMQX's emqx_mgmt_api_publish): a message published by the API
// as if by a client named `http_api`, routed through the cluster like any other. EMQX's answers:
// 200 `{id}` once delivered to a subscriber (or taken as a delayed message), 202
// `{reason_code: 16, message: "no_matching_subscribers"}`, 400 `{reason_code, message}` for a bad
// topic, payload or size. A QoS 1/2 message is answered once every node it went to holds it.
import type { Broker } from '../../broker/broker.js';
import { newMessageId } from '../../broker/message-id.js';
import type { Message, MessageProps, QoS } from '../../mqtt/port.js';
import { RC, reasonName } from '../../mqtt/reason-codes.js';
import { validateTopicName } from '../../mqtt/topic.js';
import type { ApiReply } from './route.js';
import { S, type RouteDef } from './route.js';

/** The publisher EMQX names messages from the API after. */
const FROM = 'http_api';

const PROPERTIES = S.obj({
  payload_format_indicator: S.int(0, 1),
  message_expiry_interval: S.int(0, 4294967295),
  response_topic: { type: 'string', minLength: 1, maxLength: 65535 },
  correlation_data: { type: 'string', maxLength: 65535 },
  user_properties: { type: 'object', additionalProperties: { type: 'string' }, maxProperties: 1000 },
  content_type: { type: 'string', maxLength: 65535 },
});

const MESSAGE = S.obj(
  {
    topic: { type: 'string', minLength: 1, maxLength: 65535 },
    payload: { type: 'string' },
    payload_encoding: { type: 'string', enum: ['plain', 'base64'], default: 'plain' },
    qos: { type: 'integer', minimum: 0, maximum: 2, default: 0 },
    retain: { type: 'boolean', default: false },
    clientid: S.str('accepted and not used (deprecated in EMQX 5.0.14)'),
    properties: PROPERTIES,
  },
  ['topic', 'payload'],
);

interface Body {
  readonly topic: string;
  readonly payload: string;
  readonly payload_encoding: 'plain' | 'base64';
  readonly qos: QoS;
  readonly retain: boolean;
  readonly properties?: {
    readonly payload_format_indicator?: number;
    readonly message_expiry_interval?: number;
    readonly response_topic?: string;
    readonly correlation_data?: string;
    readonly user_properties?: Record<string, string>;
    readonly content_type?: string;
  };
}

type Built = { readonly ok: true; readonly msg: Message } | { readonly ok: false; readonly rc: number; readonly message: string };

const refusal = (rc: number, message = reasonName(rc)): Built => ({ ok: false, rc, message });

function build(b: Body, broker: Broker, now: number): Built {
  const cfg = broker.config();
  if (validateTopicName(b.topic, cfg.max_topic_levels) !== undefined) return refusal(RC.topicNameInvalid);
  let payload: Buffer;
  if (b.payload_encoding === 'base64') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b.payload) || b.payload.length % 4 === 1) return refusal(RC.implementationSpecificError, `{decode_base64_payload_failed,<<"${b.payload.slice(0, 100)}">>}`);
    payload = Buffer.from(b.payload, 'base64');
  } else payload = Buffer.from(b.payload, 'utf8');
  // As EMQX: 0x95 is no PUBACK reason code, so a message over mqtt.max_packet_size is 0x97.
  if (payload.length + Buffer.byteLength(b.topic) > cfg.max_packet_size) return refusal(RC.quotaExceeded, 'packet_too_large');
  const p = b.properties;
  const props: { -readonly [K in keyof MessageProps]: MessageProps[K] } = {};
  if (p?.payload_format_indicator !== undefined) props.payloadFormatIndicator = p.payload_format_indicator === 1;
  if (p?.content_type !== undefined) props.contentType = p.content_type;
  if (p?.response_topic !== undefined) {
    if (validateTopicName(p.response_topic, cfg.max_topic_levels) !== undefined) return refusal(RC.topicNameInvalid, 'response_topic_invalid');
    props.responseTopic = p.response_topic;
  }
  if (p?.correlation_data !== undefined) props.correlationData = Buffer.from(p.correlation_data, 'utf8');
  if (p?.user_properties !== undefined) props.userProperties = p.user_properties;
  if (p?.message_expiry_interval !== undefined) props.messageExpiryInterval = p.message_expiry_interval;
  const expiry = p?.message_expiry_interval;
  const dflt = cfg.message_expiry_interval;
  const msg: Message = {
    topic: b.topic,
    payload,
    qos: b.qos,
    retain: b.retain,
    from: FROM,
    timestamp: now,
    expiresAt: expiry !== undefined ? now + expiry * 1000 : dflt === Number.POSITIVE_INFINITY ? dflt : now + dflt,
    ...(Object.keys(props).length > 0 ? { props } : {}),
  };
  return { ok: true, msg };
}

/** Publishes one message: the status and body EMQX answers with. */
async function publishOne(broker: Broker, msg: Message): Promise<{ status: number; body: Record<string, unknown> }> {
  const id = newMessageId(msg.timestamp);
  const r = broker.publish(msg);
  if (r.refused !== undefined) return { status: 400, body: { reason_code: r.refused, message: reasonName(r.refused) } };
  // Answered once the nodes it went to hold it (QoS 1/2), as a client's PUBACK.
  if (r.settled) await r.settled.catch(() => undefined);
  if (r.matched > 0 || msg.topic.startsWith('$delayed/')) return { status: 200, body: { id } };
  return { status: 202, body: { reason_code: RC.noMatchingSubscribers, message: reasonName(RC.noMatchingSubscribers) } };
}

export function publishRoutes(broker: Broker, now: () => number): RouteDef[] {
  return [
    {
      method: 'POST',
      url: '/publish',
      tags: ['Publish'],
      summary: 'Publishes a message, as the client http_api',
      body: MESSAGE,
      response: { 200: S.obj({ id: S.str() }), 202: S.any(), 400: S.any() },
      async handler(req): Promise<ApiReply> {
        const built = build(req.body as Body, broker, now());
        if (!built.ok) return { status: 400, body: { reason_code: built.rc, message: built.message } };
        return publishOne(broker, built.msg);
      },
    },
    {
      method: 'POST',
      url: '/publish/bulk',
      tags: ['Publish'],
      summary: 'Publishes messages in order; 200 when all reached a subscriber, else 202',
      body: { type: 'array', items: MESSAGE, minItems: 1, maxItems: 10000 },
      response: { 200: S.arr(S.any()), 202: S.arr(S.any()), 400: S.any() },
      async handler(req): Promise<ApiReply> {
        const t = now();
        const built = (req.body as Body[]).map((b) => build(b, broker, t));
        // As EMQX: one bad message refuses the batch before anything is published.
        const bad = built.find((b) => !b.ok);
        if (bad && !bad.ok) return { status: 400, body: { reason_code: bad.rc, message: bad.message } };
        const results = await Promise.all(built.map((b) => publishOne(broker, (b as { msg: Message }).msg)));
        const status = results.every((r) => r.status === 200) ? 200 : results.some((r) => r.status === 400) ? 400 : 202;
        return { status, body: results.map((r) => r.body) };
      },
    },
  ];
}
