// What a reload does with a changed configuration (SPEC §8): which keys are refused and why,
// and which parts apply the rest. Pure: the daemon (reload.ts) carries the plan out. The key
// groups come from the parts themselves (NodePart.reloadKeys).
import { diffConfig } from '../config/diff.js';
import type { Config } from '../config/types.js';

export interface Refusal {
  readonly key: string;
  readonly reason: string;
}

/** A part as the plan sees it: its name and the key prefixes it applies live. */
export interface PartKeys {
  readonly name: string;
  readonly reloadKeys?: readonly string[];
}

export interface ReloadPlan {
  /** Every changed key, dotted (`cluster.static.seeds`); TLS material shows as `ssl_dist`. */
  readonly changed: readonly string[];
  /** Changes only a restart can make. */
  readonly refused: readonly Refusal[];
  /** The key prefixes the refusals keep at their running values. */
  readonly held: readonly string[];
  /** Per part (in the order given) with a changed key: the changed keys it owns. */
  readonly parts: ReadonlyMap<string, readonly string[]>;
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

export const under = (key: string, prefixes: readonly string[]): boolean => prefixes.some((p) => key === p || key.startsWith(`${p}.`));

/**
 * `tls.server.cert` and friends are one operator-facing setting: ssl_dist.conf and its files; a
 * listener's loaded certificates (`listeners.ssl.default.tls.cert`) are its ssl_options files.
 */
function displayKey(key: string): string {
  if (under(key, ['tls'])) return 'ssl_dist';
  const m = /^(listeners\.[^.]+\.[^.]+)\.tls(\.|$)/.exec(key);
  return m ? `${m[1]}.ssl_options` : key;
}

export function planReload(running: Config, next: Config, parts: readonly PartKeys[]): ReloadPlan {
  const raw = diffConfig(running, next).changed;
  const refused: Refusal[] = [];
  const held: string[] = [];
  for (const [prefix, reason] of RESTART_ONLY) {
    if (raw.some((k) => under(k, [prefix]))) {
      refused.push({ key: prefix, reason });
      held.push(prefix);
    }
  }
  const owned = new Map<string, readonly string[]>();
  for (const p of parts) {
    const keys = raw.filter((k) => under(k, p.reloadKeys ?? []) && !under(k, held));
    if (keys.length > 0) owned.set(p.name, keys);
  }
  return { changed: [...new Set(raw.map(displayKey))], refused, held, parts: owned };
}

/** `value` with the value at `path` replaced (undefined: removed); copies only along the path. */
function withValueAt(value: Record<string, unknown>, path: readonly string[], v: unknown): Record<string, unknown> {
  const [head, ...rest] = path as [string, ...string[]];
  const out = { ...value };
  if (rest.length === 0) {
    if (v === undefined) delete out[head];
    else out[head] = v;
    return out;
  }
  const child = value[head];
  out[head] = withValueAt(child !== null && typeof child === 'object' ? (child as Record<string, unknown>) : {}, rest, v);
  return out;
}

function valueAt(value: unknown, path: readonly string[]): unknown {
  let v = value;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

/** The config to run with: the new one, except that every held key keeps its running value. */
export function acceptedConfig(running: Config, next: Config, held: readonly string[]): Config {
  let out = next as unknown as Record<string, unknown>;
  for (const prefix of held) {
    const path = prefix.split('.');
    out = withValueAt(out, path, valueAt(running, path));
  }
  return out as unknown as Config;
}

/** The changed keys that were applied (everything changed, minus what was held back). */
export function appliedKeys(plan: ReloadPlan, held: readonly string[]): string[] {
  const shown = held.map(displayKey);
  return plan.changed.filter((k) => !under(k, held) && !under(k, shown));
}
