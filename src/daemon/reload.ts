// Hot reload (SPEC §8): read the configuration again, refuse it whole when it is broken, else
// hand each part its changed slice. What to do for a diff is decided in reload-plan.ts.
import type { Logger } from 'pino';
import { ConfigError, formatProblem, type Config } from '../config/types.js';
import { busyPollUsFor } from '../dist/options.js';
import type { Dist } from '../dist/types.js';
import type { ClusterPart } from '../cluster/node-part.js';
import type { DiscoveryPart } from '../discovery/node-part.js';
import { acceptedConfig, appliedKeys, DISCOVERY_FAILED, DIST_FAILED, planReload, type Refusal } from './reload-plan.js';

export interface ReloadHost {
  readonly logger: Logger;
  running(): Config;
  /** Reads and validates the files again; throws ConfigError. */
  load(): { config: Config; warnings: readonly string[] };
  readonly dist: Dist;
  readonly cluster: ClusterPart;
  readonly discovery: DiscoveryPart;
  /** Makes `config` the running configuration (what `conf show` prints). */
  commit(config: Config): void;
}

export type ReloadReport =
  | { readonly ok: false; readonly errors: readonly string[] }
  | { readonly ok: true; readonly applied: readonly string[]; readonly refused: readonly Refusal[] };

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export async function reloadConfig(host: ReloadHost, trigger: string): Promise<ReloadReport> {
  const log = host.logger.child({ part: 'reload' });
  let next: Config;
  try {
    const loaded = host.load();
    next = loaded.config;
    for (const w of loaded.warnings) log.warn(w);
  } catch (err) {
    const errors = err instanceof ConfigError ? err.problems.map(formatProblem) : [message(err)];
    log.error({ trigger, errors }, `config reload rejected; the node keeps its running configuration: ${errors.join('; ')}`);
    return { ok: false, errors };
  }
  const running = host.running();
  const plan = planReload(running, next);
  if (plan.changed.length === 0) {
    log.info({ trigger }, 'config reload: no change');
    return { ok: true, applied: [], refused: [] };
  }
  const refused: Refusal[] = [...plan.refused];
  // What the refusals leave of the new config is what the parts get.
  let target = acceptedConfig(running, next, refused);
  if (plan.dist && host.dist.reconfigure) {
    try {
      await host.dist.reconfigure({
        cookie: target.node.cookie,
        clusterName: target.cluster.name,
        protoDist: target.cluster.proto_dist,
        tls: target.tls,
        basePort: target.node.dist_base_port,
        netTicktimeMs: target.node.dist_net_ticktime,
        busyPollUs: busyPollUsFor(target.node.dist_busy_poll),
      });
    } catch (err) {
      refused.push({ key: DIST_FAILED, reason: `the links could not move to the new settings, the previous ones stay in force: ${message(err)}` });
      target = acceptedConfig(running, next, refused);
    }
  }
  if (plan.membership) host.cluster.reconfigure(target);
  if (plan.discovery) {
    try {
      await host.discovery.reconfigure(target);
    } catch (err) {
      refused.push({ key: DISCOVERY_FAILED, reason: `the new discovery settings cannot work, discovery keeps running as before: ${message(err)}` });
      target = acceptedConfig(running, next, refused);
    }
  }
  host.commit(target);
  const applied = appliedKeys(plan, refused);
  log.info({ trigger, applied, refused }, 'config reloaded');
  return { ok: true, applied, refused };
}

/** What `conf reload` prints; exit code 1 when the config was rejected or a change refused. */
export function formatReloadReport(r: ReloadReport): { code: number; output: string } {
  if (!r.ok) {
    return { code: 1, output: `Config reload failed; the node keeps running with its current configuration:\n${r.errors.map((e) => `  ${e}\n`).join('')}` };
  }
  if (r.applied.length === 0 && r.refused.length === 0) return { code: 0, output: 'Config reloaded: no change.\n' };
  const lines = ['Config reloaded.'];
  for (const k of r.applied) lines.push(`  applied: ${k}`);
  for (const { key, reason } of r.refused) lines.push(`  refused: ${key}: ${reason}`);
  return { code: r.refused.length > 0 ? 1 : 0, output: `${lines.join('\n')}\n` };
}
