// One HTTP(S) request of an authenticator to its service (the HTTP authenticator's check, a
// JWKS fetch): bounded in time and in the size of the answer, TLS as the authenticator's `ssl`
// says (the system's CAs unless a CA file is given). No pool and no keep-alive: one request, one
// connection.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
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

export class HttpClient {
  readonly #ca: Buffer | undefined;

  /** Reads the CA file now (throws when it cannot be read): a reload builds a new client. */
  constructor(
    private readonly tls: ClientTls | undefined,
    private readonly maxBytes: number,
  ) {
    this.#ca = tls?.cacertfile ? readFileSync(tls.cacertfile) : undefined;
  }

  /** Rejects with the reason when there is no whole answer within `timeoutMs`. */
  request(url: URL, method: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number): Promise<Answer> {
    const https = url.protocol === 'https:';
    const tls = this.tls;
    return new Promise<Answer>((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(
        url,
        {
          method,
          headers: body !== undefined ? { ...headers, 'content-length': String(Buffer.byteLength(body)) } : headers,
          timeout: timeoutMs,
          ...(https ? { rejectUnauthorized: tls?.verify ?? true, ...(this.#ca ? { ca: this.#ca } : {}), ...(tls?.server_name_indication ? { servername: tls.server_name_indication } : {}) } : {}),
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (b: Buffer) => {
            size += b.length;
            if (size > this.maxBytes) req.destroy(new Error(`the answer is over ${this.maxBytes} bytes`));
            else chunks.push(b);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (err) => reject(new Error(`reading the answer failed: ${err.message}`)));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err) => reject(err));
      req.end(body);
    });
  }
}
