// `emqx ctl traces`: EMQX's cluster-wide log traces from the command line (emqx_mgmt_cli:traces/1),
// with its words and strings: the same rows of the replicated `trace` table as /api/v5/trace, so
// a trace started here runs on every member and is seen by the API and the dashboard.
import type { CtlCommand, CtlResult } from '../ctl/types.js';
import { formatUsage } from '../ctl/registry.js';
import type { ClusterTraces } from './cluster-traces.js';
import { traceFromRequest, traceStatus } from './trace-row.js';
import { MAX_TRACES, type TraceType } from '../mqtt/tracer.js';
/** EMQX's default duration of a trace started from the command line, seconds. */
const DEFAULT_DURATION_S = 1800;

const USAGE: CtlCommand['usage'] = [
  ['traces list', 'List all cluster traces started'],
  ['traces start <Name> client <ClientId> [<Duration>] [<Formatter>]', 'Traces for a client in cluster (Formatter=text|json)'],
  ['traces start <Name> topic <Topic> [<Duration>] [<Formatter>]', 'Traces for a topic in cluster (Formatter=text|json)'],
  [
    'traces start <Name> ip_address <IPAddr> [<Duration>] [<Formatter>]',
    `Traces for a client IP in cluster\nTrace will start immediately on all nodes and will end after <Duration> seconds. The default value for <Duration> is ${DEFAULT_DURATION_S} seconds. (Formatter=text|json)`,
  ],
  ['traces stop <Name>', 'Stop trace in cluster'],
  ['traces delete <Name>', 'Delete trace in cluster'],
];

const TYPES: Readonly<Record<string, TraceType>> = { client: 'clientid', topic: 'topic', ip_address: 'ip_address' };

/** Erlang's `~0p` of a map of node names to sizes: `#{'n1@h' => 12}`. */
function logSizes(sizes: Readonly<Record<string, number>>): string {
  return `#{${Object.entries(sizes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([n, s]) => `'${n}' => ${s}`)
    .join(',')}}`;
}

export interface TracesCommandHost {
  traces(): ClusterTraces | undefined;
  /** Each running member's file sizes, by trace name. */
  sizes(): Promise<Readonly<Record<string, Readonly<Record<string, number>>>>>;
  now(): number;
}

export function tracesCommand(host: TracesCommandHost): CtlCommand {
  const usage: CtlResult = { code: 1, output: formatUsage(USAGE) };
  return {
    name: 'traces',
    usage: USAGE,
    async run(args) {
      const traces = host.traces();
      if (!traces) return { code: 1, output: '[error] cluster traces are not running\n' };
      const [op, name, kind, filter, duration, formatter] = args;
      if (op === 'list' && args.length === 1) {
        const rows = traces.list();
        if (rows.length === 0) return { code: 0, output: 'Cluster Trace is empty\n' };
        const sizes = await host.sizes();
        const now = host.now();
        const perTrace = (n: string): Record<string, number> => Object.fromEntries(Object.entries(sizes).map(([node, s]) => [node, s[n] ?? 0]));
        return { code: 0, output: rows.map((r) => `Trace(${r.name}: ${r.type}=${r.filter}, ${traceStatus(r, now)}, LogSize:${logSizes(perTrace(r.name))})\n`).join('') };
      }
      if (op === 'stop' && name !== undefined && args.length === 2) {
        return (await traces.disable(name)) ? { code: 0, output: `Stop cluster_trace ${name} successfully\n` } : { code: 1, output: `[error] Stop cluster_trace ${name}: not_found\n` };
      }
      if (op === 'delete' && name !== undefined && args.length === 2) {
        return (await traces.delete(name)) ? { code: 0, output: `Del cluster_trace ${name} successfully\n` } : { code: 1, output: `[error] Del cluster_trace ${name}: not_found\n` };
      }
      if (op !== 'start' || name === undefined || kind === undefined || filter === undefined || args.length > 6) return usage;
      const type = TYPES[kind];
      if (!type) return usage;
      const seconds = duration === undefined ? DEFAULT_DURATION_S : /^\d+$/.test(duration) ? Number(duration) : NaN;
      if (!(seconds > 0)) return { code: 1, output: `[error] cluster_trace ${name} ${type}=${filter} <Duration> must be a whole number of seconds above 0\n` };
      if (formatter !== undefined && formatter !== 'text' && formatter !== 'json') return usage;
      const now = host.now();
      const row = traceFromRequest({ name, type, [type]: filter, start_at: Math.floor(now / 1000), end_at: Math.floor(now / 1000) + seconds, formatter: formatter ?? 'text' }, now);
      if ('error' in row) return { code: 1, output: `[error] cluster_trace ${name} ${type}=${filter} ${row.error}\n` };
      const res = await traces.create(row, MAX_TRACES);
      if (!res.ok) return { code: 1, output: `[error] cluster_trace ${name} ${type}=${filter} ${res.message}\n` };
      return { code: 0, output: `cluster_trace ${type} ${filter} ${name} successfully\n` };
    },
  };
}
