// What GET /nodes/:node reports about this node (EMQX's emqx_mgmt:node_info): the operating
// system's memory and load, as EMQX reports them, and the broker's counts. Reads /proc where
// Linux has it; elsewhere falls back to what node:os offers.
import { loadavg } from 'node:os';
import { maxFds, systemMemory } from '../../base/system-usage.js';
import { kmg } from '../format/time.js';

const round2 = (n: number): number => Math.round(n * 100) / 100;

export interface NodeInfoInput {
  readonly node: string;
  readonly version: string;
  readonly startedAt: number;
  readonly sessions: number;
  readonly connections: number;
  readonly root: string;
  readonly logDir: string;
}

export function nodeInfo(i: NodeInfoInput, now = Date.now()): Record<string, unknown> {
  const mem = systemMemory();
  const [l1, l5, l15] = loadavg();
  return {
    node: i.node,
    node_status: 'running',
    role: 'core',
    version: i.version,
    edition: 'Opensource',
    uptime: now - i.startedAt,
    connections: i.sessions,
    live_connections: i.connections,
    cluster_sessions: i.sessions,
    load1: round2(l1 ?? 0),
    load5: round2(l5 ?? 0),
    load15: round2(l15 ?? 0),
    max_fds: maxFds(),
    memory_total: kmg(mem.total),
    memory_used: kmg(mem.used),
    // Ours: the node process's own resident memory, which memory_used (the machine's) is not.
    process_memory: kmg(process.memoryUsage.rss()),
    node_runtime: `Node.js ${process.version}`,
    sys_path: i.root,
    log_path: i.logDir,
  };
}

/** A member that is not running, as EMQX lists it. */
export function stoppedNodeInfo(node: string): Record<string, unknown> {
  return { node, node_status: 'stopped', role: 'core' };
}
