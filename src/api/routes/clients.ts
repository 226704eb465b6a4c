// GET /clients, GET|DELETE /clients/:clientid, a client's subscriptions (list, subscribe,
// unsubscribe, one or in bulk), GET /subscriptions, GET /topics (EMQX's emqx_mgmt_api_clients,
// _subscriptions, _topics): cluster-wide, each member answering for its own clients; `node`
// narrows a list to one member.
import type { ApiContext } from '../context.js';
import { ApiError, ERROR_SCHEMA } from '../errors.js';
import type { ClientFilter, Json, SubscriptionFilter } from '../format/clients.js';
import type { SubscribeAnswer, SubscribeRequest } from '../cluster/local-ops.js';
import { parseTime } from '../format/time.js';
import { parsePosition, type MessageKind, type MessagesPage, type PayloadFormat } from '../format/client-messages.js';
import { parseBytesize } from '../../config/duration.js';
import { validateFilter } from '../../mqtt/topic.js';
import { clusterPage } from './paging.js';
import { PAGE_QUERY, noContent, ok, S, type RouteDef } from './route.js';

const CLIENTID_NOT_FOUND = (): ApiError => new ApiError(404, 'CLIENTID_NOT_FOUND', 'Client ID not found');
const strings = { type: 'array', items: { type: 'string', maxLength: 65535 }, maxItems: 1000 };
const time = { anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', maxLength: 64 }], description: 'RFC 3339 or epoch ms' };

const CLIENTID_PARAM = S.obj({ clientid: { type: 'string', minLength: 1, maxLength: 65535 } }, ['clientid']);
const SUBSCRIPTION = S.obj(
  {
    topic: { type: 'string', minLength: 1, maxLength: 65535 },
    qos: { type: 'integer', minimum: 0, maximum: 2, default: 0 },
    nl: { type: 'integer', minimum: 0, maximum: 1, default: 0 },
    rap: { type: 'integer', minimum: 0, maximum: 1, default: 0 },
    rh: { type: 'integer', minimum: 0, maximum: 2, default: 0 },
  },
  ['topic'],
);

/** Subscribes on the member holding the client: EMQX's answer per filter, or the first refusal. */
async function subscribeOn(ctx: ApiContext, clientid: string, subs: SubscribeRequest[]): Promise<Json[]> {
  const g = await ctx.rpc.gather<SubscribeAnswer[] | null>({ op: 'client_subscribe', clientid, subs });
  const found = g.answers.find((a) => a.value !== null)?.value;
  if (!found) throw CLIENTID_NOT_FOUND();
  const refused = found.find((a) => !a.ok);
  if (refused && !refused.ok) throw new ApiError(400, refused.code === 'INVALID_PARAMETER' ? 'INVALID_PARAMETER' : 'BAD_REQUEST', refused.message);
  return found.map((a) => (a as { sub: Json }).sub);
}

async function unsubscribeOn(ctx: ApiContext, clientid: string, topics: string[]): Promise<void> {
  const g = await ctx.rpc.gather<boolean[] | null>({ op: 'client_unsubscribe', clientid, topics });
  if (!g.answers.some((a) => a.value !== null)) throw CLIENTID_NOT_FOUND();
}

const LIST = S.obj({ data: S.arr(S.any()), meta: S.obj({ page: S.int(), limit: S.int(), count: S.int(), hasnext: S.bool() }, [], true) }, [], true);

function nodesOf(ctx: ApiContext, node: unknown): readonly string[] | undefined {
  if (node === undefined) return undefined;
  const n = String(node);
  if (!ctx.rpc.isMember(n)) throw new ApiError(400, 'BAD_REQUEST', `Node not found: ${n}`);
  return [n];
}

function timeOf(key: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const t = parseTime(v as string | number);
  if (t === undefined) throw new ApiError(400, 'INVALID_PARAMETER', `the ${key} parameter expected type is timestamp or rfc3339, but the value is ${String(v)}`);
  return t;
}

const MESSAGES_QUERY = S.obj({
  payload: { type: 'string', enum: ['base64', 'plain', 'none'], default: 'base64', description: 'Payload encoding; none: no payloads' },
  max_payload_bytes: { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'string', maxLength: 32 }], default: '1MB', description: 'The payloads of one answer add up to no more than this (the first is always shown)' },
  position: { type: 'string', maxLength: 64, description: 'Where the previous page ended (its meta.position); none: from the oldest' },
  limit: { type: 'integer', minimum: 1, maximum: 10000, default: 100 },
});

