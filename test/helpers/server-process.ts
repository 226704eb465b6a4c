// A server the tests start (redis-server, postgres, mariadbd, slapd, haproxy): spawned, then asked until it
// answers; if it exits first or never answers within the bound, it is stopped and the error says
// why, with the end of its stderr. Stopped by its PID (TERM, then KILL), its files removed.
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopProcess } from './dnsmasq.js';

export interface StartedServer {
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

export async function startServer(o: {
  readonly what: string;
  readonly cmd: string;
  readonly args: readonly string[];
  /** True once the server answers (errors count as not yet). */
  readonly ready: () => boolean | Promise<boolean>;
  readonly timeoutMs: number;
  /** How long TERM may take before KILL. */
  readonly graceMs?: number;
  /** Removes what the server left (its temp directory). */
  readonly cleanup: () => void;
}): Promise<StartedServer> {
  const child = spawn(o.cmd, [...o.args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const spawned = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', resolve);
  });
  const stop = async (): Promise<void> => {
    await stopProcess(child, o.graceMs ?? 5000);
    o.cleanup();
  };
  if (spawned) {
    o.cleanup();
    throw new Error(`cannot start ${o.what}: ${spawned.message}`);
  }
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`${o.what} exited (${child.exitCode}): ${stderr}`);
    }
    let up = false;
    try {
      up = await o.ready();
    } catch {
      // not up yet
    }
    if (up) return { child, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${o.what} did not answer within ${o.timeoutMs} ms: ${stderr}`);
    }
    await sleep(100);
  }
}
