// The node's log level from EMQX's `log` section. EMQX has a level per handler (`log.console`,
// `log.file`, or named file handlers `log.file.<name>`; 5.0 spelled them `log.console_handler`
// and `log.file_handlers.<name>`); this node writes one log to its file and, in the foreground
// modes, the same lines to the terminal, so it takes the most verbose level set. The rest of the
// section (formatters, rotation, overload protection, ...) is not read.
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

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Where a handler's level may be set, as paths under `log`. */
function levelPaths(log: Record<string, unknown>): string[][] {
  const out: string[][] = [['console', 'level'], ['console_handler', 'level'], ['file', 'level']];
  for (const group of ['file', 'file_handlers']) {
    const handlers = log[group];
    if (!isObject(handlers)) continue;
    for (const [name, h] of Object.entries(handlers)) if (isObject(h)) out.push([group, name, 'level']);
  }
  return out;
}

/**
 * The most verbose handler level in `tree.log`, or the default; a level that is not one of
 * EMQX's is a problem at its key. A handler with `enable = false` does not count.
 */
export function readLogLevel(tree: Readonly<Record<string, unknown>>, problemAt: (path: readonly string[], message: string) => ConfigProblem): { level: LogLevel; set: boolean; problems: ConfigProblem[] } {
  const log = tree.log;
  const problems: ConfigProblem[] = [];
  let level: LogLevel | undefined;
  if (isObject(log)) {
    for (const p of levelPaths(log)) {
      let handler: unknown = log;
      for (const k of p.slice(0, -1)) handler = isObject(handler) ? handler[k] : undefined;
      if (!isObject(handler) || handler.level === undefined || handler.enable === false) continue;
      const v = handler.level;
      if (!isLogLevel(v)) {
        problems.push(problemAt(['log', ...p], `${JSON.stringify(v)} is not a log level: one of ${Object.keys(LOG_LEVELS).join(', ')}`));
        continue;
      }
      if (level === undefined || rank(v) < rank(level)) level = v;
    }
  }
  return { level: level ?? DEFAULT_LOG_LEVEL, set: level !== undefined, problems };
}
