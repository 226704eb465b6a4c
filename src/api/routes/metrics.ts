// GET /stats, /metrics (EMQX: per member unless aggregate=true), /monitor and /monitor_current
// (the dashboard's chart, EMQX's emqx_dashboard_monitor_api) and /prometheus/stats.
import type { ApiContext } from '../context.js';
import { ERROR_SCHEMA } from '../errors.js';
import { mergeSamples, type Sample } from '../cluster/monitor.js';
import { formatPrometheus, PROM_MODES, type NodeFigures, type PromMode } from '../format/prometheus.js';
import { onRunningNode } from './nodes.js';
import { NODE_PARAM, ok, S, type RouteDef } from './route.js';

function sum(rows: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v;
  return out;
}

export function metricRoutes(ctx: ApiContext): RouteDef[] {
  const { rpc } = ctx;
  const perNode = (op: 'stats' | 'metrics'): RouteDef => ({
    method: 'GET',
    url: `/${op}`,
    tags: ['Metrics'],
    summary: op === 'stats' ? 'Stats of every running member, or their sum with aggregate=true' : 'Metrics of every running member, or their sum with aggregate=true',
    querystring: S.obj({ aggregate: S.bool('Sum over the members'), node: S.str() }),
    response: { 200: { oneOf: [S.arr(S.any()), S.any()] } },
    async handler(req) {
      const nodes = req.query.node === undefined ? undefined : rpc.isRunning(String(req.query.node)) ? [String(req.query.node)] : [];
      const g = await rpc.gather<Record<string, number>>({ op }, nodes);
      if (req.query.aggregate === true) return ok(sum(g.answers.map((a) => a.value)));
      return ok(g.answers.map((a) => ({ node: a.node, ...a.value })));
    },
  });
  const latest = S.obj({ latest: S.int(1, undefined, 'The latest N seconds, e.g. 300') });
  return [
    perNode('stats'),
    perNode('metrics'),
    {
      method: 'GET',
      url: '/monitor',
      tags: ['Metrics'],
      summary: 'Samples of the whole cluster: messages received, sent, dropped per sample interval, and counts',
      querystring: latest,
      response: { 200: S.arr(S.any()) },
      async handler(req) {
        const l = req.query.latest === undefined ? undefined : Number(req.query.latest);
        const g = await rpc.gather<Sample[]>({ op: 'monitor', ...(l !== undefined ? { latest: l } : {}) });
        return ok(mergeSamples(g.answers.map((a) => a.value)));
      },
    },
    {
      method: 'GET',
      url: '/monitor/nodes/:node',
      tags: ['Metrics'],
      summary: "One member's samples",
      params: NODE_PARAM,
      querystring: latest,
      response: { 200: S.arr(S.any()), 404: ERROR_SCHEMA },
      async handler(req) {
        const l = req.query.latest === undefined ? undefined : Number(req.query.latest);
        const node = req.params.node!;
        return ok(await onRunningNode(rpc, node, () => rpc.call(node, { op: 'monitor', ...(l !== undefined ? { latest: l } : {}) })));
      },
    },
    {
      method: 'GET',
      url: '/monitor_current',
      tags: ['Metrics'],
      summary: 'Message rates per second and counts now, summed over the cluster',
      response: { 200: S.any() },
      async handler() {
        const g = await rpc.gather<Record<string, number>>({ op: 'monitor_current' });
        const { node_uptime: _u, ...total } = sum(g.answers.map((a) => a.value));
        return ok(total);
      },
    },
    {
      method: 'GET',
      url: '/monitor_current/nodes/:node',
      tags: ['Metrics'],
      summary: "One member's message rates and counts now",
      params: NODE_PARAM,
      response: { 200: S.any(), 404: ERROR_SCHEMA },
      handler: async (req) => ok(await onRunningNode(rpc, req.params.node!, () => rpc.call(req.params.node!, { op: 'monitor_current' }))),
    },
    {
      method: 'GET',
      url: '/prometheus/stats',
      auth: 'none',
      tags: ['Monitor'],
      summary: 'Prometheus text format; mode=all_nodes_aggregated covers the cluster in one scrape',
      querystring: S.obj({ mode: { type: 'string', enum: PROM_MODES, default: 'node' } }),
      response: { 200: { type: 'string', description: 'text/plain; version=0.0.4' } },
      async handler(req) {
        const mode = (req.query.mode ?? 'node') as PromMode;
        const g = mode === 'node' ? await rpc.gather<NodeFigures>({ op: 'prometheus' }, [rpc.self]) : await rpc.gather<NodeFigures>({ op: 'prometheus' });
        const text = formatPrometheus(
          mode,
          g.answers.map((a) => ({ node: a.node, figures: a.value })),
        );
        return { status: 200, type: 'text/plain; version=0.0.4; charset=utf-8', body: text };
      },
    },
  ];
}
