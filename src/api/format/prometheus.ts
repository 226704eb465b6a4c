// GET /api/v5/prometheus/stats in the Prometheus text exposition format (version 0.0.4), with
// EMQX's metric names (emqx_prometheus: emqx_connections_count, emqx_messages_received, ...) and
// its three modes: `node` (this node, no labels), `all_nodes_aggregated` (counts summed over the
// nodes that answered; per-node figures labelled by node) and `all_nodes_unaggregated` (every
// figure labelled by node). Pure.

export type PromMode = 'node' | 'all_nodes_aggregated' | 'all_nodes_unaggregated';
export const PROM_MODES: readonly PromMode[] = ['node', 'all_nodes_aggregated', 'all_nodes_unaggregated'];

export interface NodeFigures {
  readonly stats: Readonly<Record<string, number>>;
  readonly metrics: Readonly<Record<string, number>>;
  readonly vm: Readonly<Record<string, number>>;
  readonly cluster: Readonly<Record<string, number>>;
}

/** Where EMQX's exported name is not the counter's name with dots as underscores. */
const RENAMED: Readonly<Record<string, string>> = {
  'packets.connect.received': 'emqx_packets_connect',
  'messages.dropped.await_pubrel_timeout': 'emqx_messages_dropped_expired',
};

export function promName(key: string): string {
  return RENAMED[key] ?? `emqx_${key.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

interface Family {
  readonly name: string;
  readonly type: 'gauge' | 'counter';
  readonly help: string;
  readonly points: Array<{ labels: Record<string, string>; value: number }>;
}

type Section = 'stats' | 'metrics' | 'vm' | 'cluster';

const SECTION: Readonly<Record<Section, { type: 'gauge' | 'counter'; prefix: string; help: (k: string) => string }>> = {
  stats: { type: 'gauge', prefix: '', help: (k) => `EMQX stat ${k}` },
  metrics: { type: 'counter', prefix: '', help: (k) => `EMQX metric ${k}` },
  vm: { type: 'gauge', prefix: 'vm.', help: (k) => `Node runtime ${k.replace(/_/g, ' ')} (bytes)` },
  cluster: { type: 'gauge', prefix: 'cluster.', help: (k) => `Cluster members ${k.replace('nodes_', '')}, as this node sees them` },
};

export function formatPrometheus(mode: PromMode, nodes: ReadonlyArray<{ readonly node: string; readonly figures: NodeFigures }>): string {
  const families = new Map<string, Family>();
  const add = (section: Section, key: string, labels: Record<string, string>, value: number, sum: boolean): void => {
    const meta = SECTION[section];
    const name = promName(meta.prefix + key);
    let f = families.get(name);
    if (!f) {
      f = { name, type: meta.type, help: meta.help(key), points: [] };
      families.set(name, f);
    }
    const same = sum ? f.points.find((p) => Object.keys(p.labels).length === 0) : undefined;
    if (same) same.value += value;
    else f.points.push({ labels, value });
  };
  for (const { node, figures } of nodes) {
    for (const section of ['stats', 'metrics', 'vm', 'cluster'] as const) {
      // Per-node figures (memory, the node's view of the cluster) are never summed.
      const perNode = section === 'vm' || section === 'cluster';
      const labelled = mode === 'all_nodes_unaggregated' || (mode === 'all_nodes_aggregated' && perNode);
      for (const [key, value] of Object.entries(figures[section])) {
        add(section, key, labelled ? { node } : {}, value, mode === 'all_nodes_aggregated' && !perNode);
      }
    }
  }
  const out: string[] = [];
  for (const f of families.values()) {
    out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
    for (const p of f.points) {
      const labels = Object.entries(p.labels);
      const l = labels.length === 0 ? '' : `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
      out.push(`${f.name}${l} ${num(p.value)}`);
    }
  }
  return `${out.join('\n')}\n`;
}
