// EMQX's topic rewrite and auto subscribe APIs (emqx_rewrite_api, emqx_auto_subscribe_api): the
// rules and topics in force on this node, as emqx.conf sets them. Changing them is done in
// emqx.conf (a saved change applies at once); PUT says so.
import type { Broker } from '../../broker/broker.js';
import { ApiError, ERROR_SCHEMA } from '../errors.js';
import { ok, S, type RouteDef } from './route.js';

const RULE = S.obj({ action: { type: 'string', enum: ['publish', 'subscribe', 'all'] }, source_topic: S.str(), dest_topic: S.str(), re: S.str() });
const TOPIC = S.obj({ topic: S.str(), qos: S.int(0, 2), rh: S.int(0, 2), rap: S.int(0, 1), nl: S.int(0, 1) });

/** A PUT of settings EMQX keeps in cluster.hocon: here they are emqx.conf's. */
export function putRefused(url: string, keys: string, body: object): RouteDef {
  return {
    method: 'PUT',
    url,
    tags: ['MQTT'],
    summary: `Not here: set ${keys} in emqx.conf, applied when the file is saved`,
    body,
    response: { 400: ERROR_SCHEMA },
    handler() {
      throw new ApiError(400, 'BAD_REQUEST', `${keys} is configured in emqx.conf on each node; a saved change applies at once`);
    },
  };
}

export function extensionRoutes(broker: Broker): RouteDef[] {
  return [
    {
      method: 'GET',
      url: '/mqtt/topic_rewrite',
      tags: ['MQTT'],
      summary: 'The topic rewrite rules (rewrite of emqx.conf), in the order they are tried',
      response: { 200: S.arr(RULE) },
      handler: () => ok(broker.extensions().rewrite.map((r) => ({ action: r.action, source_topic: r.source_topic, dest_topic: r.dest_topic, re: r.re }))),
    },
    putRefused('/mqtt/topic_rewrite', 'rewrite', S.arr(S.any())),
    {
      method: 'GET',
      url: '/mqtt/auto_subscribe',
      tags: ['MQTT'],
      summary: 'The topics every client is subscribed to when it connects (auto_subscribe.topics of emqx.conf)',
      response: { 200: S.arr(TOPIC) },
      handler: () => ok(broker.extensions().autoSubscribe.map((t) => ({ topic: t.topic, qos: t.qos, rh: t.rh, rap: t.rap, nl: t.nl }))),
    },
    putRefused('/mqtt/auto_subscribe', 'auto_subscribe.topics', S.arr(S.any())),
  ];
}
