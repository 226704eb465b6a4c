// The HTTP(S) requests of one authenticator or authorization source to its service (the HTTP
// authenticator's and the HTTP source's checks, a JWKS fetch): bounded in time (request_timeout
// covers the wait for a pooled connection too) and in the size of the answer; TLS as the `ssl`
// section says (the system's CAs unless a CA file is given). Connections are kept alive and
// pooled, at most `pool_size` to the service (EMQX's key and default, 8): a connect storm queues
// its checks instead of opening a connection, and a file descriptor, per client.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';

export interface ClientTls {
  readonly cacertfile?: string;
  readonly verify: boolean;
  readonly server_name_indication?: string;
}

export interface Answer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: string;
}

/** A pooled connection idle this long is closed. */
const IDLE_MS = 30_000;

export class HttpClient {
  readonly #ca: Buffer | undefined;
  #http: HttpAgent | undefined;
  #https: HttpsAgent | undefined;
  #closed = false;

  /** Reads the CA file now (throws when it cannot be read): a reload builds a new client. */
  constructor(
    private readonly tls: ClientTls | undefined,
    private readonly maxBytes: number,
    private readonly poolSize = 8,
  ) {
    this.#ca = tls?.cacertfile ? readFileSync(tls.cacertfile) : undefined;
  }

  #agent(https: boolean): HttpAgent {
    const common = { keepAlive: true, maxSockets: this.poolSize, maxFreeSockets: this.poolSize, timeout: IDLE_MS };
    if (!https) return (this.#http ??= new HttpAgent(common));
    const t = this.tls;
    return (this.#https ??= new HttpsAgent({
      ...common,
      rejectUnauthorized: t?.verify ?? true,
      ...(this.#ca ? { ca: this.#ca } : {}),
      ...(t?.server_name_indication ? { servername: t.server_name_indication } : {}),
    }));
  }

  /** Rejects with the reason when there is no whole answer within `timeoutMs` of the call. */
  request(url: URL, method: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number): Promise<Answer> {
    if (this.#closed) return Promise.reject(new Error('the client was replaced by a reload'));
    const https = url.protocol === 'https:';
    return new Promise<Answer>((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(
        url,
        { method, agent: this.#agent(https), headers: body !== undefined ? { ...headers, 'content-length': String(Buffer.byteLength(body)) } : headers },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (b: Buffer) => {
            size += b.length;
            if (size > this.maxBytes) req.destroy(new Error(`the answer is over ${this.maxBytes} bytes`));
            else chunks.push(b);
          });
          res.on('end', () => {
            clearTimeout(deadline);
            resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') });
          });
          res.on('error', (err) => reject(new Error(`reading the answer failed: ${err.message}`)));
        },
      );
      // One deadline for the whole request, the wait for a free pooled connection included.
      const deadline = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      req.on('error', (err) => {
        clearTimeout(deadline);
        reject(err);
      });
      req.end(body);
    });
  }

  /** Closes the pooled connections once the requests under way have had `graceMs` to finish. */
  close(graceMs: number): void {
    this.#closed = true;
    const agents = [this.#http, this.#https];
    setTimeout(() => {
      for (const a of agents) a?.destroy();
    }, graceMs).unref();
  }
}