const MESSAGE_PATHS = [
  { kind: 'mqueue', path: 'mqueue_messages', summary: "The messages waiting in a client's queue (offline, window full or socket backed up), oldest first" },
  { kind: 'inflight', path: 'inflight_messages', summary: 'The QoS 1/2 messages sent to a client and not yet acknowledged, oldest first' },
] as const;

/** GET /clients/:clientid/mqueue_messages and /inflight_messages: a page from the member holding the session. */
async function clientMessages(ctx: ApiContext, clientid: string, kind: MessageKind, q: Record<string, unknown>): Promise<MessagesPage> {
  const after = parsePosition(kind, q.position === undefined ? undefined : String(q.position));
  if (after === undefined) throw new ApiError(400, 'INVALID_PARAMETER', 'position_limit_invalid');
  const max = parseBytesize(q.max_payload_bytes);
  if (!max.ok || max.value < 1) throw new ApiError(400, 'BAD_REQUEST', 'max_payload_bytes: must be higher than 0');
  const query = { after, limit: Number(q.limit), payload: q.payload as PayloadFormat, maxPayloadBytes: max.value };
  const g = await ctx.rpc.gather<MessagesPage | 'not_utf8' | null>({ op: 'client_msgs', clientid, kind, query });
  const found = g.answers.find((a) => a.value !== null)?.value;
  if (!found) throw CLIENTID_NOT_FOUND();
  if (found === 'not_utf8') throw new ApiError(400, 'INVALID_PARAMETER', 'Some message payloads are not JSON serializable');
  return found;
}

