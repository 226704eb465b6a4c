// Hot reload (SPEC §8): read the configuration again, refuse it whole when it is broken, else
// hand each part the changed keys it owns, in boot order. What to do for a diff is decided in
// reload-plan.ts; which keys a part owns, the part says itself (NodePart.reloadKeys).
import type { Logger } from 'pino';
import type { NodePart } from '../base/part.js';
import { ConfigError, formatProblem, type Config } from '../config/types.js';
import { acceptedConfig, appliedKeys, planReload, type Refusal } from './reload-plan.js';

export interface ReloadHost {
  readonly logger: Logger;
  running(): Config;
  /** Reads and validates the files again; throws ConfigError. */
  load(): { config: Config; warnings: readonly string[] };
  /** For a reload the watcher started: whether the files are still as the watcher read them. */
  unchanged?(): Promise<boolean>;
  /** The running parts, in boot order. */
  parts(): readonly NodePart[];
  /** Makes `config` the running configuration (what `conf show` prints). */
  commit(config: Config): void;
}

export type ReloadReport =
  | { readonly ok: false; readonly errors: readonly string[] }
  | { readonly ok: true; readonly applied: readonly string[]; readonly refused: readonly Refusal[]; readonly unsettled?: true };

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export async function reloadConfig(host: ReloadHost, trigger: string): Promise<ReloadReport> {
  const log = host.logger.child({ part: 'reload' });
  let loaded: ReturnType<ReloadHost['load']> | undefined;
  let failure: unknown;
  try {
    loaded = host.load();
  } catch (err) {
    failure = err;
  }
  // A file written to while it was read (truncated, not yet written) may have been read half
  // done, right or wrong: nothing is applied, the watcher looks again once the files are quiet.
  if (host.unchanged && !(await host.unchanged())) {
    log.info({ trigger }, 'config files changed while being read; they are read again once quiet');
    return { ok: true, applied: [], refused: [], unsettled: true };
  }
  if (!loaded) {
    const errors = failure instanceof ConfigError ? failure.problems.map(formatProblem) : [message(failure)];
    log.error({ trigger, errors }, `config reload rejected; the node keeps its running configuration: ${errors.join('; ')}`);
    return { ok: false, errors };
  }
  const next = loaded.config;
  for (const w of loaded.warnings) log.warn(w);
  const running = host.running();
  const parts = host.parts();
  const plan = planReload(running, next, parts);
  if (plan.changed.length === 0) {
    log.info({ trigger }, 'config reload: no change');
    return { ok: true, applied: [], refused: [] };
  }
  const refused: Refusal[] = [...plan.refused];
  const held: string[] = [...plan.held];
  // What the refusals leave of the new config is what the parts get.
  let target = acceptedConfig(running, next, held);
  for (const part of parts) {
    const changed = plan.parts.get(part.name);
    if (!changed || !part.reconfigure) continue;
    try {
      await part.reconfigure(target, changed);
    } catch (err) {
      const r = part.refusal ?? { key: part.name, reason: `${part.name} could not apply the change and keeps its running settings` };
      refused.push({ key: r.key, reason: `${r.reason}: ${message(err)}` });
      held.push(...(part.reloadKeys ?? []));
      target = acceptedConfig(running, next, held);
    }
  }
  host.commit(target);
  const applied = appliedKeys(plan, held);
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
