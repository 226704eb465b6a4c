// `emqx ctl log`: the node's log levels and handlers, changed while it runs, as EMQX's
// `log set-level`, `log primary-level` and `log handlers ...` do (node-local, not written to the
// config: a restart starts at the configured levels again; so does a reload that changes them). Levels are
// EMQX's (RFC 5424's names), mapped onto pino's (config/log-level.ts).
import type { Logger } from 'pino';
import { LOG_LEVELS, isLogLevel, type LogLevel, type PinoLevel } from '../config/log-level.js';
import { formatUsage } from './registry.js';
import type { CtlCommand } from './types.js';

/** A log handler as the logger runs it (daemon/logger.ts): the file (`default`) and, in the foreground modes, `console`. */
export interface LogHandlerInfo {
  readonly id: string;
  /** The file's path, or `console`. */
  readonly destination: string;
  readonly started: boolean;
}

/** The node's handlers, as the logger exposes them; absent (tests, hand-built nodes): no handlers to list. */
export interface LogHandlersPort {
  list(): readonly LogHandlerInfo[];
  /** Lines below `level` are not written by this handler; false: no such handler. */
  setLevel(id: string, level: PinoLevel): boolean;
  setStarted(id: string, started: boolean): boolean;
}

/**
 * The node's levels, by EMQX's names: the primary level (what is logged at all) and each
 * handler's (what it writes of that), as EMQX's logger has them. notice and info are one pino
 * level; the name the operator chose is the one shown. Children made with `logger.child()` read
 * their level from the logger they came from unless given their own, so setting the root's level
 * reaches every part's logger.
 */
export class LogLevelControl {
  #level: LogLevel;
  readonly #handlerLevels = new Map<string, LogLevel>();

  constructor(
    private readonly logger: Logger,
    initial: LogLevel,
    private readonly handlers?: LogHandlersPort,
    handlerLevels: Readonly<Record<string, LogLevel>> = {},
  ) {
    this.#level = initial;
    logger.level = LOG_LEVELS[initial];
    for (const h of handlers?.list() ?? []) this.#setHandler(h.id, handlerLevels[h.id] ?? initial);
  }

  get level(): LogLevel {
    return this.#level;
  }

  /** `log set-level`: the primary level and every handler's. */
  set(level: LogLevel, by: string): void {
    this.configure(level, {}, by, level);
  }

  /**
   * The primary level, and handlers' levels where given (`all`: every handler not named). Logged
   * at info: before the change when the new primary level hides info lines, else after.
   */
  configure(level: LogLevel, handlerLevels: Readonly<Record<string, LogLevel>>, by: string, all?: LogLevel): void {
    const was = this.#level;
    const note = (): void => this.logger.info({ log_level: level, was }, `log level set to ${level} (${by})`);
    const hidesInfo = this.logger.levels.values[LOG_LEVELS[level]]! > this.logger.levels.values.info!;
    if (hidesInfo) note();
    for (const h of this.handlers?.list() ?? []) {
      const l = handlerLevels[h.id] ?? all;
      if (l !== undefined) this.#setHandler(h.id, l);
    }
    this.logger.level = LOG_LEVELS[level];
    this.#level = level;
    if (!hidesInfo) note();
  }

  #setHandler(id: string, level: LogLevel): boolean {
    if (!this.handlers?.setLevel(id, LOG_LEVELS[level])) return false;
    this.#handlerLevels.set(id, level);
    return true;
  }

  /** `log handlers list`, EMQX's lines. */
  handlerLines(): string {
    return (this.handlers?.list() ?? [])
      .map((h) => `LogHandler(id=${h.id}, level=${this.#handlerLevels.get(h.id) ?? this.#level}, destination=${h.destination}, status=${h.started ? 'started' : 'stopped'})\n`)
      .join('');
  }

  setHandlerLevel(id: string, level: LogLevel): boolean {
    const done = this.#setHandler(id, level);
    if (done) this.logger.info({ handler: id, log_level: level }, `log handler ${id} level set to ${level} (emqx ctl log)`);
    return done;
  }

  setHandlerStarted(id: string, started: boolean): boolean {
    if (!this.handlers) return false;
    // Said before stopping and after starting, so the handler's own file shows both.
    if (!started && this.handlers.list().some((h) => h.id === id)) this.logger.info({ handler: id }, `log handler ${id} stopped (emqx ctl log)`);
    const done = this.handlers.setStarted(id, started);
    if (done && started) this.logger.info({ handler: id }, `log handler ${id} started (emqx ctl log)`);
    return done;
  }
}

export function logCommand(control: LogLevelControl): CtlCommand {
  const levels = Object.keys(LOG_LEVELS).join(', ');
  const set = (level: string, what: string, primaryOnly: boolean): { code: number; output: string } => {
    if (!isLogLevel(level)) return { code: 1, output: `[error] ${what} failed: invalid level ${level}; one of ${levels}\n` };
    if (primaryOnly) control.configure(level, {}, 'emqx ctl log');
    else control.set(level, 'emqx ctl log');
    return { code: 0, output: `${level}\n` };
  };
  const handlers = (args: readonly string[]): { code: number; output: string } | undefined => {
    const [verb, id, level, ...rest] = args;
    if (rest.length > 0) return undefined;
    if (verb === 'list' && id === undefined) return { code: 0, output: control.handlerLines() };
    if (id === undefined) return undefined;
    const invalid = { code: 1, output: `[error] invalid handler:${id}\n` };
    if ((verb === 'start' || verb === 'stop') && level === undefined) {
      return control.setHandlerStarted(id, verb === 'start') ? { code: 0, output: `log handler ${id} ${verb === 'start' ? 'started' : 'stopped'}\n` } : invalid;
    }
    if (verb === 'set-level' && level !== undefined) {
      if (!isLogLevel(level)) return { code: 1, output: `[error] invalid level:${JSON.stringify(level)}; one of ${levels}\n` };
      return control.setHandlerLevel(id, level) ? { code: 0, output: `${level}\n` } : invalid;
    }
    return undefined;
  };
  const usage: CtlCommand['usage'] = [
    ['log set-level <Level>', 'Set the overall log level'],
    ['log primary-level', 'Show the primary log level now'],
    ['log primary-level <Level>', 'Set the primary log level'],
    ['log handlers list', 'Show log handlers'],
    ['log handlers start <HandlerId>', 'Start a log handler'],
    ['log handlers stop  <HandlerId>', 'Stop a log handler'],
    ['log handlers set-level <HandlerId> <Level>', 'Set log level of a log handler'],
  ];
  return {
    name: 'log',
    usage,
    run: (args) => {
      const [sub, level, ...rest] = args;
      if (rest.length === 0 && sub === 'set-level' && level !== undefined) return set(level, 'set overall log level', false);
      if (rest.length === 0 && sub === 'primary-level' && level !== undefined) return set(level, 'set primary log level', true);
      if (args.length === 1 && sub === 'primary-level') return { code: 0, output: `${control.level}\n` };
      if (sub === 'handlers') return handlers(args.slice(1)) ?? { code: 1, output: formatUsage(usage) };
      return { code: 1, output: formatUsage(usage) };
    },
  };
}
