// What a reload does with a changed configuration (SPEC §8): which keys are refused and why,
// and which part applies the rest. Pure: the daemon (reload.ts) carries the plan out.
import { diffConfig } from '../config/diff.js';
import type { Config } from '../config/types.js';

export interface Refusal {
  readonly key: string;
  readonly reason: string;
}

export interface ReloadPlan {
  /** Every changed key, dotted (`cluster.static.seeds`); TLS material shows as `ssl_dist`. */
  readonly changed: readonly string[];
  readonly refused: readonly Refusal[];
  /** Link settings to hand to the link layer (cookie, cluster name, ticktime, transport, TLS). */
  readonly dist: boolean;
  /** The transport or the TLS material changes: links are re-established. */
  readonly relink: boolean;
  /** cluster.autoheal / cluster.autoclean. */
  readonly membership: boolean;
  /** Strategy or its settings. */
  readonly discovery: boolean;
}

/** Changes only a restart can make, with what the operator should know. */
const RESTART_ONLY: ReadonlyArray<[prefix: string, reason: string]> = [
  [
    'node.name',
    'the node name cannot change while the node runs: restart the node; a node under a new name starts with a new, empty data directory (node.data_dir/mnesia/<name>) and joins as a new member',
  ],
  ['node.data_dir', 'the data directory cannot move while the node runs: stop the node, move the directory, then start it'],
  ['node.role', 'the node role cannot change while the node runs: restart the node'],
  ['paths', 'file locations come from the environment the node was started with: restart the node'],
];

const DIST_KEYS = ['node.cookie', 'node.dist_net_ticktime', 'node.dist_base_port', 'node.dist_busy_poll', 'cluster.name', 'cluster.proto_dist', 'tls'];
const RELINK_KEYS = ['node.dist_base_port', 'cluster.proto_dist', 'tls'];
const MEMBERSHIP_KEYS = ['cluster.autoheal', 'cluster.autoclean'];
const DISCOVERY_KEYS = ['cluster.discovery_strategy', 'cluster.static', 'cluster.dns', 'cluster.etcd', 'cluster.k8s'];

const under = (key: string, prefixes: readonly string[]): boolean => prefixes.some((p) => key === p || key.startsWith(`${p}.`));

/** `tls.server.cert` and friends are one operator-facing setting: ssl_dist.conf and its files. */
function displayKey(key: string): string {
  return under(key, ['tls']) ? 'ssl_dist' : key;
}

export function planReload(running: Config, next: Config): ReloadPlan {
  const raw = diffConfig(running, next).changed;
  const refused: Refusal[] = [];
  for (const [prefix, reason] of RESTART_ONLY) {
    if (raw.some((k) => under(k, [prefix]))) refused.push({ key: prefix, reason });
  }
  return {
    changed: [...new Set(raw.map(displayKey))],
    refused,
    dist: raw.some((k) => under(k, DIST_KEYS)),
    relink: raw.some((k) => under(k, RELINK_KEYS)),
    membership: raw.some((k) => under(k, MEMBERSHIP_KEYS)),
    discovery: raw.some((k) => under(k, DISCOVERY_KEYS)),
  };
}

/** Refusal keys for a part that failed to apply its slice: its settings keep their running values. */
export const DIST_FAILED = 'ssl_dist/proto_dist';
export const DISCOVERY_FAILED = 'cluster.discovery';

/** The config to run with: the new one, except what was refused keeps its running value. */
export function acceptedConfig(running: Config, next: Config, refused: readonly Refusal[]): Config {
  const keys = new Set(refused.map((r) => r.key));
  const keep = (key: string): boolean => keys.has(key);
  const distFailed = keep(DIST_FAILED);
  const node = {
    ...next.node,
    name: keep('node.name') ? running.node.name : next.node.name,
    data_dir: keep('node.data_dir') ? running.node.data_dir : next.node.data_dir,
    role: keep('node.role') ? running.node.role : next.node.role,
    ...(distFailed
      ? { cookie: running.node.cookie, dist_net_ticktime: running.node.dist_net_ticktime, dist_base_port: running.node.dist_base_port, dist_busy_poll: running.node.dist_busy_poll }
      : {}),
  };
  const { discovery_strategy, static: st, dns, etcd, k8s } = running.cluster;
  const cluster = {
    ...next.cluster,
    ...(keep(DISCOVERY_FAILED) ? { discovery_strategy, static: st, dns, etcd, k8s } : {}),
    ...(distFailed ? { name: running.cluster.name, proto_dist: running.cluster.proto_dist } : {}),
  };
  const tls = distFailed ? running.tls : next.tls;
  const base: Config = { node, cluster, paths: keep('paths') ? running.paths : next.paths };
  return tls ? { ...base, tls } : base;
}

/** The changed keys that were applied (everything changed, minus what was refused). */
export function appliedKeys(plan: ReloadPlan, refused: readonly Refusal[]): string[] {
  const isRefused = (k: string): boolean =>
    refused.some(
      (r) =>
        under(k, [r.key]) ||
        (r.key === DISCOVERY_FAILED && under(k, DISCOVERY_KEYS)) ||
        (r.key === DIST_FAILED && (k === 'ssl_dist' || under(k, DIST_KEYS))),
    );
  return plan.changed.filter((k) => !isRefused(k));
}
