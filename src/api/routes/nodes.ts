// GET /status, /nodes, /nodes/:node, /nodes/:node/stats|metrics, /cluster, and the invite and
// force-leave workflows (EMQX's emqx_mgmt_api_status, _nodes, _cluster). A node's own figures
// come from that node over the cluster link; a stopped member is listed as stopped.
import { ClusterError } from '../../cluster/errors.js';
import { erlReason } from '../../cluster/status-format.js';
import { parseNodeName, qualifyNodeName } from '../../node/name.js';
import type { ApiContext } from '../context.js';
import { ApiError, ERROR_SCHEMA, badRequest, nodeNotFound } from '../errors.js';
import { stoppedNodeInfo } from '../cluster/node-info.js';
import { NodeDownError, type ClusterRpc } from '../cluster/rpc.js';
import type { JoinAnswer } from '../cluster/local-ops.js';
import { NODE_PARAM, noContent, ok, S, type ApiReply, type RouteDef } from './route.js';

const NODE_INFO = S.obj(
  {
    node: S.str(),
    node_status: { type: 'string', enum: ['running', 'stopped'] },
    role: S.str(),
    version: S.str(),
    uptime: S.int(0, undefined, 'ms'),
    connections: S.int(),
    live_connections: S.int(),
    memory_total: S.str(),
    memory_used: S.str(),
    load1: { type: 'number' },
    load5: { type: 'number' },
    load15: { type: 'number' },
  },
  ['node', 'node_status'],
  true,
);

/** EMQX's with_node: a member that is not running is not found; one that does not answer is down. */
export async function onRunningNode<T>(rpc: ClusterRpc, node: string, run: () => Promise<T>): Promise<T> {
  if (!rpc.isRunning(node)) throw nodeNotFound(node);
  try {
    return await run();
  } catch (err) {
    if (err instanceof NodeDownError) throw new ApiError(503, 'NODE_DOWN', err.message);
    throw err;
  }
}

/** The operator's node name, completed with this node's host when it has no `@` (as the ctl does). */
function nodeArg(raw: string, self: string): string {
  const full = qualifyNodeName(raw, self);
  try {
    parseNodeName(full);
  } catch {
    throw badRequest('Bad node name');
  }
  return full;
}

function statusText(ctx: ApiContext, format: string): ApiReply {
  const node = ctx.rpc.self;
  if (format === 'json') {
    return { status: 200, body: { node_name: node, rel_vsn: ctx.version, broker_status: 'started', app_status: 'running' }, headers: { 'retry-after': '15' } };
  }
  return { status: 200, type: 'text/plain', body: `Node ${node} is started\nemqx is running`, headers: { 'retry-after': '15' } };
}

