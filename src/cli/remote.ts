// `emqx ping | stop | pid | ctl`: requests to a running node over its control socket.
import { readFileSync } from 'node:fs';
import { CtlUnreachableError, ctlRequest, type CtlReply } from '../ctl/client.js';
import { MAX_BODY_LENGTH, RequestKind, type CtlRequest } from '../ctl/protocol.js';
import { notRespondingMessage, resolveTarget, type Target } from './target.js';

type Outcome = { readonly reply: CtlReply; readonly target: Target } | { readonly code: number };

/** ping, pid and stop are answered at once by a healthy node: a hung one is reported quickly. */
const QUICK_REPLY_MS = 10_000;

async function send(root: string, env: NodeJS.ProcessEnv, req: CtlRequest): Promise<Outcome> {
  const target = resolveTarget(root, env);
  if (!target) return { code: 1 };
  try {
    const replyTimeoutMs = req.kind === RequestKind.command ? undefined : QUICK_REPLY_MS;
    return { reply: await ctlRequest(target.socketPath, req, { replyTimeoutMs }), target };
  } catch (err) {
    // A node that accepts but never answers a ping is as good as down for the operator.
    if (err instanceof CtlUnreachableError || req.kind === RequestKind.ping) {
      process.stdout.write(`${notRespondingMessage(target.name)}\n`);
    } else {
      process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    }
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

/** Asks the node to stop and waits (bounded) until its process is gone. */
export async function stopCommand(root: string, env: NodeJS.ProcessEnv, opts: { quiet?: boolean } = {}): Promise<number> {
  const res = await send(root, env, { kind: RequestKind.stop, args: [] });
  if ('code' in res) return res.code;
  const pid = Number(res.reply.output.toString('utf8').trim());
  const waitS = Number(env.EMQX_WAIT_FOR_STOP) > 0 ? Number(env.EMQX_WAIT_FOR_STOP) : 60;
  const deadline = Date.now() + waitS * 1000;
  while (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
    if (Date.now() > deadline) {
      process.stderr.write(`Error: node '${res.target.name}' (pid ${pid}) did not stop within ${waitS} s\n`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  if (!opts.quiet) process.stdout.write('ok\n');
  return 0;
}
