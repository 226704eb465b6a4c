// EMQX's topic metrics API (emqx_topic_metrics_api): the metered topics with the cluster's counts
// and rates (every running member's added up), one of them, a topic added (every member meters it
// from then on) or removed, and counts reset on every member. Topics of emqx.conf's
// `topic_metrics` are listed too and cannot be removed here.
import { sumTopicMetrics, type TopicMetricsRow } from '../../broker/topic-metrics.js';
import { describeTopicProblem, validateTopicName } from '../../mqtt/topic.js';
import type { TopicMetricsList } from '../../router/topic-metrics-store.js';
import type { ApiContext } from '../context.js';
import { ApiError, ERROR_SCHEMA } from '../errors.js';
import { rfc3339 } from '../format/time.js';
import { onEveryMember } from './paging.js';
import { noContent, ok, S, type RouteDef } from './route.js';

const TOPIC_PARAM = S.obj({ topic: { type: 'string', minLength: 1, maxLength: 65535 } }, ['topic']);
const NOT_FOUND = (topic: string): ApiError => new ApiError(404, 'TOPIC_NOT_FOUND', `Topic ${topic} not found`);

function json(r: TopicMetricsRow): Record<string, unknown> {
  return { topic: r.topic, create_time: rfc3339(r.create_time), ...(r.reset_time !== undefined ? { reset_time: rfc3339(r.reset_time) } : {}), metrics: r.metrics };
}

export function topicMetricRoutes(ctx: ApiContext, list: () => TopicMetricsList | undefined): RouteDef[] {
  const metered = (): TopicMetricsList => {
    const l = list();
    if (!l) throw new ApiError(503, 'SERVICE_UNAVAILABLE', 'the router is not running');
    return l;
  };
  /** The cluster's rows: each running member's counts added up. */
  const cluster = async (): Promise<TopicMetricsRow[]> => {
    const g = await ctx.rpc.gather<TopicMetricsRow[]>({ op: 'topic_metrics' });
    return sumTopicMetrics(g.answers.map((a) => a.value));
  };
  return [
    {
      method: 'GET',
      url: '/mqtt/topic_metrics',
      tags: ['MQTT'],
      summary: "The metered topics with the cluster's counts and rates (per second, over the last 5 s)",
      response: { 200: S.any() },
      handler: async () => ok((await cluster()).map(json)),
    },
    {
      method: 'GET',
      url: '/mqtt/topic_metrics/:topic',
      tags: ['MQTT'],
      summary: 'One metered topic (URL-encoded)',
      params: TOPIC_PARAM,
      response: { 200: S.any(), 404: ERROR_SCHEMA },
      async handler(req) {
        const { topic } = req.params as { topic: string };
        const row = (await cluster()).find((r) => r.topic === topic);
        if (!row) throw NOT_FOUND(topic);
        return ok(json(row));
      },
    },
    {
      method: 'POST',
      url: '/mqtt/topic_metrics',
      tags: ['MQTT'],
      summary: 'Meters a topic on every member (a topic name: no wildcards; at most 512)',
      body: TOPIC_PARAM,
      response: { 200: S.any(), 400: ERROR_SCHEMA, 409: ERROR_SCHEMA },
      async handler(req) {
        const { topic } = req.body as { topic: string };
        const problem = validateTopicName(topic, Number.POSITIVE_INFINITY);
        if (problem) throw new ApiError(400, 'BAD_TOPIC', `'${topic}' is not a topic name: ${describeTopicProblem(problem)} (topic metrics take no wildcards)`);
        const outcome = await metered().add(topic, ctx.now());
        if (outcome === 'exists') throw new ApiError(409, 'ALREADY_EXISTED', `Topic ${topic} already registered`);
        if (outcome === 'limit') throw new ApiError(409, 'EXCEED_LIMIT', 'Topic metrics exceeded max limit 512');
        return ok({ topic, create_time: rfc3339(ctx.now()), metrics: {} });
      },
    },
    {
      method: 'PUT',
      url: '/mqtt/topic_metrics',
      tags: ['MQTT'],
      summary: "Resets the counts of one topic or of all, on every running member ({action: 'reset', topic?})",
      body: S.obj({ action: { type: 'string', enum: ['reset'] }, topic: { type: 'string', minLength: 1, maxLength: 65535 } }, ['action']),
      response: { 204: S.any(), 404: ERROR_SCHEMA, 503: ERROR_SCHEMA },
      async handler(req) {
        const { topic } = req.body as { topic?: string };
        if (topic !== undefined && !metered().topics().has(topic)) throw NOT_FOUND(topic);
        await onEveryMember(ctx.rpc, topic === undefined ? { op: 'topic_metrics_reset' } : { op: 'topic_metrics_reset', topic }, 'their counts were not reset');
        return noContent();
      },
    },
    {
      method: 'DELETE',
      url: '/mqtt/topic_metrics/:topic',
      tags: ['MQTT'],
      summary: 'Stops metering a topic on every member',
      params: TOPIC_PARAM,
      response: { 204: S.any(), 400: ERROR_SCHEMA, 404: ERROR_SCHEMA },
      async handler(req) {
        const { topic } = req.params as { topic: string };
        const outcome = await metered().remove(topic);
        if (outcome === 'not_found') throw NOT_FOUND(topic);
        if (outcome === 'configured') throw new ApiError(400, 'BAD_REQUEST', `Topic ${topic} is metered by topic_metrics in emqx.conf: remove it there`);
        return noContent();
      },
    },
  ];
}
