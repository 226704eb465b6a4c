// Rendering of `cluster status` in EMQX's Erlang-term form, as JSON, and as the verbose table.
// Pure functions: operators' scripts parse these strings, so they are pinned by tests.
import { erlPretty, type ErlTerm } from './erl-pretty.js';

export interface StatusLists {
  readonly running: readonly string[];
  readonly stopped: readonly string[];
}

/** An Erlang atom as `io:format("~p")` prints a node name: always single-quoted, escaped. */
export function erlAtom(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

const STATUS_PREFIX = 'Cluster status: ';

const atomList = (items: readonly string[]): ErlTerm => ({ list: [...items].sort().map((n) => ({ text: erlAtom(n) })) });

/**
 * `Cluster status: #{running_nodes => ['a@h','b@h'],stopped_nodes => []}` as EMQX prints it with
 * `~p`: past 80 columns, broken and indented as Erlang does (several lines, no final newline).
 */
export function formatStatusLine(s: StatusLists): string {
  const term: ErlTerm = { map: [[{ text: 'running_nodes' }, atomList(s.running)], [{ text: 'stopped_nodes' }, atomList(s.stopped)]] };
  return STATUS_PREFIX + erlPretty(term, STATUS_PREFIX.length + 1);
}

export function formatStatusJson(s: StatusLists): string {
  return JSON.stringify({ running_nodes: [...s.running].sort(), stopped_nodes: [...s.stopped].sort() }, null, 2);
}

/** `{node_down,'n@h'}` */
export function erlReason(code: string, node?: string): string {
  return node === undefined ? code : `{${code},${erlAtom(node)}}`;
}

export interface VerboseRow {
  readonly node: string;
  /** running | stopped | partitioned | self */
  readonly state: string;
  readonly address?: string;
  readonly transport?: string;
  /** ms since epoch: link up since (running) or down since (stopped). */
  readonly since?: number;
  readonly lastSeen?: number;
}

function iso(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** One row per node, columns aligned; times in UTC ISO-8601. */
export function formatVerbose(rows: readonly VerboseRow[], header?: string): string {
  const table = [
    ['NODE', 'STATE', 'ADDRESS', 'TRANSPORT', 'SINCE', 'LAST SEEN'],
    ...[...rows]
      .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0))
      .map((r) => [r.node, r.state, r.address ?? '-', r.transport ?? '-', iso(r.since), iso(r.lastSeen)]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const lines = table.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
  return (header ? `${header}\n` : '') + lines.join('\n');
}
