// The dashboard's listeners, `dashboard.listeners.http` and `.https` (EMQX's emqx_dashboard):
// plain node:http / node:https servers handing every request to the API application. On reload a
// listener whose address is unchanged is adjusted in place (connection limit, certificates); one
// that moves opens on its new address before the old one closes, so a bad new address leaves
// the old listener serving and the reload refused.
import { createServer as createHttp, type Server } from 'node:http';
import { createServer as createHttps, type Server as HttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { SecureVersion, TlsOptions } from 'node:tls';
import type { DashboardConfig, DashboardListenerConfig } from '../config/types.js';
import type { Log } from '../base/log.js';
import type { ApiServer } from './server.js';

type Kind = 'http' | 'https';

interface Running {
  readonly cfg: DashboardListenerConfig;
  readonly server: Server | HttpsServer;
  readonly address: string;
}

const VERSION: Readonly<Record<string, SecureVersion>> = { tlsv1: 'TLSv1', 'tlsv1.1': 'TLSv1.1', 'tlsv1.2': 'TLSv1.2', 'tlsv1.3': 'TLSv1.3' };
const ORDER: readonly SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** `ip:port` / `[v6]:port` → host and port; port 0 means the listener is off (EMQX). */
export function splitBind(bind: string): { host: string; port: number } {
  const i = bind.lastIndexOf(':');
  return { host: bind.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(bind.slice(i + 1)) };
}

export function isOn(cfg: DashboardListenerConfig): boolean {
  return cfg.enable && splitBind(cfg.bind).port !== 0;
}

/** node:tls options from dashboard.listeners.https.ssl_options; throws naming the unreadable file. */
export function tlsOptions(cfg: DashboardListenerConfig): TlsOptions {
  const o = cfg.ssl_options;
  if (!o) throw new Error('dashboard.listeners.https.ssl_options is missing');
  const read = (key: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`dashboard.listeners.https.ssl_options.${key}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
    }
  };
  const versions = o.versions.map((v) => VERSION[v]!).sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b));
  return {
    cert: read('certfile', o.certfile),
    key: read('keyfile', o.keyfile),
    ...(o.cacertfile ? { ca: read('cacertfile', o.cacertfile) } : {}),
    ...(o.password !== undefined ? { passphrase: o.password } : {}),
    ...(o.ciphers.length > 0 ? { ciphers: o.ciphers.join(':') } : {}),
    minVersion: versions[0] ?? 'TLSv1.2',
    maxVersion: versions[versions.length - 1] ?? 'TLSv1.3',
    honorCipherOrder: o.honor_cipher_order,
    requestCert: o.verify === 'verify_peer',
    rejectUnauthorized: o.verify === 'verify_peer',
  };
}

export class DashboardListeners {
  readonly #running = new Map<Kind, Running>();

  constructor(
    private readonly api: () => ApiServer,
    private readonly log: Log,
  ) {}

  /** `ip:port` each listener is bound to (port resolved when 0 was never asked: for tests and logs). */
  addresses(): Record<string, string> {
    return Object.fromEntries([...this.#running].map(([k, r]) => [k, r.address]));
  }

  async #open(kind: Kind, cfg: DashboardListenerConfig): Promise<Running> {
    const handler = (req: Parameters<ApiServer['handle']>[0], res: Parameters<ApiServer['handle']>[1]): void => this.api().handle(req, res);
    const server = kind === 'https' ? createHttps(tlsOptions(cfg), handler) : createHttp(handler);
    server.maxConnections = cfg.max_connections;
    // Slow or idle clients cannot hold sockets for long.
    server.headersTimeout = 20_000;
    server.requestTimeout = 30_000;
    server.keepAliveTimeout = 10_000;
    const { host, port } = splitBind(cfg.bind);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.log.error({ listener: `${kind}:dashboard`, err: err.message }, 'dashboard listener error'));
    const a = server.address();
    const address = typeof a === 'object' && a ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : cfg.bind;
    this.log.info({ listener: `${kind}:dashboard`, bind: address }, `dashboard listener ${kind} started on ${address}`);
    return { cfg, server, address };
  }

  async #close(kind: Kind): Promise<void> {
    const r = this.#running.get(kind);
    if (!r) return;
    this.#running.delete(kind);
    await new Promise<void>((resolve) => {
      r.server.close(() => resolve());
      r.server.closeIdleConnections();
      // In-flight requests get a moment; then their sockets go too.
      setTimeout(() => r.server.closeAllConnections(), 2000).unref();
    });
  }

  async start(cfg: DashboardConfig): Promise<void> {
    for (const kind of ['http', 'https'] as const) {
      if (isOn(cfg.listeners[kind])) this.#running.set(kind, await this.#open(kind, cfg.listeners[kind]));
    }
  }

  /** Applies new listener settings; throws (leaving the listeners as they were) when one cannot open. */
  async reconfigure(cfg: DashboardConfig): Promise<void> {
    for (const kind of ['http', 'https'] as const) {
      const next = cfg.listeners[kind];
      const cur = this.#running.get(kind);
      if (!isOn(next)) {
        await this.#close(kind);
        continue;
      }
      if (cur && cur.cfg.bind === next.bind) {
        cur.server.maxConnections = next.max_connections;
        if (kind === 'https') (cur.server as HttpsServer).setSecureContext(tlsOptions(next));
        this.#running.set(kind, { ...cur, cfg: next });
        continue;
      }
      const opened = await this.#open(kind, next);
      await this.#close(kind);
      this.#running.set(kind, opened);
    }
  }

  async stop(): Promise<void> {
    await Promise.all([this.#close('http'), this.#close('https')]);
  }
}