export function nodeRoutes(ctx: ApiContext): RouteDef[] {
  const { rpc } = ctx;
  const cluster = (): NonNullable<ReturnType<ApiContext['cluster']>> => {
    const c = ctx.cluster();
    if (!c) throw new ApiError(503, 'SERVICE_UNAVAILABLE', 'membership is not running yet');
    return c;
  };
  return [
    {
      method: 'GET',
      url: '/status',
      auth: 'none',
      tags: ['Status'],
      summary: "This node's status, for health checks",
      querystring: S.obj({ format: { type: 'string', enum: ['text', 'json'], default: 'text' } }),
      handler: (req) => statusText(ctx, String(req.query.format ?? 'text')),
    },
    {
      method: 'GET',
      url: '/nodes',
      tags: ['Nodes'],
      summary: 'Every member: running ones as they report themselves, stopped ones as stopped',
      response: { 200: S.arr(NODE_INFO) },
      async handler() {
        const g = await rpc.gather<Record<string, unknown>>({ op: 'info' });
        const rows = [...g.answers.map((a) => a.value), ...g.down.map(stoppedNodeInfo)];
        return ok(rows.sort((a, b) => String(a.node).localeCompare(String(b.node))));
      },
    },
    {
      method: 'GET',
      url: '/nodes/:node',
      tags: ['Nodes'],
      summary: 'One member',
      params: NODE_PARAM,
      response: { 200: NODE_INFO, 404: ERROR_SCHEMA },
      async handler(req) {
        const node = req.params.node!;
        if (!rpc.isMember(node)) throw nodeNotFound(node);
        if (!rpc.isRunning(node)) return ok(stoppedNodeInfo(node));
        try {
          return ok(await rpc.call(node, { op: 'info' }));
        } catch (err) {
          if (err instanceof NodeDownError) return ok(stoppedNodeInfo(node));
          throw err;
        }
      },
    },
    {
      method: 'GET',
      url: '/nodes/:node/stats',
      tags: ['Nodes'],
      summary: "A member's stats (emqx_stats names)",
      params: NODE_PARAM,
      response: { 200: S.any(), 404: ERROR_SCHEMA },
      handler: async (req) => ok(await onRunningNode(rpc, req.params.node!, () => rpc.call(req.params.node!, { op: 'stats' }))),
    },
    {
      method: 'GET',
      url: '/nodes/:node/metrics',
      tags: ['Nodes'],
      summary: "A member's metrics (emqx_metrics names)",
      params: NODE_PARAM,
      response: { 200: S.any(), 404: ERROR_SCHEMA },
      handler: async (req) => ok(await onRunningNode(rpc, req.params.node!, () => rpc.call(req.params.node!, { op: 'metrics' }))),
    },
    {
      method: 'GET',
      url: '/cluster',
      tags: ['Cluster'],
      summary: 'The cluster name, its running members and this node',
      response: { 200: S.obj({ name: S.str(), nodes: S.arr(S.str()), self: S.str() }, [], true) },
      handler: () => ok({ name: ctx.config().cluster.name, nodes: rpc.running(), self: rpc.self, stopped_nodes: rpc.stopped() }),
    },
    {
      method: 'GET',
      url: '/cluster/topology',
      tags: ['Cluster'],
      summary: "The running members as EMQX's core nodes (every member here is one; there are no replicants)",
      response: { 200: S.arr(S.obj({ core_node: S.str(), replicant_nodes: S.arr(S.any()) })) },
      handler: () => ok(rpc.running().map((core_node) => ({ core_node, replicant_nodes: [] }))),
    },
    {
      method: 'PUT',
      url: '/cluster/:node/invite',
      notWhileJoining: true,
      tags: ['Cluster'],
      summary: 'Makes the node join this node\'s cluster (it is asked over the cluster link)',
      params: NODE_PARAM,
      body: S.obj({ timeout: S.int(undefined, undefined, 'ms, at least 5000; default 15000') }),
      response: { 200: { description: 'ok' }, 400: ERROR_SCHEMA, 409: ERROR_SCHEMA },
      async handler(req) {
        const node = nodeArg(req.params.node!, rpc.self);
        const timeout = (req.body as { timeout?: number } | undefined)?.timeout ?? 15_000;
        if (timeout < 5000) throw badRequest('timeout cannot be less than 5000ms');
        if (node === rpc.self) throw badRequest('Cannot invite self');
        const dist = ctx.dist();
        let answer: JoinAnswer;
        try {
          await dist.connect(node, { timeoutMs: timeout });
          answer = (await dist.call(node, 'api.rpc', { op: 'join', target: rpc.self }, timeout)) as JoinAnswer;
        } catch (err) {
          const code = (err as { code?: unknown }).code;
          throw badRequest(typeof code === 'string' && code !== 'timeout' ? erlReason(code, node) : erlReason('node_down', node));
        }
        if (!answer.ok) {
          const reason = answer.code === 'ignore' ? 'Cannot invite self' : ['singleton', 'node_not_in_cluster', 'join_in_progress'].includes(answer.code) ? answer.code : erlReason(answer.code, answer.node);
          throw badRequest(reason);
        }
        return ok(undefined);
      },
    },
    {
      method: 'DELETE',
      url: '/cluster/:node/force_leave',
      notWhileJoining: true,
      tags: ['Cluster'],
      summary: 'Removes a member (a running one is asked to leave; a stopped one is removed, and stays out)',
      params: NODE_PARAM,
      response: { 204: { description: 'Delete successfully' }, 400: ERROR_SCHEMA },
      async handler(req) {
        const node = nodeArg(req.params.node!, rpc.self);
        if (node === rpc.self) throw badRequest("Can't leave self");
        try {
          await cluster().forceLeave(node);
        } catch (err) {
          if (err instanceof ClusterError) {
            if (err.code === 'ignore') throw badRequest("Can't leave self");
            throw badRequest(err.code === 'node_not_in_cluster' ? err.code : erlReason(err.code, err.node));
          }
          throw err;
        }
        return noContent();
      },
    },
  ];
}
