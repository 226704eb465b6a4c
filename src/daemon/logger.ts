// The node's logger, handed to every part: the log file (log.file.*: path, size rotation, JSON or text);
// in `console` mode also human-readable on the terminal, in `foreground` mode JSON on stdout.
// Every stream writes synchronously: a line logged is in the file before the process can die.
// Secrets are redacted by key wherever they appear, as a second line of defence: parts must not
// pass them to the logger in the first place.
import pino, { type Logger, type StreamEntry } from 'pino';
import { dirname } from 'node:path';
import { createRotatingFile, type RotatingFile } from '../base/rotating-file.js';
import { jsonLineToText } from './log-text.js';
import { defaultLogFile, type LogConsoleConfig, type LogFileConfig } from '../config/log-outputs.js';
import { ensureWritableDir } from './data-dir.js';
import { DEFAULT_LOG_LEVEL, LOG_LEVELS } from '../config/log-level.js';
import type { LogHandlersPort } from '../ctl/log.js';

export type RunMode = 'daemon' | 'console' | 'foreground';

export interface LoggerOptions {
  readonly mode: RunMode;
  readonly nodeName: string;
  readonly level?: pino.LevelWithSilent;
  /** The log file (default: <logDir>/emqx.log, EMQX's rotation, JSON lines). */
  readonly file?: LogFileConfig;
  readonly logDir?: string;
  readonly console?: LogConsoleConfig;
}

export interface NodeLogger {
  readonly logger: Logger;
  /** The file written now. */
  readonly logFile: string;
  /**
   * Writes to a new file and terminal setting from the next line on. The new file is opened
   * first: when it cannot be, this throws and nothing changes. Levels are set through `handlers`.
   */
  setOutputs(file: LogFileConfig, console: LogConsoleConfig): Promise<void>;
  /** `default` (the file) and, in `console`/`foreground` mode, `console`: their levels, stopped or not. */
  readonly handlers: LogHandlersPort;
}

const SECRET_KEYS = ['cookie', 'password', 'passphrase', 'secret', 'token'];
export const REDACT_PATHS = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  ...SECRET_KEYS.map((k) => `*.*.${k}`),
  ...SECRET_KEYS.map((k) => `*.*.*.${k}`),
];

type Sink = (line: string) => void;

const METADATA = Symbol.for('pino.metadata');

/**
 * One handler: a stream whose destination can be swapped while pino keeps writing to it, with
 * its own level (pino's multistream tells it each line's level: the metadata flag) and a switch.
 */
class Relay {
  readonly [METADATA] = true;
  lastLevel = 0;
  minLevel: number;
  started = true;
  sink: Sink | undefined;
  constructor(level: pino.LevelWithSilent) {
    this.minLevel = levelValue(level);
  }
  write(line: string): void {
    if (this.started && this.lastLevel >= this.minLevel) this.sink?.(line);
  }
}

const levelValue = (level: pino.LevelWithSilent): number => (level === 'silent' ? Infinity : pino.levels.values[level]!);

const formatted = (write: Sink, formatter: LogFileConfig['formatter'] | undefined): Sink => (formatter === 'text' ? (l) => write(jsonLineToText(l)) : write);

async function terminalSink(mode: RunMode, console: Pick<LogConsoleConfig, 'enable' | 'formatter'>): Promise<Sink | undefined> {
  if (mode === 'daemon' || !console.enable) return undefined;
  if (mode === 'console' && console.formatter === undefined) {
    // Loaded only here: pino-pretty costs start-up time the daemon does not need to pay.
    const { default: pretty } = await import('pino-pretty');
    const p = pretty({ colorize: process.stdout.isTTY, sync: true, destination: 1, ignore: 'pid,hostname,node', singleLine: true });
    return (l) => p.write(l);
  }
  const out = pino.destination({ dest: 1, sync: true });
  // A terminal gone (EPIPE) loses the terminal's lines, not the node.
  out.on('error', () => undefined);
  return formatted((l) => out.write(l), console.formatter);
}

function openFile(file: LogFileConfig): RotatingFile {
  ensureWritableDir(dirname(file.path), 'log file directory');
  return createRotatingFile({ file: file.path, maxBytes: file.rotationSize, keep: file.rotationCount });
}

export async function createLogger(opts: LoggerOptions): Promise<NodeLogger> {
  let fileConfig = opts.file ?? defaultLogFile(opts.logDir ?? 'log');
  const consoleConfig = opts.console ?? { level: DEFAULT_LOG_LEVEL, enable: true };
  let file = openFile(fileConfig);
  const fileRelay = new Relay(LOG_LEVELS[fileConfig.level]);
  fileRelay.sink = formatted((l) => file.write(l), fileConfig.formatter);
  const terminal = new Relay(LOG_LEVELS[consoleConfig.level]);
  terminal.sink = await terminalSink(opts.mode, consoleConfig);
  // The streams take every level; the logger's level (EMQX's primary level) decides what is
  // logged at all and each handler's what it writes of that, so `emqx ctl log` can change either.
  const streams: StreamEntry[] = [
    { level: 'trace', stream: fileRelay },
    { level: 'trace', stream: terminal },
  ];
  const logger = pino(
    {
      level: opts.level ?? 'info',
      base: { pid: process.pid, node: opts.nodeName },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '******' },
    },
    pino.multistream(streams),
  );
  const relays = (): ReadonlyArray<readonly [string, Relay, string]> => [
    ['default', fileRelay, fileConfig.path],
    ...(opts.mode === 'daemon' ? [] : ([['console', terminal, 'console']] as const)),
  ];
  const relay = (id: string): Relay | undefined => relays().find(([i]) => i === id)?.[1];
  return {
    logger,
    get logFile() {
      return fileConfig.path;
    },
    async setOutputs(next, console) {
      const sink = await terminalSink(opts.mode, console);
      const sameFile = next.path === fileConfig.path && next.rotationSize === fileConfig.rotationSize && next.rotationCount === fileConfig.rotationCount;
      if (!sameFile) {
        const opened = openFile(next);
        const old = file;
        file = opened;
        old.end();
      }
      fileConfig = next;
      fileRelay.sink = formatted((l) => file.write(l), next.formatter);
      terminal.sink = sink;
    },
    handlers: {
      list: () => relays().map(([id, r, destination]) => ({ id, destination, started: r.started })),
      setLevel(id, level) {
        const r = relay(id);
        if (r) r.minLevel = levelValue(level);
        return r !== undefined;
      },
      setStarted(id, started) {
        const r = relay(id);
        if (r) r.started = started;
        return r !== undefined;
      },
    },
  };
}
