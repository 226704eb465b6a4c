// The Node.js control client: the fallback behind bin/emqx_ctl and the transport of
// `emqx ping | stop | pid`. Speaks src/ctl/protocol.ts.
import { createConnection } from 'node:net';
import { encodeRequest, parseReply, type CtlRequest } from './protocol.js';

export class CtlUnreachableError extends Error {
  constructor(
    readonly socketPath: string,
    readonly reason: string,
  ) {
    super(`no node answers on ${socketPath}: ${reason}`);
    this.name = 'CtlUnreachableError';
  }
}

export interface CtlReply {
  readonly code: number;
  readonly output: Buffer;
  /** Lines for stderr (hints beyond EMQX's output); empty when none. */
  readonly stderr: Buffer;
}

export interface CtlClientOptions {
  readonly connectTimeoutMs?: number;
  /** How long to wait for the whole reply (default 120 s: `cluster join` may take a while). */
  readonly replyTimeoutMs?: number;
}

/**
 * Sends one request and reads the whole reply. Rejects with CtlUnreachableError when nothing
 * listens (the request was certainly not delivered), with a plain Error on a broken reply.
 */
export function ctlRequest(socketPath: string, req: CtlRequest, opts: CtlClientOptions = {}): Promise<CtlReply> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ path: socketPath, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let connected = false;
    let settled = false;
    const finish = (err: Error | undefined, reply?: CtlReply): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    let timer = setTimeout(() => finish(new CtlUnreachableError(socketPath, 'connect timed out')), opts.connectTimeoutMs ?? 2000);
    sock.once('connect', () => {
      connected = true;
      clearTimeout(timer);
      timer = setTimeout(() => finish(new Error('timed out waiting for the node to reply')), opts.replyTimeoutMs ?? 120_000);
      sock.end(encodeRequest(req));
    });
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('end', () => {
      const res = parseReply(Buffer.concat(chunks));
      if (res.status === 'ok') finish(undefined, { code: res.code, output: res.output, stderr: res.stderr });
      // Nothing ran: for the caller this is the same as nobody listening there.
      else if (res.status === 'mismatch') finish(new CtlUnreachableError(socketPath, 'another node owns this socket now'));
      else finish(new Error('the node closed the control connection without a valid reply'));
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected) finish(new CtlUnreachableError(socketPath, err.code ?? err.message));
      else finish(new Error(`control connection failed: ${err.code ?? err.message}`));
    });
  });
}
