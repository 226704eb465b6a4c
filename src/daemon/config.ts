// The one place the daemon and the command line get their configuration from (src/config/load.ts),
// with warnings already formatted for the operator.
import { loadConfig, DEFAULT_COOKIE, defaultCookieHint, type LoadedConfig } from '../config/load.js';
import { formatProblem, type Config } from '../config/types.js';

export { DEFAULT_COOKIE, defaultCookieHint };

export interface NodeConfigLoad {
  readonly config: Config;
  /** Human-readable warnings to show the operator (already formatted). */
  readonly warnings: readonly string[];
  readonly loaded: LoadedConfig;
}

export interface LoadOptions {
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;
}

/** Throws ConfigError (with every problem) when the configuration is not valid. */
export function loadNodeConfig({ root, env }: LoadOptions): NodeConfigLoad {
  const loaded = loadConfig({ root, env });
  return { config: loaded.config, warnings: loaded.warnings.map(formatProblem), loaded };
}
