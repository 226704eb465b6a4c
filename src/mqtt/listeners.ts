// The MQTT listeners of `listeners.<type>.<name>` (tcp, ssl, ws, wss): thin shells that accept
// connections and hand each to a channel. They start, stop and change while the node runs: a
// reload binds every new address first and changes nothing if one of them cannot be bound.
// One sweep a second serves every channel's timers (connect timeout, keepalive, resends).
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type PeerCertificate, type TLSSocket } from 'node:tls';
import { createHash } from 'node:crypto';
import { WebSocketServer } from 'ws';
import { acceptWithOnread, noDelayOnAccepted } from '../base/accept-onread.js';
import type { Log } from '../base/log.js';
import type { LogLimiter } from '../base/log-limit.js';
import type { Counters } from '../base/metrics.js';
import type { ListenerConfig, ListenersConfig, ListenerType, MqttConfig } from '../config/types.js';
import type { Channel, ChannelEnv, ChannelSettings } from './channel.js';
import { serveSocket, serveWebSocket } from './connection.js';
import { MqttReads } from './direct-read.js';
import type { AccessPort, BrokerPort, CongestionPort, OverloadPort, PeerCert } from './port.js';
import { RC } from './reason-codes.js';
import type { Tracer } from './tracer.js';
import { TokenBucket } from '../base/token-bucket.js';
import { accessAllowed, parseAccessRule, type AccessRule } from './access-rules.js';
import { proxiedOf, readProxyHeader } from './proxy-stage.js';
import { forwardedPeer } from './forwarded-peer.js';

export interface ListenersEnv {
  readonly broker: BrokerPort;
  readonly counters: Counters;
  readonly log: Log;
  readonly limited: LogLimiter;
  /** The mqtt.* settings new connections get. */
  mqtt(): MqttConfig;
  onConnected?(ch: Channel): void;
  /** Authentication and authorization for every connection. */
  readonly access?: AccessPort;
  /** `emqx ctl trace` (tracer.ts). */
  readonly tracer?: Tracer;
  /** conn_congestion alarms. */
  readonly congestion?: CongestionPort;
  /** overload_protection: new connections closed while the node is overloaded. */
  readonly overload?: OverloadPort;
}

