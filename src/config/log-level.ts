// The node's primary log level from EMQX's `log` section. EMQX has a level per handler
// (`log.console`, `log.file`, or named file handlers `log.file.<name>`; 5.0 spelled them
// `log.console_handler` and `log.file_handlers.<name>`), and logs at all what the most verbose of
// them lets through: that is the primary level. Each handler's own level, where its lines go and
// in what form, is log-outputs.ts.
import { handlerEnabled, logHandlers } from './log-handlers.js';
import type { ConfigProblem } from './types.js';

/** EMQX's levels, most verbose first, with the pino level each one lets through. */
export const LOG_LEVELS = {
  all: 'trace',
  debug: 'debug',
  info: 'info',
  notice: 'info',
  warning: 'warn',
  error: 'error',
  critical: 'fatal',
  alert: 'fatal',
  emergency: 'fatal',
  none: 'silent',
} as const;

export type LogLevel = keyof typeof LOG_LEVELS;
export type PinoLevel = (typeof LOG_LEVELS)[LogLevel];

/** Ours when nothing is set (EMQX's is warning: its info lines are fewer than ours are useful). */
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

export const isLogLevel = (s: unknown): s is LogLevel => typeof s === 'string' && Object.hasOwn(LOG_LEVELS, s);

const rank = (l: LogLevel): number => Object.keys(LOG_LEVELS).indexOf(l);

/**
 * The most verbose handler level in `tree.log`, or the default; a level that is not one of
 * EMQX's is a problem at its key. A handler with `enable = false` does not count.
 */
export function readLogLevel(tree: Readonly<Record<string, unknown>>, problemAt: (path: readonly string[], message: string) => ConfigProblem): { level: LogLevel; set: boolean; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  let level: LogLevel | undefined;
  for (const h of logHandlers(tree)) {
    const v = h.fields.level;
    if (v === undefined || !handlerEnabled(h)) continue;
    if (!isLogLevel(v)) {
      problems.push(problemAt([...h.path, 'level'], `${JSON.stringify(v)} is not a log level: one of ${Object.keys(LOG_LEVELS).join(', ')}`));
      continue;
    }
    if (level === undefined || rank(v) < rank(level)) level = v;
  }
  return { level: level ?? DEFAULT_LOG_LEVEL, set: level !== undefined, problems };
}
