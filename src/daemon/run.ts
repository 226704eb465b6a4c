// Runs a node in this process until it is told to stop: `emqx console`, `emqx foreground`, and
// the detached daemon that `emqx start` forks. Owns the process: signals, exit code, last words.
import { ConfigError, formatProblem } from '../config/types.js';
import { loadNodeConfig, DEFAULT_COOKIE, defaultCookieHint } from './config.js';
import { createLogger, type NodeLogger, type RunMode } from './logger.js';
import { EmqxNode } from './node.js';
import { sendReadiness } from './readiness.js';
import { readVersion } from './version.js';
import { controlSocketPath, ensureWritableDir } from './data-dir.js';
import { socketIsLive } from '../ctl/server.js';
import { DEFAULT_LOG_LEVEL, LOG_LEVELS } from '../config/log-level.js';

export interface RunOptions {
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;
  readonly mode: RunMode;
  /** Detached daemon only: the pipe to report readiness on. */
  readonly readyFd?: number;
}

function errorMessage(err: unknown): string {
  if (err instanceof ConfigError) return err.problems.map(formatProblem).join('\n');
  return err instanceof Error ? err.message : String(err);
}

/** Resolves with the process exit code once the node has stopped. */
export async function runNode(opts: RunOptions): Promise<number> {
  // stdout and stderr are the daemon's log/daemon.out, or a terminal: a full disk or a closed
  // terminal must not stop the node (an 'error' with no listener would). What cannot be written
  // there is lost; the log file reports its own failures.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  const fail = (msg: string): number => {
    if (opts.readyFd !== undefined) sendReadiness(opts.readyFd, { ok: false, error: msg });
    else process.stderr.write(`${msg}\n`);
    return 1;
  };

  let loaded;
  try {
    loaded = loadNodeConfig({ root: opts.root, env: opts.env });
  } catch (err) {
    return fail(errorMessage(err));
  }
  const { config } = loaded;
  const interactive = opts.mode !== 'daemon';
  if (interactive) {
    for (const w of loaded.warnings) process.stderr.write(`WARNING: ${w}\n`);
    // `emqx start` checks this before forking; the foreground modes check it here.
    if (await socketIsLive(controlSocketPath(config.node.data_dir))) {
      process.stderr.write(`Node ${config.node.name} is already running!\n`);
      return 1;
    }
  }

  let log: NodeLogger;
  try {
    ensureWritableDir(config.paths.log_dir, 'log directory (EMQX_LOG_DIR)');
    log = await createLogger({
      logDir: config.paths.log_dir,
      file: config.log?.file,
      console: config.log?.console,
      mode: opts.mode,
      nodeName: config.node.name,
      level: LOG_LEVELS[config.log?.level ?? DEFAULT_LOG_LEVEL],
    });
  } catch (err) {
    return fail(errorMessage(err));
  }
  const { logger } = log;
  // The loader's warnings hold the default cookie's (EMQX's first line): logged once, and shown
  // on the terminal above; EMQX's second line goes with it there, as `emqx start` prints it.
  for (const w of loaded.warnings) logger.warn(w);
  if (config.node.cookie === DEFAULT_COOKIE && interactive) {
    process.stderr.write(`WARNING: ${defaultCookieHint(config.paths.conf_file)}\n`);
  }

  let stopRequested: () => void = () => undefined;
  const stopSignal = new Promise<string>((resolve) => {
    stopRequested = () => resolve('request');
    process.once('SIGTERM', () => resolve('SIGTERM'));
    // In console mode Ctrl-C is the operator's way to stop; in the daemon it only arrives on purpose.
    process.once('SIGINT', () => resolve('SIGINT'));
  });

  const node = new EmqxNode({
    config,
    logger,
    env: opts.env,
    version: readVersion(opts.root),
    mode: opts.mode,
    onStopRequest: () => stopRequested(),
    logOutputs: log,
  });

  let fatal = false;
  const onFatal = (err: unknown): void => {
    fatal = true;
    // Last words twice: stderr (log/daemon.out for a daemon) as well, in case the log file is
    // what failed. Both are written synchronously.
    process.stderr.write(`${new Date().toISOString()} unexpected error; stopping: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    logger.fatal({ err }, 'unexpected error; stopping');
    stopRequested();
  };
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);

  try {
    await node.start();
  } catch (err) {
    const msg = errorMessage(err);
    logger.error({ err: msg }, 'node failed to start');
    return fail(`${msg}\nSee the log: ${log.logFile}`);
  }

  const onHup = (): void => {
    logger.info('SIGHUP received');
    node.reload('SIGHUP').catch((err: unknown) => logger.error({ err }, 'reload failed'));
  };
  process.on('SIGHUP', onHup);

  if (opts.readyFd !== undefined) sendReadiness(opts.readyFd, { ok: true, pid: process.pid, warnings: node.warnings });
  else for (const w of node.warnings) process.stderr.write(`${w}\n`);

  const why = await stopSignal;
  logger.info({ reason: why }, 'shutting down');
  process.off('SIGHUP', onHup);
  await node.stop();
  return fatal ? 1 : 0;
}
