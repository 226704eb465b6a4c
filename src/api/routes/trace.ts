// EMQX's log trace API (emqx_mgmt_api_trace): traces of a client id, a topic filter or an IP
// address, created once for the whole cluster (a row of the replicated `trace` table) and run by
// every member on its own clients between `start_at` and `end_at`. The files stay on their
// nodes: sizes, a window of bytes and the download are asked of each node over the cluster link.
import { MAX_TRACES } from '../../mqtt/tracer.js';
import type { ClusterTraces } from '../../trace/cluster-traces.js';
import { traceFromRequest, traceStatus, TRACE_TYPES, type TraceRow } from '../../trace/trace-row.js';
import type { ApiContext } from '../context.js';
import { ApiError, ERROR_SCHEMA } from '../errors.js';
import { zipStore } from '../format/zip.js';
import { attachment, noContent, ok, S, type RouteDef } from './route.js';

const NAME_PARAM = S.obj({ name: { type: 'string', minLength: 1, maxLength: 256 } }, ['name']);
const NOT_FOUND = (name: string): ApiError => new ApiError(404, 'NOT_FOUND', `${name} NOT FOUND`);

/** EMQX's trace fields: the filter under its type's key, times in RFC 3339 (seconds). */
function traceJson(r: TraceRow, now: number, logSize: Record<string, number>): Record<string, unknown> {
  const at = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  return {
    name: r.name,
    type: r.type,
    [r.type]: r.filter,
    start_at: at(r.startAt),
    end_at: at(r.endAt),
    status: traceStatus(r, now),
    payload_encode: r.payloadEncode,
    formatter: r.formatter,
    log_size: logSize,
  };
}

