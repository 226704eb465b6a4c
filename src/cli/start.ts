// `emqx start`: validate, refuse if running, fork the daemon detached, return once it is ready.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ctlRequest } from '../ctl/client.js';
import { RequestKind } from '../ctl/protocol.js';
import { socketIsLive } from '../ctl/server.js';
import { DEFAULT_COOKIE, defaultCookieHint } from '../daemon/config.js';
import { ensureWritableDir } from '../daemon/data-dir.js';
import { defaultLogFile } from '../config/log-outputs.js';
import { awaitReadiness } from '../daemon/readiness.js';
import { readVersion } from '../daemon/version.js';
import { resolveTarget } from './target.js';

/** Where the daemon's own stdout/stderr go (a crash before the logger exists lands here). */
export const DAEMON_OUT_FILE = 'daemon.out';

function seconds(env: NodeJS.ProcessEnv, name: string, dflt: number): number {
  const v = Number(env[name]);
  return Number.isFinite(v) && v > 0 ? v : dflt;
}

/** The name of the node holding the control socket, when it says. */
async function runningNodeName(socketPath: string): Promise<string | undefined> {
  try {
    const reply = await ctlRequest(socketPath, { kind: RequestKind.info, args: [] }, { replyTimeoutMs: 5000 });
    const info = JSON.parse(reply.output.toString('utf8')) as { name?: unknown };
    return typeof info.name === 'string' ? info.name : undefined;
  } catch {
    return undefined;
  }
}

export async function startCommand(root: string, env: NodeJS.ProcessEnv, entry: readonly string[]): Promise<number> {
  const target = resolveTarget(root, env);
  if (!target) return 1;
  for (const w of target.warnings) process.stderr.write(`WARNING: ${w}\n`);
  if (await socketIsLive(target.socketPath)) {
    const holder = await runningNodeName(target.socketPath);
    if (holder === undefined || holder === target.name) {
      process.stderr.write(`Node ${target.name} is already running!\n`);
    } else {
      process.stderr.write(
        `Node ${target.name} cannot start: another node is running on this data directory (${target.config.node.data_dir}): ${holder}\n`,
      );
    }
    return 1;
  }
  if (target.config.node.cookie === DEFAULT_COOKIE) {
    // The loader's warnings above already carry EMQX's first line; this is EMQX's second one.
    process.stderr.write(
      `WARNING: ${defaultCookieHint(target.config.paths.conf_file)}\n`,
    );
  }

  const logDir = target.config.paths.log_dir;
  const outFile = join(logDir, DAEMON_OUT_FILE);
  const logFile = target.config.log?.file.path ?? defaultLogFile(logDir).path;
  let outFd: number;
  try {
    ensureWritableDir(logDir, 'log directory (EMQX_LOG_DIR)');
    outFd = openSync(outFile, 'a', 0o644);
  } catch (err) {
    process.stderr.write(`ERROR: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }

  const child = spawn(process.execPath, [...process.execArgv, ...entry, '__daemon', '--ready-fd', '3'], {
    detached: true,
    stdio: ['ignore', outFd, outFd, 'pipe'],
    env,
    // Every relative path counts from the install root anyway; this keeps the daemon from pinning
    // whatever directory the operator happened to be in.
    cwd: root,
  });
  closeSync(outFd);
  let exitCode: number | null = null;
  child.once('exit', (code, signal) => {
    exitCode = code ?? (signal ? 128 : 1);
  });

  const waitS = seconds(env, 'EMQX_WAIT_FOR_START', 60);
  const outcome = await awaitReadiness(child.stdio[3] as Readable, waitS * 1000);
  if ('timeout' in outcome) {
    process.stderr.write(`EMQX failed to start: the node did not become ready within ${waitS} s; stopping it.\nSee the log: ${logFile}\n`);
    if (child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    return 1;
  }
  if (!outcome.ok) {
    if (outcome.error !== undefined) {
      process.stderr.write(`EMQX failed to start:\n${outcome.error}\n`);
    } else {
      // Died before it could say why: give it a moment to be reaped so we can report its status.
      if (exitCode === null) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, 1000);
          child.once('exit', () => {
            clearTimeout(t);
            r();
          });
        });
      }
      process.stderr.write(
        `EMQX failed to start: the node process exited${exitCode !== null ? ` with code ${exitCode}` : ''} before it was ready.\nSee the log: ${logFile} and ${outFile}\n`,
      );
    }
    return 1;
  }
  child.unref();
  for (const w of outcome.warnings) process.stderr.write(`${w}\n`);
  process.stdout.write(`EMQX ${readVersion(root)} is started successfully!\n`);
  return 0;
}