/** The verified client certificate of a TLS connection, in the forms peer_cert_as_* use. */
export function peerCertOf(socket: TLSSocket): PeerCert | undefined {
  const c: PeerCertificate | undefined = socket.getPeerCertificate();
  if (!c || !c.raw) return undefined;
  const subject = (c.subject ?? {}) as unknown as Record<string, string | string[]>;
  const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
  const dn = Object.entries(subject).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`).join(',');
  const b64 = c.raw.toString('base64');
  return { cn: one(subject.CN), dn, pem: `-----BEGIN CERTIFICATE-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`, crt: b64, md5: createHash('md5').update(c.raw).digest('hex') };
}

/**
 * The client certificate a TLS-terminating balancer verified, as its PROXY v2 header names it:
 * only the common name is known (EMQX's pp2_ssl_cn), so `peer_cert_as_username = cn` works behind it.
 */
function balancerCert(cn: string): PeerCert {
  return { cn, dn: `CN=${cn}`, pem: '', crt: '', md5: '' };
}

export class ListenerError extends Error {
  constructor(
    readonly id: string,
    message: string,
  ) {
    super(message);
    this.name = 'ListenerError';
  }
}

type AnyServer = TcpServer | HttpServer;

interface Running {
  readonly id: string;
  readonly type: ListenerType;
  config: ListenerConfig;
  readonly server: AnyServer;
  readonly channels: Set<Channel>;
  settings: ChannelSettings;
  /** Connections refused because max_connections was reached. */
  shutdownCount: number;
  /** Connections refused by access_rules. */
  deniedCount: number;
  /** Connections closed for a missing or malformed PROXY protocol header. */
  proxyRefused: number;
  /** Connections still waiting for their PROXY protocol header. */
  proxyPending: number;
  /** Connections closed at once because the node was overloaded (overload_protection). */
  overloadRefused: number;
  /** max_conn_rate's bucket; undefined: no limit. */
  connRate: TokenBucket | undefined;
  /** Accepted connections held back by max_conn_rate, not served yet. */
  waiting: number;
  /** `access_rules` compiled, and the list they were compiled from; undefined: allow all. */
  rules: { readonly from: readonly string[]; readonly compiled: readonly AccessRule[] | undefined };
}

/** The compiled rules, none when they let every address in (EMQX's default): no address lookup then. */
function compileRules(list: readonly string[]): { from: readonly string[]; compiled: readonly AccessRule[] | undefined } {
  const compiled = list.map((t) => parseAccessRule(t)).filter((r): r is AccessRule => typeof r !== 'string');
  return { from: list, compiled: compiled.length === 0 || (compiled[0]!.allow && compiled[0]!.ranges === 'all') ? undefined : compiled };
}

/**
 * Runs `denied` on each connection before anything else the server does with it (before the TLS
 * handshake on ssl/wss, before the WebSocket upgrade): a denied one is destroyed at once. Then,
 * when `proxy()` says so, the PROXY protocol header is read off it first (proxy-stage.ts).
 */
function guardConnections(server: AnyServer, denied: (socket: Socket) => boolean, proxy: (socket: Socket, next: () => void) => boolean): void {
  const listeners = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  // No Nagle on any listener type (EMQX's tcp_options.nodelay = true): set on the listening
  // socket where the OS hands it on to accepted ones, else on each connection.
  let perSocketNoDelay = true;
  server.on('listening', () => (perSocketNoDelay = !noDelayOnAccepted(server as TcpServer)));
  server.on('connection', (socket: Socket) => {
    if (denied(socket)) return void socket.destroy();
    if (perSocketNoDelay) socket.setNoDelay(true);
    const next = (): void => {
      for (const f of listeners) f.call(server, socket);
    };
    if (!proxy(socket, next)) next();
  });
}

const connRateOf = (l: ListenerConfig): TokenBucket | undefined =>
  l.max_conn_rate > 0 && l.max_conn_rate < Number.POSITIVE_INFINITY ? new TokenBucket(l.max_conn_rate, Date.now()) : undefined;

export interface ListenerStatus {
  readonly id: string;
  readonly bind: string;
  /** The configured `enable` (a listener stopped by an operator is enabled and not running). */
  readonly enable: boolean;
  readonly running: boolean;
  readonly currentConns: number;
  readonly maxConns: number;
  readonly shutdownCount: number;
  /** Connections refused by access_rules. */
  readonly deniedCount: number;
  readonly proxyProtocol: boolean;
  /** Connections closed for a missing or malformed PROXY protocol header. */
  readonly proxyRefused: number;
  /** Connections closed at once because the node was overloaded (overload_protection). */
  readonly overloadRefused: number;
  /** Why a configured listener is not running (off by default, stopped by an operator, ...). */
  readonly note?: string;
}

export function parseBind(bind: string): { host: string; port: number } {
  const i = bind.lastIndexOf(':');
  const host = bind.slice(0, i);
  return { host: host.startsWith('[') ? host.slice(1, -1) : host, port: Number(bind.slice(i + 1)) };
}

function listenReason(err: NodeJS.ErrnoException, bind: string): string {
  const { host, port } = parseBind(bind);
  if (err.code === 'EADDRINUSE') return `port ${port} is in use`;
  if (err.code === 'EACCES') return `permission denied for port ${port} (ports below 1024 need privileges)`;
  if (err.code === 'EADDRNOTAVAIL') return `${host} is not an address of this host`;
  return err.message;
}

const ids = (config: ListenersConfig): Array<[id: string, type: ListenerType, l: ListenerConfig]> =>
  (Object.keys(config) as ListenerType[]).flatMap((type) => Object.entries(config[type]).map(([name, l]): [string, ListenerType, ListenerConfig] => [`${type}:${name}`, type, l]));

/**
 * A change that needs a new socket: another address, the PROXY protocol on or off (a plain TCP
 * listener reads differently then), or TLS settings a running server cannot take (whether to ask
 * for client certificates, the handshake deadline). Certificates and keys change in place.
 */
const rebind = (a: ListenerConfig, b: ListenerConfig): boolean =>
  a.bind !== b.bind ||
  a.proxy_protocol !== b.proxy_protocol ||
  a.ssl_options?.verify !== b.ssl_options?.verify ||
  a.ssl_options?.fail_if_no_peer_cert !== b.ssl_options?.fail_if_no_peer_cert ||
  a.ssl_options?.handshake_timeout !== b.ssl_options?.handshake_timeout ||
  a.websocket?.max_frame_size !== b.websocket?.max_frame_size;

/** Two binds that cannot be listened on at once: one port, on the same or a wildcard address. */
function overlaps(a: string, b: string): boolean {
  const x = parseBind(a);
  const y = parseBind(b);
  const any = (h: string): boolean => h === '0.0.0.0' || h === '::' || h === '';
  return x.port === y.port && x.port !== 0 && (x.host === y.host || any(x.host) || any(y.host));
}

export class Listeners {
  readonly #running = new Map<string, Running>();
  /** Listeners an operator stopped with `listeners stop` (until start or a restart of the node). */
  readonly #stopped = new Set<string>();
  #config: ListenersConfig | undefined;
  #sweep: NodeJS.Timeout | undefined;

  constructor(private readonly env: ListenersEnv) {}

  /** Opens every enabled listener; on a failure closes what it opened and throws ListenerError. */
  async start(config: ListenersConfig): Promise<void> {
    this.#config = config;
    const opened: Running[] = [];
    try {
      for (const [id, type, l] of ids(config)) {
        if (!l.enable) continue;
        opened.push(await this.#open(id, type, l));
      }
    } catch (err) {
      await Promise.all(opened.map((r) => this.#close(r)));
      throw err;
    }
    for (const r of opened) this.#running.set(r.id, r);
    this.#sweep = setInterval(() => this.#tick(), 1000);
    this.#sweep.unref();
  }

  /**
   * Hot reload: all or nothing. New addresses are bound first; if one cannot be, those bound here
   * are closed again and the running listeners stay as they were (ListenerError). A new address
   * held by a listener the change removes or moves (a listener renamed, or its type changed, on
   * the same port) is freed first, and opened again if the change fails.
   */
  async reconfigure(config: ListenersConfig): Promise<void> {
    const want = new Map(ids(config).filter(([id, , l]) => l.enable && !this.#stopped.has(id)).map(([id, type, l]) => [id, { type, l }]));
    const opened: Running[] = [];
    const freed: Running[] = [];
    try {
      for (const [id, { type, l }] of want) {
        const cur = this.#running.get(id);
        if (cur && !rebind(cur.config, l)) continue;
        for (const r of this.#running.values()) {
          const next = want.get(r.id);
          const leaving = next === undefined || rebind(r.config, next.l);
          if (leaving && !freed.includes(r) && overlaps(r.config.bind, l.bind)) {
            freed.push(r);
            await this.#close(r);
          }
        }
        opened.push(await this.#open(id, type, l));
      }
    } catch (err) {
      await Promise.all(opened.map((r) => this.#close(r)));
      for (const r of freed) {
        try {
          this.#running.set(r.id, await this.#open(r.id, r.type, r.config));
        } catch (e) {
          this.#running.delete(r.id);
          this.env.log.error({ listener: r.id, err: e instanceof Error ? e.message : String(e) }, 'listener could not be opened again after a refused change');
        }
      }
      throw err;
    }
    this.#config = config;
    const replaced = new Set(opened.map((r) => r.id));
    for (const [id, r] of [...this.#running]) {
      if (!want.has(id) || replaced.has(id)) {
        this.#running.delete(id);
        await this.#close(r);
        this.env.log.info({ listener: id }, want.has(id) ? 'listener moved to its new address' : 'listener stopped (removed or disabled in the configuration)');
      }
    }
    for (const r of opened) {
      this.#running.set(r.id, r);
      this.env.log.info({ listener: r.id, bind: r.config.bind }, 'listener started');
    }
    for (const [id, { l }] of want) {
      const r = this.#running.get(id);
      if (r && !replaced.has(id) && r.config !== l) this.#update(r, l);
    }
  }

  /** The sweep and every connection: stop() of the node. */
  async stop(): Promise<void> {
    clearInterval(this.#sweep);
    const all = [...this.#running.values()];
    this.#running.clear();
    await Promise.all(all.map((r) => this.#close(r)));
  }

  list(): ListenerStatus[] {
    if (!this.#config) return [];
    return ids(this.#config).map(([id, , l]) => {
      const r = this.#running.get(id);
      const note = r ? undefined : this.#stopped.has(id) ? 'stopped by an operator' : l.shadowed_by ? `port taken by ${l.shadowed_by}` : (l.off_reason ?? (l.enable ? undefined : 'enable = false'));
      return {
        id,
        bind: l.bind,
        enable: l.enable,
        running: r !== undefined,
        currentConns: r?.channels.size ?? 0,
        maxConns: l.max_connections,
        shutdownCount: r?.shutdownCount ?? 0,
        deniedCount: r?.deniedCount ?? 0,
        proxyProtocol: l.proxy_protocol,
        proxyRefused: r?.proxyRefused ?? 0,
        overloadRefused: r?.overloadRefused ?? 0,
        ...(note ? { note } : {}),
      };
    });
  }

  async startListener(id: string): Promise<void> {
    const found = this.#config && ids(this.#config).find(([i]) => i === id);
    if (!found) throw new ListenerError(id, 'not_found');
    if (this.#running.has(id)) throw new ListenerError(id, 'already_started');
    const [, type, l] = found;
    this.#running.set(id, await this.#open(id, type, l));
    this.#stopped.delete(id);
  }

  async stopListener(id: string): Promise<void> {
    const r = this.#running.get(id);
    if (!r) throw new ListenerError(id, this.#config && ids(this.#config).some(([i]) => i === id) ? 'not_running' : 'not_found');
    this.#running.delete(id);
    this.#stopped.add(id);
    await this.#close(r);
  }

  async restartListener(id: string): Promise<void> {
    if (this.#running.has(id)) await this.stopListener(id);
    await this.startListener(id);
  }

  /** Every open channel (for `clients` and the sweep). */
  *channels(): IterableIterator<Channel> {
    for (const r of this.#running.values()) yield* r.channels;
  }

  #tick(): void {
    const now = Date.now();
    for (const r of this.#running.values()) for (const ch of r.channels) ch.check(now);
  }

  #settings(id: string, l: ListenerConfig): ChannelSettings {
    return { mqtt: this.env.mqtt(), listener: id, mountpoint: l.mountpoint, port: parseBind(l.bind).port, messagesRate: l.messages_rate, bytesRate: l.bytes_rate, enableAuthn: l.enable_authn };
  }

  #channelEnv(r: Running): ChannelEnv {
    return {
      broker: this.env.broker,
      counters: this.env.counters,
      log: this.env.log,
      limited: this.env.limited,
      onClosed: (ch) => r.channels.delete(ch),
      ...(this.env.onConnected ? { onConnected: this.env.onConnected } : {}),
      ...(this.env.access ? { access: this.env.access } : {}),
      ...(this.env.tracer ? { tracer: this.env.tracer } : {}),
      ...(this.env.congestion ? { congestion: this.env.congestion } : {}),
    };
  }

  async #open(id: string, type: ListenerType, l: ListenerConfig): Promise<Running> {
    const { host, port } = parseBind(l.bind);
    if ((type === 'ssl' || type === 'wss') && !l.tls) throw new ListenerError(id, `listener ${id} has no certificate loaded${l.off_reason ? `: ${l.off_reason}` : ''}`);
    const r: Running = {
      id,
      type,
      config: l,
      server: undefined as unknown as AnyServer,
      channels: new Set(),
      settings: this.#settings(id, l),
      shutdownCount: 0,
      deniedCount: 0,
      proxyRefused: 0,
      proxyPending: 0,
      overloadRefused: 0,
      connRate: connRateOf(l),
      waiting: 0,
      rules: compileRules(l.access_rules),
    };
    const env = this.#channelEnv(r);
    const serve = (socket: Socket): void => {
      const via = proxiedOf(socket);
      const ch = serveSocket(socket, r.settings, env, via?.source);
      if (type === 'ssl') ch.peerCert = peerCertOf(socket as TLSSocket);
      else if (via?.sslCn !== undefined) ch.peerCert = balancerCert(via.sslCn);
      r.channels.add(ch);
    };
    const accept = (socket: Socket): void => this.#admit(r, socket, () => serve(socket));
    let server: AnyServer;
    if (type === 'tcp') {
      const tcp = createTcpServer(accept);
      // Reads go straight to each connection's channel (direct-read.ts); not behind a PROXY
      // protocol header, which is read off the socket's stream first.
      if (!l.proxy_protocol) tcp.on('listening', () => acceptWithOnread(tcp, () => new MqttReads(), { pauseOnCreate: false, refuse: () => this.#overloaded(r) }));
      server = tcp;
    } else if (type === 'ssl') {
      const tls = createTlsServer(l.tls!, (socket) => {
        if (this.#peerRefused(id, r.config, socket)) return;
        accept(socket);
      });
      tls.on('tlsClientError', (err, socket) => {
        this.env.limited.warn(`${id}:tls`, { listener: id, peer: socket.remoteAddress, err: err.message }, 'TLS handshake failed');
      });
      server = tls;
    } else {
      const http = type === 'wss' ? createHttpsServer(l.tls!) : createHttpServer();
      if (type === 'wss') {
        http.on('tlsClientError', (err: Error, socket: TLSSocket) => {
          this.env.limited.warn(`${id}:tls`, { listener: id, peer: socket.remoteAddress, err: err.message }, 'TLS handshake failed');
        });
      }
      // A frame is buffered whole before its MQTT packets are read: bounded by the packet limit
      // (twice it, for clients that put several packets in one frame) unless max_frame_size is lower.
      const frameLimit = Math.min(l.websocket!.max_frame_size, 2 * this.env.mqtt().max_packet_size);
      const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false, maxPayload: frameLimit });
      http.on('request', (_req, res) => {
        res.writeHead(404).end();
      });
      http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
        const refusal = this.#upgradeRefusal(r.config, req);
        if (refusal || (type === 'wss' && this.#peerRefused(id, r.config, socket as TLSSocket))) {
          if (refusal && !socket.destroyed) socket.end(`HTTP/1.1 ${refusal}\r\nConnection: close\r\n\r\n`);
          return;
        }
        this.#admit(r, socket, () =>
          wss.handleUpgrade(req, socket, head, (ws) => {
            const via = proxiedOf(socket);
            const o = r.config.websocket!;
            const peer = forwardedPeer(req.headers, { address: o.proxy_address_header, port: o.proxy_port_header }, via?.source ?? { address: socket.remoteAddress, port: socket.remotePort });
            const ch = serveWebSocket(ws, peer, r.settings, env);
            if (type === 'wss') ch.peerCert = peerCertOf(socket as TLSSocket);
            else if (via?.sslCn !== undefined) ch.peerCert = balancerCert(via.sslCn);
            r.channels.add(ch);
          }),
        );
      });
      server = http;
    }
    guardConnections(
      server,
      (socket) => this.#denied(r, socket),
      (socket, next) => {
        if (!r.config.proxy_protocol) return false;
        // Connections still waiting for their header count against max_connections: a flood of
        // silent ones must not hold more sockets than the listener serves.
        if (this.#full(r)) {
          socket.destroy();
          return true;
        }
        r.proxyPending++;
        let pending = true;
        const settled = (): void => {
          if (pending) r.proxyPending--;
          pending = false;
        };
        socket.once('close', settled);
        const refuse = (reason: string): void => {
          settled();
          r.proxyRefused++;
          this.env.limited.warn(`${id}:proxy_protocol`, { listener: id, peer: socket.remoteAddress, reason }, 'connection refused: no valid PROXY protocol header (listener proxy_protocol = true)');
        };
        const proceed = (): void => {
          settled();
          next();
        };
        readProxyHeader(socket, { timeoutMs: r.config.proxy_protocol_timeout, resume: type === 'tcp' || type === 'ws' }, proceed, refuse);
        return true;
      },
    );
    server.on('error', (err) => this.env.log.error({ listener: id, err: err.message }, 'listener error'));
    (r as { server: AnyServer }).server = server;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => reject(new ListenerError(id, `listener ${id} cannot listen on ${l.bind}: ${listenReason(err, l.bind)}`));
      server.once('error', onError);
      server.listen({ host, port, backlog: 1024 }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    return r;
  }

  /** verify_peer: a client with a bad certificate is refused; with none, unless fail_if_no_peer_cert is false. */
  #peerRefused(id: string, l: ListenerConfig, socket: TLSSocket): boolean {
    const o = l.ssl_options;
    if (!o || o.verify !== 'verify_peer' || socket.authorized) return false;
    const cert = socket.getPeerCertificate();
    const none = !cert || Object.keys(cert).length === 0;
    if (none && !o.fail_if_no_peer_cert) return false;
    this.env.limited.warn(`${id}:peer_cert`, { listener: id, peer: socket.remoteAddress, reason: none ? 'no certificate' : String(socket.authorizationError) }, 'TLS client refused: its certificate is missing or not trusted');
    socket.destroy();
    return true;
  }

  /** The HTTP status line refusing a WebSocket upgrade, or undefined to accept it. */
  #upgradeRefusal(l: ListenerConfig, req: IncomingMessage): string | undefined {
    const ws = l.websocket!;
    const path = (req.url ?? '/').split('?')[0];
    if (path !== ws.mqtt_path) return '404 Not Found';
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (ws.fail_if_no_subprotocol && !offered.some((p) => ws.supported_subprotocols.includes(p))) return '400 Bad Request';
    if (ws.check_origin_enable) {
      const origin = req.headers.origin;
      if (origin === undefined ? !ws.allow_origin_absence : !ws.check_origins.includes(origin)) return '403 Forbidden';
    }
    return undefined;
  }

  /**
   * A new connection: refused at max_connections; over max_conn_rate it waits, unread, for its
   * turn (as EMQX's acceptor pauses), counted against max_connections while it waits.
   */
  /** At max_connections (served, held back by max_conn_rate, or waiting for a PROXY header): counted and logged. */
  #full(r: Running): boolean {
    if (r.channels.size + r.waiting + r.proxyPending < r.config.max_connections) return false;
    r.shutdownCount++;
    this.env.limited.warn(`${r.id}:max_connections`, { listener: r.id, max_connections: r.config.max_connections }, 'connection refused: the listener is at max_connections');
    return true;
  }

  #admit(r: Running, socket: Socket, serve: () => void): void {
    if (this.#full(r)) {
      socket.destroy();
      return;
    }
    const wait = r.connRate?.take(1, Date.now()) ?? 0;
    if (wait <= 0) return serve();
    socket.pause();
    r.waiting++;
    this.env.limited.warn(`${r.id}:max_conn_rate`, { listener: r.id, max_conn_rate: r.config.max_conn_rate, wait_ms: wait }, 'connection held back: the listener is over max_conn_rate');
    setTimeout(() => {
      r.waiting--;
      // The listener stopped or moved meanwhile: its connections went with it.
      if (socket.destroyed || this.#running.get(r.id) !== r) return void socket.destroy();
      // Reads start at the next turn of the event loop, after serve() has set everything up.
      socket.resume();
      serve();
    }, wait);
  }

  /** EMQX's backoff_new_conn: a new connection closed before anything is spent on it (no handshake, no CONNECT). */
  #overloaded(r: Running): boolean {
    if (!this.env.overload?.refuseNew()) return false;
    r.overloadRefused++;
    this.env.counters['overload_protection.new_conn']++;
    this.env.limited.warn(`${r.id}:overloaded`, { listener: r.id }, 'new connection closed: the node is overloaded (overload_protection)');
    return true;
  }

  /** Whether `access_rules` refuse the connection's address (logged once per interval per listener). */
  #denied(r: Running, socket: Socket): boolean {
    if (this.#overloaded(r)) return true;
    const rules = r.rules.compiled;
    if (rules === undefined || accessAllowed(rules, socket.remoteAddress)) return false;
    r.deniedCount++;
    this.env.limited.warn(`${r.id}:access_rules`, { listener: r.id, peer: socket.remoteAddress }, 'connection refused by the listener\'s access_rules');
    return true;
  }

  /** Changes that keep the socket: limits, mountpoint, access rules, certificates, WebSocket checks. */
  #update(r: Running, l: ListenerConfig): void {
    if (l.max_conn_rate !== r.config.max_conn_rate) r.connRate = connRateOf(l);
    if (l.access_rules !== r.rules.from) r.rules = compileRules(l.access_rules);
    r.config = l;
    r.settings = this.#settings(r.id, l);
    if (l.tls && 'setSecureContext' in r.server) (r.server as unknown as { setSecureContext(o: object): void }).setSecureContext(l.tls);
    this.env.log.info({ listener: r.id }, 'listener settings changed');
  }

  async #close(r: Running): Promise<void> {
    const closed = new Promise<void>((resolve) => r.server.close(() => resolve()));
    for (const ch of [...r.channels]) ch.kick(RC.serverShuttingDown, `listener ${r.id} stopped`);
    if ('closeAllConnections' in r.server) (r.server as HttpServer).closeAllConnections();
    // Clients that do not close their side are cut after a grace period (connection.ts): the
    // listener's port is free already, so do not wait for them.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000)))]);
    clearTimeout(timer);
  }

  /** New connections get new mqtt.* settings after a reload. */
  refreshSettings(): void {
    for (const r of this.#running.values()) r.settings = this.#settings(r.id, r.config);
  }
}
