// `emqx ctl log`: the node's log level, changed while it runs, as EMQX's `log set-level` and
// `log primary-level` do (node-local, not written to the config: a restart starts at the
// configured level again). Levels are EMQX's (RFC 5424's names), mapped onto pino's.
import type { Logger } from 'pino';
import { formatUsage } from './registry.js';
import type { CtlCommand } from './types.js';

/** EMQX's levels, most verbose first, with the pino level each one lets through. */
const LEVELS = {
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

type EmqxLogLevel = keyof typeof LEVELS;

const isLevel = (s: string): s is EmqxLogLevel => Object.hasOwn(LEVELS, s);

/** EMQX's name for a pino level (the first that maps onto it). */
function emqxName(pinoLevel: string): string {
  return Object.entries(LEVELS).find(([, p]) => p === pinoLevel)?.[0] ?? pinoLevel;
}

/**
 * Children made with `logger.child()` read their level from the logger they came from unless
 * given their own, so setting the root's level reaches every part's logger.
 */
export function logCommand(logger: Logger): CtlCommand {
  /** The name last set (notice and info are one pino level; show what the operator chose). */
  let current: string | undefined;
  const shown = (): string => (current !== undefined && LEVELS[current as EmqxLogLevel] === logger.level ? current : emqxName(logger.level));
  const set = (level: string, what: string): { code: number; output: string } => {
    if (!isLevel(level)) return { code: 1, output: `[error] ${what} failed: invalid level ${level}; one of ${Object.keys(LEVELS).join(', ')}\n` };
    // Said at info, before the change when the new level hides info lines, else after it.
    const was = shown();
    const note = (): void => logger.info({ level, was }, `log level set to ${level} (emqx ctl log)`);
    const hidesInfo = logger.levels.values[LEVELS[level]]! > logger.levels.values.info!;
    if (hidesInfo) note();
    logger.level = LEVELS[level];
    if (!hidesInfo) note();
    current = level;
    return { code: 0, output: `${level}\n` };
  };
  const usage: CtlCommand['usage'] = [
    ['log set-level <Level>', 'Set the overall log level'],
    ['log primary-level', 'Show the primary log level now'],
    ['log primary-level <Level>', 'Set the primary log level'],
  ];
  return {
    name: 'log',
    usage,
    run: (args) => {
      const [sub, level, ...rest] = args;
      if (rest.length === 0 && sub === 'set-level' && level !== undefined) return set(level, 'set overall log level');
      if (rest.length === 0 && sub === 'primary-level' && level !== undefined) return set(level, 'set primary log level');
      if (args.length === 1 && sub === 'primary-level') return { code: 0, output: `${shown()}\n` };
      return { code: 1, output: formatUsage(usage) };
    },
  };
}
