// The node's logger, handed to every part. JSON lines to <log_dir>/emqx.log (rotated by size);
// in `console` mode also human-readable on the terminal, in `foreground` mode JSON on stdout.
// Secrets are redacted by key wherever they appear, as a second line of defence: parts must not
// pass them to the logger in the first place.
import pino, { type Logger, type StreamEntry } from 'pino';
import { dirname } from 'node:path';
import { createRotatingFile, type RotatingFile } from './rotating-file.js';
import { jsonLineToText } from './log-text.js';
import { defaultLogFile, type LogConsoleConfig, type LogFileConfig } from '../config/log-outputs.js';
import { ensureWritableDir } from './data-dir.js';

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
   * first: when it cannot be, this throws and nothing changes.
   */
  setOutputs(file: LogFileConfig, console: LogConsoleConfig): Promise<void>;
  /** Flushes everything to disk; call last on shutdown. */
  close(): void;
}

const SECRET_KEYS = ['cookie', 'password', 'passphrase', 'secret', 'token'];
export const REDACT_PATHS = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  ...SECRET_KEYS.map((k) => `*.*.${k}`),
  ...SECRET_KEYS.map((k) => `*.*.*.${k}`),
];

type Sink = (line: string) => void;

/** A stream whose destination can be swapped while pino keeps writing to it. */
class Relay {
  sink: Sink | undefined;
  write(line: string): void {
    this.sink?.(line);
  }
}

const formatted = (write: Sink, formatter: LogFileConfig['formatter'] | undefined): Sink => (formatter === 'text' ? (l) => write(jsonLineToText(l)) : write);

async function terminalSink(mode: RunMode, console: LogConsoleConfig): Promise<Sink | undefined> {
  if (mode === 'daemon' || !console.enable) return undefined;
  if (mode === 'console' && console.formatter === undefined) {
    // Loaded only here: pino-pretty costs start-up time the daemon does not need to pay.
    const { default: pretty } = await import('pino-pretty');
    const p = pretty({ colorize: process.stdout.isTTY, sync: true, destination: 1, ignore: 'pid,hostname,node', singleLine: true });
    return (l) => p.write(l);
  }
  const out = pino.destination({ dest: 1, sync: true });
  return formatted((l) => out.write(l), console.formatter);
}

function openFile(file: LogFileConfig): RotatingFile {
  ensureWritableDir(dirname(file.path), 'log file directory');
  return createRotatingFile({ file: file.path, maxBytes: file.rotationSize, keep: file.rotationCount });
}

export async function createLogger(opts: LoggerOptions): Promise<NodeLogger> {
  let fileConfig = opts.file ?? defaultLogFile(opts.logDir ?? 'log');
  let file = openFile(fileConfig);
  const fileRelay = new Relay();
  fileRelay.sink = formatted((l) => file.write(l), fileConfig.formatter);
  const terminal = new Relay();
  terminal.sink = await terminalSink(opts.mode, opts.console ?? { enable: true });
  // The streams take every level and the logger decides, so that `emqx ctl log set-level`
  // (setting the logger's level at run time) changes what every stream writes.
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
  const flush = (f: RotatingFile): void => {
    try {
      f.flushSync();
    } catch {
      /* nothing buffered */
    }
  };
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
        flush(old);
        old.end();
      }
      fileConfig = next;
      fileRelay.sink = formatted((l) => file.write(l), next.formatter);
      terminal.sink = sink;
    },
    close: () => flush(file),
  };
}
