// `emqx ping | stop | pid | ctl`: requests to a running node over its control socket.
import { readFileSync } from 'node:fs';
import { CtlUnreachableError, ctlRequest, type CtlReply } from '../ctl/client.js';
import { readPointer } from '../ctl/pointer.js';
import { MAX_BODY_LENGTH, RequestKind, type CtlRequest } from '../ctl/protocol.js';
import type { Target } from './target.js';

type Outcome = { readonly reply: CtlReply; readonly name?: string } | { readonly code: number };

/** ping, pid and stop are answered at once by a healthy node: a hung one is reported quickly. */
const QUICK_REPLY_MS = 10_000;

function report(err: unknown, req: CtlRequest, name: string, notResponding: (n: string) => string): void {
  // A node that accepts but never answers a ping is as good as down for the operator.
  if (err instanceof CtlUnreachableError || req.kind === RequestKind.ping) {
    process.stdout.write(`${notResponding(name)}\n`);
  } else {
    process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
  }
}

const replyTimeout = (req: CtlRequest): number | undefined => (req.kind === RequestKind.command ? undefined : QUICK_REPLY_MS);

/** Sends `req` through the daemon's pointer, with its key: a node not selected by it refuses. */
function askPointer(pointed: { readonly socketPath: string; readonly key: string }, req: CtlRequest): Promise<CtlReply> {
  return ctlRequest(pointed.socketPath, { ...req, expectedKey: pointed.key }, { replyTimeoutMs: replyTimeout(req) });
}

/**
 * Sends `req` to the node this environment selects. The daemon's pointer is tried first (as the
 * native client does), so a reachable node costs no configuration parsing; the configuration is
 * read only when the pointer is missing or stale, or to name the node.
 */
async function send(root: string, env: NodeJS.ProcessEnv, req: CtlRequest): Promise<Outcome> {
  let failure: unknown;
  const pointed = readPointer(root, env);
  if (pointed !== undefined) {
    try {
      return { reply: await askPointer(pointed, req) };
    } catch (err) {
      // Unreachable: nothing was delivered, so asking again at the configured path is safe.
      if (!(err instanceof CtlUnreachableError)) failure = err;
    }
  }
  const { resolveTarget, notRespondingMessage } = await import('./target.js');
  const target = resolveTarget(root, env);
  if (!target) return { code: 1 };
  if (failure !== undefined) {
    report(failure, req, target.name, notRespondingMessage);
    return { code: 1 };
  }
  return ask(target, req);
}

/** Sends `req` to the node at the configured socket path. */
async function ask(target: Target, req: CtlRequest): Promise<Outcome> {
  try {
    return { reply: await ctlRequest(target.socketPath, req, { replyTimeoutMs: replyTimeout(req) }), name: target.name };
  } catch (err) {
    const { notRespondingMessage } = await import('./target.js');
    report(err, req, target.name, notRespondingMessage);
    return { code: 1 };
  }
}

export async function pingCommand(root: string, env: NodeJS.ProcessEnv): Promise<number> {
  const res = await send(root, env, { kind: RequestKind.ping, args: [] });
  if ('code' in res) return res.code;
  process.stdout.write(res.reply.output);
  return res.reply.code;
}

export async function ctlCommand(root: string, env: NodeJS.ProcessEnv, args: readonly string[]): Promise<number> {
  const size = args.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0);
  if (size > MAX_BODY_LENGTH) {
    process.stderr.write(`Error: the arguments are too long (${size} bytes, the limit is ${MAX_BODY_LENGTH})\n`);
    return 1;
  }
  const res = await send(root, env, { kind: RequestKind.command, args });
  if ('code' in res) return res.code;
  process.stdout.write(res.reply.output);
  if (res.reply.stderr.length > 0) process.stderr.write(res.reply.stderr);
  return res.reply.code;
}

export async function pidCommand(root: string, env: NodeJS.ProcessEnv): Promise<number> {
  const res = await send(root, env, { kind: RequestKind.info, args: [] });
  if ('code' in res) return res.code;
  const info = JSON.parse(res.reply.output.toString('utf8')) as { pid: number };
  process.stdout.write(`${info.pid}\n`);
  return 0;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A daemon whose parent has exited may linger as a zombie until init reaps it: it has stopped.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Stop asks the configured node itself. Only when the configuration cannot be read (an edit
 * that broke emqx.conf after the node started, which a reload refused) is the daemon's pointer
 * followed: a running node must always be stoppable. The pointer's key makes a node that was
 * not selected by this environment refuse the request, so the wrong node is never stopped.
 */
async function sendStop(root: string, env: NodeJS.ProcessEnv): Promise<Outcome> {
  const req: CtlRequest = { kind: RequestKind.stop, args: [] };
  const { loadTarget, printConfigError } = await import('./target.js');
  let target: Target;
  try {
    target = loadTarget(root, env);
  } catch (configErr) {
    const pointed = readPointer(root, env);
    if (pointed !== undefined) {
      try {
        const reply = await askPointer(pointed, req);
        printConfigError(configErr);
        process.stderr.write('WARNING: the configuration above cannot be read; the running node was stopped through its control socket. Fix the file before the next start.\n');
        return { reply };
      } catch {
        /* no node behind the pointer: report the configuration, as without one */
      }
    }
    printConfigError(configErr);
    return { code: 1 };
  }
  return ask(target, req);
}

/** Asks the node to stop and waits (bounded) until its process is gone. */
export async function stopCommand(root: string, env: NodeJS.ProcessEnv, opts: { quiet?: boolean } = {}): Promise<number> {
  const res = await sendStop(root, env);
  if ('code' in res) return res.code;
  const pid = Number(res.reply.output.toString('utf8').trim());
  const waitS = Number(env.EMQX_WAIT_FOR_STOP) > 0 ? Number(env.EMQX_WAIT_FOR_STOP) : 60;
  const deadline = Date.now() + waitS * 1000;
  while (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
    if (Date.now() > deadline) {
      process.stderr.write(`Error: node '${res.name ?? '?'}' (pid ${pid}) did not stop within ${waitS} s\n`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  if (!opts.quiet) process.stdout.write('ok\n');
  return 0;
}
