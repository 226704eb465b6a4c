// Which node a command addresses: the one selected by the configuration and the environment
// (EMQX_ETC_DIR, EMQX_NODE__NAME, EMQX_NODE__DATA_DIR, ... — SPEC §3), reached on its control socket.
import { ConfigError, formatProblem } from '../config/types.js';
import type { Config } from '../config/types.js';
import { loadNodeConfig } from '../daemon/config.js';
import { controlSocketPath } from '../daemon/data-dir.js';

export interface Target {
  readonly config: Config;
  readonly name: string;
  readonly socketPath: string;
  readonly warnings: readonly string[];
}

export function notRespondingMessage(name: string): string {
  return `Node '${name}' not responding to pings.`;
}

/** Prints configuration errors as EMQX does (`ERROR: ...` on stderr). */
export function printConfigError(err: unknown): void {
  if (err instanceof ConfigError) {
    for (const p of err.problems) process.stderr.write(`ERROR: ${formatProblem(p)}\n`);
  } else {
    process.stderr.write(`ERROR: ${err instanceof Error ? err.message : String(err)}\n`);
  }
}

/** The target node; throws (ConfigError) when the configuration cannot be read. */
export function loadTarget(root: string, env: NodeJS.ProcessEnv): Target {
  const { config, warnings } = loadNodeConfig({ root, env });
  return { config, name: config.node.name, socketPath: controlSocketPath(config.node.data_dir), warnings };
}

/** The target node, or undefined after printing why the configuration cannot be read. */
export function resolveTarget(root: string, env: NodeJS.ProcessEnv): Target | undefined {
  try {
    return loadTarget(root, env);
  } catch (err) {
    printConfigError(err);
    return undefined;
  }
}
