// EMQX's MQTT listeners API (emqx_mgmt_api_listeners): every running member's listeners, grouped
// by id with each node's status; one listener's settings; start, stop or restart on every member;
// and one node's list. Changing a listener's settings is done in emqx.conf (applied on save).
import { effectiveTree } from '../../config/schema.js';
import type { ApiContext } from '../context.js';
import type { ListenerAction, ListenerRow } from '../cluster/local-ops.js';
import { ApiError, ERROR_SCHEMA } from '../errors.js';
import { onRunningNode } from './nodes.js';
import { NODE_PARAM, ok, S, type RouteDef } from './route.js';

const ID_PARAM = S.obj({ id: { type: 'string', minLength: 3, maxLength: 256, description: 'tcp:default, ssl:internal, ...' } }, ['id']);
const TYPES = ['tcp', 'ssl', 'ws', 'wss'];
const NOT_FOUND = (): ApiError => new ApiError(404, 'BAD_LISTENER_ID', 'Listener id not found');

const typeOf = (id: string): string => id.slice(0, id.indexOf(':'));
const sum = (a: number | 'infinity', b: number | 'infinity'): number | 'infinity' => (a === 'infinity' || b === 'infinity' ? 'infinity' : a + b);

export function mqttListenerRoutes(ctx: ApiContext): RouteDef[] {
  const { rpc } = ctx;
  return [
    {
      method: 'GET',
      url: '/listeners',
      tags: ['Listeners'],
      summary: "Every running member's MQTT listeners by id, with each node's status",
      querystring: S.obj({ type: { type: 'string', enum: TYPES } }),
      response: { 200: S.arr(S.any()) },
      async handler(req) {
        const type = req.query.type as string | undefined;
        const g = await rpc.gather<ListenerRow[]>({ op: 'listeners' });
        const byId = new Map<string, { id: string; type: string; bind: string; enable: boolean; running: boolean; status: { max_connections: number | 'infinity'; current_connections: number }; node_status: Array<Record<string, unknown>> }>();
        for (const a of g.answers) {
          for (const l of a.value) {
            if (type !== undefined && typeOf(l.id) !== type) continue;
            const node = { node: a.node, running: l.running, max_connections: l.max_connections, current_connections: l.current_connections };
            const e = byId.get(l.id);
            if (!e) {
              byId.set(l.id, { id: l.id, type: typeOf(l.id), bind: l.bind, enable: l.enable, running: l.running, status: { max_connections: l.max_connections, current_connections: l.current_connections }, node_status: [node] });
              continue;
            }
            e.running &&= l.running;
            e.status.max_connections = sum(e.status.max_connections, l.max_connections);
            e.status.current_connections += l.current_connections;
            e.node_status.push(node);
          }
        }
        return ok([...byId.values()].map((e) => ({ ...e, number: e.node_status.length })));
      },
    },
    {
      method: 'GET',
      url: '/listeners/:id',
      tags: ['Listeners'],
      summary: "One listener's settings on this node, and its connections over the cluster",
      params: ID_PARAM,
      response: { 200: S.any(), 404: ERROR_SCHEMA },
      async handler(req) {
        const id = req.params.id!;
        const [type, name] = [typeOf(id), id.slice(id.indexOf(':') + 1)];
        const listeners = effectiveTree(ctx.config()).listeners as Record<string, Record<string, Record<string, unknown>> | undefined>;
        const conf = listeners[type]?.[name];
        if (!TYPES.includes(type) || conf === undefined) throw NOT_FOUND();
        const g = await rpc.gather<ListenerRow[]>({ op: 'listeners' });
        const rows = g.answers.flatMap((a) => a.value.filter((l) => l.id === id));
        const here = g.answers.find((a) => a.node === rpc.self)?.value.find((l) => l.id === id);
        return ok({ ...conf, id, type, name, running: here?.running ?? false, current_connections: rows.reduce((n, l) => n + l.current_connections, 0) });
      },
    },
    {
      method: 'POST',
      url: '/listeners/:id/:action',
      tags: ['Listeners'],
      summary: 'Starts, stops or restarts a listener on every running member',
      params: S.obj({ id: { type: 'string', minLength: 3, maxLength: 256 }, action: { type: 'string', enum: ['start', 'stop', 'restart'] } }, ['id', 'action']),
      response: { 200: { description: 'Updated' }, 400: ERROR_SCHEMA, 404: ERROR_SCHEMA },
      async handler(req) {
        const id = req.params.id!;
        const action = req.params.action as ListenerAction;
        const known = await rpc.gather<ListenerRow[]>({ op: 'listeners' });
        if (!known.answers.some((a) => a.value.some((l) => l.id === id))) throw NOT_FOUND();
        const g = await rpc.gather<{ ok: true } | { ok: false; error: string }>({ op: 'listener_action', id, action });
        const errors = g.answers.filter((a) => !a.value.ok).map((a) => `${a.node}: ${(a.value as { error: string }).error}`);
        // A stopped member is not asked (as EMQX asks the running nodes); one running that did not answer is an error.
        for (const n of g.down.filter((d) => rpc.isRunning(d))) errors.push(`${n}: not answering`);
        if (errors.length > 0) throw new ApiError(400, 'BAD_REQUEST', errors.join('; '));
        ctx.log.info({ listener: id, action }, `listener ${id}: ${action} on every member through the API`);
        return { status: 200 };
      },
    },
    {
      method: 'GET',
      url: '/nodes/:node/listeners',
      tags: ['Listeners'],
      summary: "One member's MQTT listeners",
      params: NODE_PARAM,
      response: { 200: S.arr(S.any()), 404: ERROR_SCHEMA },
      handler: (req) => onRunningNode(rpc, req.params.node!, async () => ok(await rpc.call<ListenerRow[]>(req.params.node!, { op: 'listeners' }))),
    },
  ];
}
