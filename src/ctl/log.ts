// `emqx ctl log`: the node's log level, changed while it runs, as EMQX's `log set-level` and
// `log primary-level` do (node-local, not written to the config: a restart starts at the
// configured level again; so does a reload that changes the level in emqx.conf). Levels are
// EMQX's (RFC 5424's names), mapped onto pino's (config/log-level.ts).
import type { Logger } from 'pino';
import { LOG_LEVELS, isLogLevel, type LogLevel } from '../config/log-level.js';
import { formatUsage } from './registry.js';
import type { CtlCommand } from './types.js';

/**
 * The node's level, by EMQX's name (notice and info are one pino level; the name the operator
 * chose is the one shown). Children made with `logger.child()` read their level from the logger
 * they came from unless given their own, so setting the root's level reaches every part's logger.
 */
export class LogLevelControl {
  #level: LogLevel;

  constructor(
    private readonly logger: Logger,
    initial: LogLevel,
  ) {
    this.#level = initial;
    logger.level = LOG_LEVELS[initial];
  }

  get level(): LogLevel {
    return this.#level;
  }

  /** Sets the level and logs it at info: before the change when the new level hides info lines, else after. */
  set(level: LogLevel, by: string): void {
    const was = this.#level;
    const note = (): void => this.logger.info({ level, was }, `log level set to ${level} (${by})`);
    const hidesInfo = this.logger.levels.values[LOG_LEVELS[level]]! > this.logger.levels.values.info!;
    if (hidesInfo) note();
    this.logger.level = LOG_LEVELS[level];
    this.#level = level;
    if (!hidesInfo) note();
  }
}

export function logCommand(control: LogLevelControl): CtlCommand {
  const set = (level: string, what: string): { code: number; output: string } => {
    if (!isLogLevel(level)) return { code: 1, output: `[error] ${what} failed: invalid level ${level}; one of ${Object.keys(LOG_LEVELS).join(', ')}\n` };
    control.set(level, 'emqx ctl log');
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
      if (args.length === 1 && sub === 'primary-level') return { code: 0, output: `${control.level}\n` };
      return { code: 1, output: formatUsage(usage) };
    },
  };
}