export function clientRoutes(ctx: ApiContext): RouteDef[] {
  const { rpc } = ctx;
  return [
    {
      method: 'GET',
      url: '/clients',
      tags: ['Clients'],
      summary: 'Clients of every running member, paged, with filters',
      querystring: S.obj({
        ...PAGE_QUERY,
        node: S.str('Only this member'),
        clientid: strings,
        username: strings,
        like_clientid: { type: 'string', maxLength: 65535 },
        like_username: { type: 'string', maxLength: 65535 },
        ip_address: { type: 'string', maxLength: 64 },
        conn_state: { type: 'string', enum: ['connected', 'idle', 'disconnected'] },
        clean_start: S.bool(),
        proto_ver: S.int(3, 5),
        gte_created_at: time,
        lte_created_at: time,
        gte_connected_at: time,
        lte_connected_at: time,
        fields: { type: 'string', maxLength: 4096, description: "all (default), or a comma-separated list of the client fields to return, e.g. clientid,node,connected" },
      }),
      response: { 200: LIST, 400: ERROR_SCHEMA },
      async handler(req) {
        const q = req.query as Record<string, unknown> & { page: number; limit: number };
        const f: ClientFilter = {
          ...(q.clientid !== undefined ? { clientid: q.clientid as string[] } : {}),
          ...(q.username !== undefined ? { username: q.username as string[] } : {}),
          ...(q.like_clientid !== undefined ? { like_clientid: String(q.like_clientid) } : {}),
          ...(q.like_username !== undefined ? { like_username: String(q.like_username) } : {}),
          ...(q.ip_address !== undefined ? { ip_address: String(q.ip_address) } : {}),
          ...(q.conn_state !== undefined ? { conn_state: q.conn_state as ClientFilter['conn_state'] } : {}),
          ...(q.clean_start !== undefined ? { clean_start: Boolean(q.clean_start) } : {}),
          ...(q.proto_ver !== undefined ? { proto_ver: Number(q.proto_ver) } : {}),
        };
        const times = {
          gte_created_at: timeOf('gte_created_at', q.gte_created_at),
          lte_created_at: timeOf('lte_created_at', q.lte_created_at),
          gte_connected_at: timeOf('gte_connected_at', q.gte_connected_at),
          lte_connected_at: timeOf('lte_connected_at', q.lte_connected_at),
        };
        const filter: ClientFilter = { ...f, ...Object.fromEntries(Object.entries(times).filter(([, v]) => v !== undefined)) };
        const page = await clusterPage(rpc, (p) => ({ op: 'clients', filter, page: p }), q.page, q.limit, nodesOf(ctx, q.node));
        const fields = q.fields === undefined || q.fields === 'all' ? undefined : String(q.fields).split(',').filter((x) => x !== '');
        if (fields === undefined) return ok(page);
        return ok({ ...page, data: page.data.map((row) => Object.fromEntries(fields.filter((k) => k in row).map((k) => [k, row[k]]))) });
      },
    },
    {
      method: 'GET',
      url: '/clients/:clientid',
      tags: ['Clients'],
      summary: 'One client, from whichever member holds it',
      params: S.obj({ clientid: { type: 'string', minLength: 1, maxLength: 65535 } }, ['clientid']),
      response: { 200: S.any(), 404: ERROR_SCHEMA },
      async handler(req) {
        const g = await rpc.gather<Record<string, unknown> | null>({ op: 'client', clientid: req.params.clientid! });
        const found = g.answers.find((a) => a.value !== null);
        if (!found) throw CLIENTID_NOT_FOUND();
        return ok(found.value);
      },
    },
    {
      method: 'DELETE',
      url: '/clients/:clientid',
      tags: ['Clients'],
      summary: 'Kicks a client out: its connection is closed and its session discarded',
      params: S.obj({ clientid: { type: 'string', minLength: 1, maxLength: 65535 } }, ['clientid']),
      response: { 204: { description: 'Kick out client successfully' }, 404: ERROR_SCHEMA },
      async handler(req) {
        const g = await rpc.gather<boolean>({ op: 'kick', clientid: req.params.clientid! });
        if (!g.answers.some((a) => a.value)) throw CLIENTID_NOT_FOUND();
        ctx.log.info({ clientid: req.params.clientid }, 'client kicked through the API');
        return noContent();
      },
    },
    {
      method: 'GET',
      url: '/clients/:clientid/authorization/cache',
      tags: ['Clients'],
      summary: "A connected client's cached authorization answers (action, qos, retain, topic, result, updated_time), from whichever member holds it",
      params: CLIENTID_PARAM,
      response: { 200: S.arr(S.any()), 404: ERROR_SCHEMA },
      async handler(req) {
        const found = (await rpc.gather<unknown[] | null>({ op: 'authz_cache', clientid: req.params.clientid! })).answers.find((a) => a.value !== null);
        if (!found) throw CLIENTID_NOT_FOUND();
        return ok(found.value);
      },
    },
    {
      method: 'DELETE',
      url: '/clients/:clientid/authorization/cache',
      tags: ['Clients'],
      summary: 'The client forgets its cached authorization answers',
      params: CLIENTID_PARAM,
      response: { 204: { description: 'Cleaned' }, 404: ERROR_SCHEMA },
      async handler(req) {
        const g = await rpc.gather<boolean>({ op: 'authz_cache_clean', clientid: req.params.clientid! });
        if (!g.answers.some((a) => a.value)) throw CLIENTID_NOT_FOUND();
        return noContent();
      },
    },
    {
      method: 'POST',
      url: '/clients/kickout/bulk',
      tags: ['Clients'],
      summary: 'Kicks several clients, on whichever members hold them',
      body: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 65535 }, minItems: 1, maxItems: 10000 },
      response: { 204: { description: 'Kicked (unknown client ids are skipped)' }, 400: ERROR_SCHEMA },
      async handler(req) {
        await rpc.gather<number>({ op: 'kick_many', clientids: req.body as string[] });
        return noContent();
      },
    },
    {
      method: 'PUT',
      url: '/clients/:clientid/keepalive',
      tags: ['Clients'],
      summary: "Changes a connected client's keepalive from now on",
      params: CLIENTID_PARAM,
      body: S.obj({ interval: { type: 'integer', minimum: 0, maximum: 65535, description: 'seconds; 0: none' } }),
      response: { 200: S.any(), 400: ERROR_SCHEMA, 404: ERROR_SCHEMA },
      async handler(req) {
        const { interval } = req.body as { interval?: number };
        if (interval === undefined) throw new ApiError(400, 'BAD_REQUEST', 'Interval Not Found');
        const g = await rpc.gather<Json | 'offline' | null>({ op: 'keepalive', clientid: req.params.clientid!, seconds: interval });
        const found = g.answers.find((a) => a.value !== null)?.value;
        if (!found) throw CLIENTID_NOT_FOUND();
        if (found === 'offline') throw new ApiError(400, 'PARAM_ERROR', 'the client is not connected (its session waits for it)');
        return ok(found);
      },
    },
    ...MESSAGE_PATHS.map(
      ({ kind, path, summary }): RouteDef => ({
        method: 'GET',
        url: `/clients/:clientid/${path}`,
        tags: ['Clients'],
        summary,
        params: CLIENTID_PARAM,
        querystring: MESSAGES_QUERY,
        response: { 200: S.any(), 400: ERROR_SCHEMA, 404: ERROR_SCHEMA },
        async handler(req) {
          return ok(await clientMessages(ctx, req.params.clientid!, kind, req.query as Record<string, unknown>));
        },
      }),
    ),
    {
      method: 'GET',
      url: '/sessions_count',
      tags: ['Clients'],
      summary: 'Sessions in the cluster, connected or waiting for their client',
      querystring: S.obj({ since: { type: 'integer', minimum: 0, default: 0, description: 'accepted for EMQX; no expired session is kept here' } }),
      response: { 200: S.int() },
      async handler() {
        const g = await rpc.gather<number>({ op: 'sessions_count' });
        return ok(g.answers.reduce((n, a) => n + a.value, 0));
      },
    },
    {
      method: 'GET',
      url: '/clients/:clientid/subscriptions',
      tags: ['Clients'],
      summary: "A client's subscriptions, from whichever member holds it",
      params: CLIENTID_PARAM,
      response: { 200: S.arr(S.any()), 404: ERROR_SCHEMA },
      async handler(req) {
        const clientid = req.params.clientid!;
        const found = (await rpc.gather<Record<string, unknown> | null>({ op: 'client', clientid })).answers.find((a) => a.value !== null);
        if (!found) throw CLIENTID_NOT_FOUND();
        const slice = await rpc.call<{ rows: Array<Record<string, unknown>> }>(found.node, { op: 'subscriptions', filter: { clientid }, page: { offset: 0, limit: 100_000 } });
        return ok(slice.rows.map(({ durable: _durable, ...row }) => row));
      },
    },
    {
      method: 'POST',
      url: '/clients/:clientid/subscribe',
      tags: ['Clients'],
      summary: 'Subscribes a client, as if it had sent SUBSCRIBE (retained messages as rh says)',
      params: CLIENTID_PARAM,
      body: SUBSCRIPTION,
      response: { 200: S.any(), 400: ERROR_SCHEMA, 404: ERROR_SCHEMA },
      async handler(req) {
        const [answer] = await subscribeOn(ctx, req.params.clientid!, [req.body as SubscribeRequest]);
        return ok(answer);
      },
    },
    {
      method: 'POST',
      url: '/clients/:clientid/subscribe/bulk',
      tags: ['Clients'],
      summary: 'Subscribes a client to several filters',
      params: CLIENTID_PARAM,
      body: { type: 'array', items: SUBSCRIPTION, minItems: 1, maxItems: 1000 },
      response: { 200: S.arr(S.any()), 400: ERROR_SCHEMA, 404: ERROR_SCHEMA },
      async handler(req) {
        return ok(await subscribeOn(ctx, req.params.clientid!, req.body as SubscribeRequest[]));
      },
    },
    {
      method: 'POST',
      url: '/clients/:clientid/unsubscribe',
      tags: ['Clients'],
      summary: 'Unsubscribes a client from one filter',
      params: CLIENTID_PARAM,
      body: S.obj({ topic: { type: 'string', minLength: 1, maxLength: 65535 } }, ['topic']),
      response: { 204: { description: 'Unsubscribed' }, 404: ERROR_SCHEMA },
      async handler(req) {
        await unsubscribeOn(ctx, req.params.clientid!, [(req.body as { topic: string }).topic]);
        return noContent();
      },
    },
    {
      method: 'POST',
      url: '/clients/:clientid/unsubscribe/bulk',
      tags: ['Clients'],
      summary: 'Unsubscribes a client from several filters',
      params: CLIENTID_PARAM,
      body: { type: 'array', items: S.obj({ topic: { type: 'string', minLength: 1, maxLength: 65535 } }, ['topic']), minItems: 1, maxItems: 1000 },
      response: { 204: { description: 'Unsubscribed' }, 404: ERROR_SCHEMA },
      async handler(req) {
        await unsubscribeOn(ctx, req.params.clientid!, (req.body as Array<{ topic: string }>).map((t) => t.topic));
        return noContent();
      },
    },
    {
      method: 'GET',
      url: '/subscriptions',
      tags: ['Subscriptions'],
      summary: 'Subscriptions of every running member, paged, with filters',
      querystring: S.obj({
        ...PAGE_QUERY,
        node: S.str(),
        clientid: { type: 'string', maxLength: 65535 },
        qos: S.int(0, 2),
        topic: { type: 'string', maxLength: 65535 },
        match_topic: { type: 'string', maxLength: 65535 },
        share_group: { type: 'string', maxLength: 65535 },
        durable: S.bool(),
      }),
      response: { 200: LIST, 400: ERROR_SCHEMA },
      async handler(req) {
        const q = req.query as Record<string, unknown> & { page: number; limit: number };
        if (q.match_topic !== undefined && (validateFilter(String(q.match_topic), Number.MAX_SAFE_INTEGER) || String(q.match_topic).startsWith('$share/'))) {
          throw new ApiError(400, 'INVALID_PARAMETER', 'match_topic_invalid');
        }
        const filter: SubscriptionFilter = {
          ...(q.clientid !== undefined ? { clientid: String(q.clientid) } : {}),
          ...(q.qos !== undefined ? { qos: Number(q.qos) } : {}),
          ...(q.topic !== undefined ? { topic: String(q.topic) } : {}),
          ...(q.match_topic !== undefined ? { match_topic: String(q.match_topic) } : {}),
          ...(q.share_group !== undefined ? { share_group: String(q.share_group) } : {}),
        };
        // No durable sessions here: `durable=true` matches nothing.
        if (q.durable === true) return ok({ data: [], meta: { page: q.page, limit: q.limit, count: 0, hasnext: false } });
        return ok(await clusterPage(rpc, (page) => ({ op: 'subscriptions', filter, page }), q.page, q.limit, nodesOf(ctx, q.node)));
      },
    },
    {
      method: 'GET',
      url: '/topics',
      tags: ['Topics'],
      summary: 'Routes: which member has subscribers to which filter',
      querystring: S.obj({ ...PAGE_QUERY, node: S.str(), topic: { type: 'string', maxLength: 65535 } }),
      response: { 200: LIST },
      async handler(req) {
        const q = req.query as Record<string, unknown> & { page: number; limit: number };
        const topic = q.topic === undefined ? undefined : String(q.topic);
        return ok(await clusterPage(rpc, (page) => ({ op: 'topics', ...(topic !== undefined ? { topic } : {}), page }), q.page, q.limit, nodesOf(ctx, q.node)));
      },
    },
    {
      method: 'GET',
      url: '/topics/:topic',
      tags: ['Topics'],
      summary: 'The members that have subscribers to exactly this filter (URL-encoded)',
      params: S.obj({ topic: { type: 'string', minLength: 1, maxLength: 65535 } }, ['topic']),
      response: { 200: S.arr(S.obj({ topic: S.str(), node: S.str() })), 404: ERROR_SCHEMA },
      async handler(req) {
        const topic = req.params.topic!;
        const g = await rpc.gather<{ rows: Json[] }>({ op: 'topics', topic, page: { offset: 0, limit: 1 } });
        const rows = g.answers.flatMap((a) => a.value.rows);
        if (rows.length === 0) throw new ApiError(404, 'TOPIC_NOT_FOUND', 'Topic not found');
        return ok(rows);
      },
    },
  ];
}
