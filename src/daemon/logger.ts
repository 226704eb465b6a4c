// The node's logger, handed to every part. JSON lines to <log_dir>/emqx.log (rotated by size);
// in `console` mode also human-readable on the terminal, in `foreground` mode JSON on stdout.
// Secrets are redacted by key wherever they appear, as a second line of defence: parts must not
// pass them to the logger in the first place.
import pino, { type Logger, type StreamEntry } from 'pino';
import { createRotatingFile } from './rotating-file.js';
import { logFilePath } from './log-file.js';

export type RunMode = 'daemon' | 'console' | 'foreground';

export interface LoggerOptions {
  readonly logDir: string;
  readonly mode: RunMode;
  readonly nodeName: string;
  readonly level?: pino.LevelWithSilent;
  readonly maxBytes?: number;
  readonly keep?: number;
}

export interface NodeLogger {
  readonly logger: Logger;
  readonly logFile: string;
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

export { logFilePath };

export async function createLogger(opts: LoggerOptions): Promise<NodeLogger> {
  const logFile = logFilePath(opts.logDir);
  const file = createRotatingFile({ file: logFile, maxBytes: opts.maxBytes, keep: opts.keep });
  const level = opts.level ?? 'info';
  // The streams take every level and the logger decides, so that `emqx ctl log set-level`
  // (setting the logger's level at run time) changes what every stream writes.
  const streams: StreamEntry[] = [{ level: 'trace', stream: file }];
  if (opts.mode === 'console') {
    // Loaded only here: pino-pretty costs start-up time the daemon does not need to pay.
    const { default: pretty } = await import('pino-pretty');
    streams.push({ level: 'trace', stream: pretty({ colorize: process.stdout.isTTY, sync: true, destination: 1, ignore: 'pid,hostname,node', singleLine: true }) });
  } else if (opts.mode === 'foreground') {
    streams.push({ level: 'trace', stream: pino.destination({ dest: 1, sync: true }) });
  }
  const logger = pino(
    {
      level,
      base: { pid: process.pid, node: opts.nodeName },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '******' },
    },
    pino.multistream(streams),
  );
  return {
    logger,
    logFile,
    close: () => {
      try {
        file.flushSync();
      } catch {
        /* nothing buffered */
      }
    },
  };
}
