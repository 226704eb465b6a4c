// EMQX's retainer API (emqx_retainer_api): the settings, the retained messages of the cluster
// (paged, optionally matching a topic filter), one with its payload, and deletes. The messages
// live in the replicated table, so this node answers for the whole cluster.
import { createHash } from 'node:crypto';
import type { Retainer } from '../../broker/retainer.js';
import { effectiveTree } from '../../config/schema.js';
import type { Message } from '../../mqtt/port.js';
import { validateFilter } from '../../mqtt/topic.js';
import type { ApiContext } from '../context.js';
import { ApiError, ERROR_SCHEMA } from '../errors.js';
import { rfc3339 } from '../format/time.js';
import { putRefused } from './extensions.js';
import { noContent, ok, PAGE_QUERY, S, type RouteDef } from './route.js';

/** EMQX shows the payload of a retained message up to this size. */
const MAX_PAYLOAD_SHOWN = 1024 * 1024;
const TOPIC_PARAM = S.obj({ topic: { type: 'string', minLength: 1, maxLength: 65535 } }, ['topic']);
const NOT_FOUND = (): ApiError => new ApiError(404, 'NOT_FOUND', "Viewed message doesn't exist");

/** A stable id per stored message: its time, then a digest of its topic. */
function msgid(topic: string, m: Message): string {
  const b = Buffer.alloc(16);
  b.writeUIntBE(m.timestamp, 0, 6);
  createHash('sha1').update(topic).digest().copy(b, 6, 0, 10);
  return b.toString('hex').toUpperCase();
}

function summary(topic: string, m: Message): Record<string, unknown> {
  return { msgid: msgid(topic, m), topic, qos: m.qos, publish_at: rfc3339(m.timestamp), from_clientid: m.from, from_username: '' };
}

export function retainerRoutes(ctx: ApiContext, retainer: Retainer): RouteDef[] {
  /** The live message of exactly this topic (expired ones are gone). */
  const lookup = (topic: string): Message | undefined => {
    const m = retainer.get(topic);
    return m && m.expiresAt > ctx.now() ? m : undefined;
  };
  return [
    {
      method: 'GET',
      url: '/mqtt/retainer',
      tags: ['Retainer'],
      summary: 'The retainer settings (retainer of emqx.conf)',
      response: { 200: S.any() },
      handler: () => ok({ ...(effectiveTree(ctx.config()).retainer as object), backend: { ...ctx.config().retainer.backend, type: 'built_in_database' } }),
    },
    putRefused('/mqtt/retainer', 'retainer', S.any()),
    {
      method: 'GET',
      url: '/mqtt/retainer/messages',
      tags: ['Retainer'],
      summary: 'Retained messages, by topic, paged; `topic` is a filter they must match',
      querystring: S.obj({ ...PAGE_QUERY, topic: { type: 'string', minLength: 1, maxLength: 65535 } }),
      response: { 200: S.any(), 400: ERROR_SCHEMA },
      handler(req) {
        const { page, limit, topic } = req.query as { page: number; limit: number; topic?: string };
        let rows: Array<[string, Message]>;
        if (topic !== undefined) {
          if (validateFilter(topic, Number.POSITIVE_INFINITY) !== undefined) throw new ApiError(400, 'BAD_REQUEST', `'${topic}' is not a topic filter`);
          rows = retainer.match(topic, ctx.now()).map((m) => [m.topic, m]);
        } else {
          rows = [];
          for (const t of retainer.topics()) {
            const m = lookup(t);
            if (m) rows.push([t, m]);
          }
        }
        rows.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        const offset = (page - 1) * limit;
        const data = rows.slice(offset, offset + limit).map(([t, m]) => summary(t, m));
        return ok({ data, meta: { page, limit, hasnext: offset + data.length < rows.length, ...(topic === undefined ? { count: rows.length } : {}) } });
      },
    },
    {
      method: 'DELETE',
      url: '/mqtt/retainer/messages',
      tags: ['Retainer'],
      summary: 'Deletes every retained message, on every member',
      notWhileJoining: true,
      async handler() {
        await retainer.clean();
        return noContent();
      },
    },
    {
      method: 'GET',
      url: '/mqtt/retainer/message/:topic',
      tags: ['Retainer'],
      summary: 'One retained message with its payload (base64), by its topic (URL-encoded)',
      params: TOPIC_PARAM,
      response: { 200: S.any(), 404: ERROR_SCHEMA },
      handler(req) {
        const topic = req.params.topic!;
        const m = lookup(topic);
        if (!m) throw NOT_FOUND();
        return ok({ ...summary(topic, m), ...(m.payload.length <= MAX_PAYLOAD_SHOWN ? { payload: m.payload.toString('base64') } : {}) });
      },
    },
    {
      method: 'DELETE',
      url: '/mqtt/retainer/message/:topic',
      tags: ['Retainer'],
      summary: 'Deletes the retained message of a topic, on every member',
      params: TOPIC_PARAM,
      response: { 204: { description: 'Deleted' }, 404: ERROR_SCHEMA },
      notWhileJoining: true,
      async handler(req) {
        const topic = req.params.topic!;
        if (!lookup(topic)) throw NOT_FOUND();
        await retainer.clean(topic);
        return noContent();
      },
    },
  ];
}
