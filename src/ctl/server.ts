// The control socket inside the daemon. The bound socket doubles as the data directory's lock:
// a live node answers a connect; a socket file left by a killed node refuses it and is replaced.
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { encodeReply, MISMATCH_MAGIC, parseRequest, type CtlRequest } from './protocol.js';
import type { CtlResult } from './types.js';
import { MAX_SOCKET_PATH_BYTES } from '../node/dirs.js';

export class CtlServerError extends Error {
  constructor(
    readonly code: 'already_running' | 'socket_path_too_long' | 'listen_failed',
    message: string,
  ) {
    super(message);
    this.name = 'CtlServerError';
  }
}

export type CtlHandler = (req: CtlRequest) => Promise<CtlResult> | CtlResult;

export interface CtlServerOptions {
  readonly socketPath: string;
  readonly handler: CtlHandler;
  readonly logger: Logger;
  /** How long a client may take to send its request (default 5 s). */
  readonly requestTimeoutMs?: number;
  /** This node's pointer key: requests that expect another key are answered "mismatch". */
  readonly pointerKey?: string;
}

export function checkSocketPath(socketPath: string): void {
  const len = Buffer.byteLength(socketPath);
  if (len > MAX_SOCKET_PATH_BYTES) {
    throw new CtlServerError(
      'socket_path_too_long',
      `control socket path is too long for a Unix socket (${len} bytes, the limit is ${MAX_SOCKET_PATH_BYTES}): ${socketPath}; use a shorter node.data_dir`,
    );
  }
}

/** true when something answers on the socket path (a live node). */
export function socketIsLive(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(socketPath);
    const done = (live: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(live);
    };
    // A live node that is too busy to accept within the timeout still holds the lock.
    const timer = setTimeout(() => done(true), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export class CtlServer {
  readonly #opts: CtlServerOptions;
  #server: Server | undefined;
  readonly #conns = new Set<Socket>();

  constructor(opts: CtlServerOptions) {
    this.#opts = opts;
  }

  get socketPath(): string {
    return this.#opts.socketPath;
  }

  /** Binds the socket (taking the lock). Throws CtlServerError('already_running') if a node holds it. */
  async listen(): Promise<void> {
    const path = this.#opts.socketPath;
    checkSocketPath(path);
    try {
      this.#server = await this.#bind(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw this.#listenError(err);
      if (await socketIsLive(path)) {
        throw new CtlServerError('already_running', `another node is running on this data directory (its control socket ${path} answers)`);
      }
      // Left behind by a node that was killed: nobody listens, so it is safe to replace.
      this.#opts.logger.info({ socket: path }, 'removing stale control socket left by a previous run');
      try {
        if (lstatSync(path).isSocket()) unlinkSync(path);
      } catch {
        /* raced with another cleaner */
      }
      try {
        this.#server = await this.#bind(path);
      } catch (err2) {
        if ((err2 as NodeJS.ErrnoException).code === 'EADDRINUSE') {
          throw new CtlServerError('already_running', `another node is running on this data directory (it bound ${path} first)`);
        }
        throw this.#listenError(err2);
      }
    }
    chmodSync(path, 0o600);
  }

  #listenError(err: unknown): CtlServerError {
    const e = err as NodeJS.ErrnoException;
    return new CtlServerError('listen_failed', `cannot create the control socket ${this.#opts.socketPath}: ${e.code ?? e.message}`);
  }

  #bind(path: string): Promise<Server> {
    return new Promise((resolve, reject) => {
      const server = createServer({ allowHalfOpen: true }, (sock) => this.#serve(sock));
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        server.on('error', (err) => this.#opts.logger.error({ err }, 'control socket error'));
        resolve(server);
      });
    });
  }

  #serve(sock: Socket): void {
    this.#conns.add(sock);
    sock.on('close', () => this.#conns.delete(sock));
    sock.on('error', () => sock.destroy());
    let buf: Buffer = Buffer.alloc(0);
    let answered = false;
    const reply = (res: CtlResult): void => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      // Whatever the client still sends is read and dropped, never left unread: a paused socket
      // never sees the client's close, and kept its descriptor for good after a large bad request.
      sock.off('data', onData);
      sock.resume();
      if (!sock.writable) return void sock.destroy();
      sock.end(encodeReply(res.code, res.output, res.stderr), () => lingerThenDrop());
    };
    // The reply is out; a client that neither closes nor stops sending is let go after a while.
    const lingerThenDrop = (): void => {
      const linger = setTimeout(() => sock.destroy(), this.#opts.requestTimeoutMs ?? 5000).unref();
      sock.once('close', () => clearTimeout(linger));
    };
    const reject = (reason: string): void => {
      this.#opts.logger.warn({ reason }, 'bad request on the control socket');
      reply({ code: 2, output: `Error: bad request on the control socket: ${reason}\n` });
    };
    const timer = setTimeout(() => reject('timed out waiting for the request'), this.#opts.requestTimeoutMs ?? 5000);
    const onData = (chunk: Buffer): void => {
      if (answered) return;
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const res = parseRequest(buf);
      if (res.status === 'incomplete') return;
      if (res.status === 'invalid') return reject(res.reason);
      sock.off('data', onData);
      clearTimeout(timer);
      const { expectedKey } = res.request;
      if (expectedKey !== undefined && expectedKey !== this.#opts.pointerKey) {
        answered = true;
        sock.end(Buffer.from(MISMATCH_MAGIC, 'latin1'));
        return;
      }
      void Promise.resolve()
        .then(() => this.#opts.handler(res.request))
        .then(reply, (err: unknown) => {
          this.#opts.logger.error({ err }, 'control request failed');
          reply({ code: 1, output: `Error: ${err instanceof Error ? err.message : String(err)}\n` });
        });
    };
    sock.on('data', onData);
    sock.on('end', () => {
      if (answered) return;
      // A bare connect-and-close is a liveness probe (see socketIsLive), not an error.
      if (buf.length === 0) {
        answered = true;
        clearTimeout(timer);
        sock.end();
        return;
      }
      if (parseRequest(buf).status === 'incomplete') reject('connection closed before the request was complete');
    });
  }

  /** Stops accepting, lets in-flight replies finish (bounded), removes the socket file. */
  async close(graceMs = 2000): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const deadline = setTimeout(() => {
      for (const c of this.#conns) c.destroy();
    }, graceMs);
    await closed;
    clearTimeout(deadline);
    try {
      if (lstatSync(this.#opts.socketPath).isSocket()) unlinkSync(this.#opts.socketPath);
    } catch {
      /* libuv already removed it */
    }
  }
}