export function traceRoutes(ctx: ApiContext, traces: () => ClusterTraces | undefined): RouteDef[] {
  const { rpc } = ctx;
  const live = (): ClusterTraces => {
    const t = traces();
    if (!t) throw new ApiError(503, 'SERVICE_UNAVAILABLE', 'traces are not running on this node yet');
    return t;
  };
  const known = (name: string): TraceRow => {
    const r = live().get(name);
    if (!r) throw NOT_FOUND(name);
    return r;
  };
  /** The node a log request names (default this one): a running member, else 400 NODE_ERROR. */
  const nodeOf = (v: unknown): string => {
    const node = v === undefined ? rpc.self : String(v);
    if (!rpc.isRunning(node)) throw new ApiError(400, 'NODE_ERROR', 'Node not found');
    return node;
  };
  return [
    {
      method: 'GET',
      url: '/trace',
      tags: ['Trace'],
      summary: "The cluster's traces, newest first, with each running member's file size",
      response: { 200: S.arr(S.any()) },
      async handler() {
        const rows = live().list();
        const sizes = await rpc.gather<Record<string, number>>({ op: 'trace_sizes' });
        const now = ctx.now();
        return ok(rows.map((r) => traceJson(r, now, Object.fromEntries(sizes.answers.map((a) => [a.node, a.value[r.name] ?? 0])))));
      },
    },
    {
      method: 'POST',
      url: '/trace',
      tags: ['Trace'],
      summary: 'Creates a trace for the whole cluster (default: from now, for 10 minutes)',
      body: S.obj(
        {
          name: S.str(),
          type: { type: 'string', enum: [...TRACE_TYPES] },
          clientid: { type: 'string', maxLength: 65535 },
          topic: { type: 'string', maxLength: 65535 },
          ip_address: { type: 'string', maxLength: 64 },
          start_at: { anyOf: [{ type: 'string', maxLength: 64 }, { type: 'integer', minimum: 0 }] },
          end_at: { anyOf: [{ type: 'string', maxLength: 64 }, { type: 'integer', minimum: 0 }] },
          payload_encode: { type: 'string', enum: ['text', 'hex', 'hidden'] },
          formatter: { type: 'string', enum: ['text', 'json'] },
          payload_limit: S.int(0),
        },
        ['name', 'type'],
      ),
      response: { 200: S.any(), 400: ERROR_SCHEMA, 409: ERROR_SCHEMA },
      notWhileJoining: true,
      async handler(req) {
        const now = ctx.now();
        const row = traceFromRequest(req.body as Record<string, unknown>, now);
        if ('error' in row) throw new ApiError(400, 'BAD_REQUEST', row.error);
        const res = await live().create(row, MAX_TRACES);
        if (!res.ok) throw new ApiError(res.code === 'BAD_REQUEST' ? 400 : 409, res.code, res.message);
        ctx.log.info({ trace: row.name, [row.type]: row.filter }, 'trace created through the API');
        return ok(traceJson(row, now, {}));
      },
    },
    {
      method: 'DELETE',
      url: '/trace',
      tags: ['Trace'],
      summary: 'Deletes every trace and its files on every member',
      notWhileJoining: true,
      async handler() {
        await live().clear();
        return noContent();
      },
    },
    {
      method: 'DELETE',
      url: '/trace/:name',
      tags: ['Trace'],
      summary: 'Deletes a trace and its files on every member',
      params: NAME_PARAM,
      response: { 404: ERROR_SCHEMA },
      notWhileJoining: true,
      async handler(req) {
        if (!(await live().delete(req.params.name!))) throw NOT_FOUND(req.params.name!);
        return noContent();
      },
    },
    {
      method: 'PUT',
      url: '/trace/:name/stop',
      tags: ['Trace'],
      summary: 'Stops a trace on every member; its files stay',
      params: NAME_PARAM,
      response: { 200: S.obj({ enable: S.bool(), name: S.str() }), 404: ERROR_SCHEMA },
      notWhileJoining: true,
      async handler(req) {
        if (!(await live().disable(req.params.name!))) throw NOT_FOUND(req.params.name!);
        return ok({ enable: false, name: req.params.name! });
      },
    },
    {
      method: 'GET',
      url: '/trace/:name/log_detail',
      tags: ['Trace'],
      summary: "Each running member's file of the trace: size and last change",
      params: NAME_PARAM,
      response: { 200: S.arr(S.any()), 404: ERROR_SCHEMA },
      async handler(req) {
        known(req.params.name!);
        const g = await rpc.gather<{ size: number; mtime: number } | null>({ op: 'trace_detail', name: req.params.name! });
        return ok(g.answers.filter((a) => a.value !== null).map((a) => ({ node: a.node, size: a.value!.size, mtime: Math.floor(a.value!.mtime / 1000) })));
      },
    },
    {
      method: 'GET',
      url: '/trace/:name/log',
      tags: ['Trace'],
      summary: "A window of one member's file: `bytes` from `position` (follow it with meta.position)",
      params: NAME_PARAM,
      querystring: S.obj({ node: S.str(), bytes: { type: 'integer', minimum: 1, maximum: 10 * 1024 * 1024, default: 1000 }, position: { type: 'integer', minimum: 0, default: 0 } }),
      response: { 200: S.obj({ items: S.str(), meta: S.obj({ position: S.int(), bytes: S.int() }) }), 400: ERROR_SCHEMA, 404: ERROR_SCHEMA },
      async handler(req) {
        known(req.params.name!);
        const q = req.query as { node?: string; bytes: number; position: number };
        const node = nodeOf(q.node);
        const r = await rpc.call<{ data: Uint8Array; size: number } | null>(node, { op: 'trace_read', name: req.params.name!, position: q.position, bytes: q.bytes });
        if (!r) throw NOT_FOUND(req.params.name!);
        const data = Buffer.from(r.data);
        // At the end of the file, the position is its size (EMQX's eof answer).
        return ok({ items: data.toString('utf8'), meta: { position: data.length > 0 ? q.position + data.length : r.size, bytes: q.bytes } });
      },
    },
    {
      method: 'GET',
      url: '/trace/:name/download',
      tags: ['Trace'],
      summary: 'A zip of the trace files of every running member (or of `node`), each named after its node',
      params: NAME_PARAM,
      querystring: S.obj({ node: S.str() }),
      response: { 400: ERROR_SCHEMA, 404: ERROR_SCHEMA },
      async handler(req) {
        const name = req.params.name!;
        known(name);
        const q = req.query as { node?: string };
        const nodes = q.node === undefined ? undefined : [nodeOf(q.node)];
        const g = await rpc.gather<{ name: string; data: Uint8Array; mtime: number } | null>({ op: 'trace_file', name }, nodes);
        const entries = g.answers.filter((a) => a.value !== null).map((a) => ({ name: `${a.node}-${a.value!.name}`, data: Buffer.from(a.value!.data), mtime: a.value!.mtime || ctx.now() }));
        return attachment(zipStore(entries), `${name}.zip`);
      },
    },
  ];
}
