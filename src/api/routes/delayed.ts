// EMQX's delayed publish API (emqx_delayed_api): the settings, the delayed messages of the
// cluster, one message with its payload, and deletes by id or by topic. The messages live in the
// replicated table, so this node answers for the whole cluster without asking the others.
import type { DelayedPublisher, DelayedRow } from '../../broker/delayed.js';
import { validateTopicName } from '../../mqtt/topic.js';
import type { ApiContext } from '../context.js';
import { ApiError, ERROR_SCHEMA } from '../errors.js';
import { putRefused } from './extensions.js';
import { rfc3339 } from '../format/time.js';
import { noContent, ok, PAGE_QUERY, S, type RouteDef } from './route.js';

/** EMQX's ?MAX_PAYLOAD_LENGTH: a longer payload is shown as PAYLOAD_TOO_LARGE. */
const MAX_PAYLOAD_SHOWN = 2048;
const MSGID = /^[0-9A-Fa-f]{32}$/;

const MESSAGE = S.obj(
  {
    msgid: S.str(),
    node: S.str(),
    publish_at: S.str(),
    delayed_interval: S.int(),
    delayed_remaining: S.int(),
    expected_at: S.str(),
    topic: S.str(),
    qos: S.int(0, 2),
    from_clientid: S.str(),
    from_username: { type: ['string', 'null'] },
    payload: S.str('base64, or PAYLOAD_TOO_LARGE over 2048 bytes'),
  },
  [],
  true,
);
const SETTINGS = S.obj({ enable: S.bool(), max_delayed_messages: S.int(0) });

/** One delayed message in EMQX's fields (format_delayed). */
export function delayedJson(r: DelayedRow, now: number, withPayload: boolean): Record<string, unknown> {
  const m = r.msg;
  return {
    msgid: r.id,
    node: r.node,
    publish_at: rfc3339(m.timestamp),
    delayed_interval: r.interval,
    delayed_remaining: Math.max(0, Math.trunc((r.dueAt - now) / 1000)),
    expected_at: rfc3339(r.dueAt),
    topic: m.topic,
    qos: m.qos,
    from_clientid: m.from,
    from_username: r.username ?? null,
    ...(withPayload ? { payload: m.payload.length > MAX_PAYLOAD_SHOWN ? 'PAYLOAD_TOO_LARGE' : m.payload.toString('base64') } : {}),
  };
}

export function delayedRoutes(ctx: ApiContext, delayed: DelayedPublisher): RouteDef[] {
  /** The message `:node/:msgid` names: the node must be a member (or the one that took it). */
  const find = (node: string, msgid: string): DelayedRow => {
    if (!MSGID.test(msgid)) throw new ApiError(400, 'MESSAGE_ID_SCHEMA_ERROR', `Message ID ${msgid} schema error`);
    const row = delayed.get(msgid.toUpperCase());
    if (!ctx.rpc.isMember(node) && row?.node !== node) throw new ApiError(400, 'INVALID_NODE', `The node name ${node} is invalid`);
    if (!row) throw new ApiError(404, 'MESSAGE_ID_NOT_FOUND', `Message ID ${msgid} not found`);
    return row;
  };
  const byId = S.obj({ node: { type: 'string', minLength: 1, maxLength: 1024 }, msgid: { type: 'string', minLength: 1, maxLength: 64 } }, ['node', 'msgid']);
  return [
    {
      method: 'GET',
      url: '/mqtt/delayed',
      tags: ['MQTT'],
      summary: 'Delayed publish settings (delayed.* of emqx.conf)',
      response: { 200: SETTINGS },
      handler: () => ok({ enable: delayed.config.enable, max_delayed_messages: delayed.config.max_delayed_messages }),
    },
    putRefused('/mqtt/delayed', 'delayed (delayed.enable, delayed.max_delayed_messages)', S.obj({ enable: S.bool(), max_delayed_messages: S.int() }, [], true)),
    {
      method: 'GET',
      url: '/mqtt/delayed/messages',
      tags: ['MQTT'],
      summary: "The cluster's delayed messages, soonest first, paged",
      querystring: S.obj({ ...PAGE_QUERY }),
      response: { 200: S.obj({ data: S.arr(MESSAGE), meta: S.obj({ page: S.int(), limit: S.int(), count: S.int(), hasnext: S.bool() }) }) },
      handler(req) {
        const { page, limit } = req.query as { page: number; limit: number };
        const all = delayed.list();
        const offset = (page - 1) * limit;
        const now = ctx.now();
        const data = all.slice(offset, offset + limit).map((r) => delayedJson(r, now, false));
        return ok({ data, meta: { page, limit, count: all.length, hasnext: offset + data.length < all.length } });
      },
    },
    {
      method: 'GET',
      url: '/mqtt/delayed/messages/:node/:msgid',
      tags: ['MQTT'],
      summary: 'One delayed message with its payload (base64)',
      params: byId,
      response: { 200: MESSAGE, 400: ERROR_SCHEMA, 404: ERROR_SCHEMA },
      handler(req) {
        return ok(delayedJson(find(req.params.node!, req.params.msgid!), ctx.now(), true));
      },
    },
    {
      method: 'DELETE',
      url: '/mqtt/delayed/messages/:node/:msgid',
      tags: ['MQTT'],
      summary: 'Deletes one delayed message, on every member',
      params: byId,
      response: { 400: ERROR_SCHEMA, 404: ERROR_SCHEMA },
      notWhileJoining: true,
      async handler(req) {
        const row = find(req.params.node!, req.params.msgid!);
        if (!(await delayed.delete(row.id))) throw new ApiError(404, 'MESSAGE_ID_NOT_FOUND', `Message ID ${req.params.msgid!} not found`);
        return noContent();
      },
    },
    {
      method: 'DELETE',
      url: '/mqtt/delayed/messages/:topic',
      tags: ['MQTT'],
      summary: 'Deletes every delayed message to a topic (URL-encoded), on every member',
      params: S.obj({ topic: { type: 'string', minLength: 1, maxLength: 65535 } }, ['topic']),
      response: { 400: ERROR_SCHEMA, 404: ERROR_SCHEMA },
      notWhileJoining: true,
      async handler(req) {
        const topic = req.params.topic!;
        if (validateTopicName(topic, Number.POSITIVE_INFINITY) !== undefined) throw new ApiError(400, 'INVALID_TOPIC_NAME', `The topic name ${topic} is invalid`);
        if ((await delayed.deleteTopic(topic)) === 0) throw new ApiError(404, 'MESSAGE_NOT_FOUND', `Not found messages for ${topic}`);
        return noContent();
      },
    },
  ];
}
