// Sockets for links: the listener and outgoing connections, plain TCP or mutual TLS.
import { createServer as createTcpServer, isIP, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { acceptWithOnread } from '../base/accept-onread.js';
import { intermediates } from '../config/ssl-dist/chain.js';
import type { DistTlsOptions } from '../config/types.js';
import { HandshakeRefusal } from './handshake.js';
import { DirectInput } from './input.js';
import { tlsFailureDetail } from './tls-errors.js';

/** A fatal TLS alert record (unexpected_message), so a TLS dialer on our plaintext port fails fast. */
const TLS_ALERT_UNEXPECTED_MESSAGE = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x0a]);

export interface ListenerHooks {
  onSocket(socket: Socket): void;
  /** A TLS peer whose certificate failed verification: refuse it in words it can read. */
  onTlsRejected(socket: Socket, detail: string): void;
  onTlsError(address: string | undefined, port: number | undefined, detail: string): void;
}

export function createListener(tls: DistTlsOptions | undefined, handshakeTimeoutMs: number, hooks: ListenerHooks): Server {
  if (!tls) {
    const server = createTcpServer({ noDelay: true }, (s) => hooks.onSocket(s));
    // Accepted sockets read into their frame decoder's buffers, as dialled ones do.
    server.on('listening', () => acceptWithOnread(server, () => new DirectInput(), { pauseOnCreate: true }));
    return server;
  }
  // Strict by default; ssl_dist.conf may relax verification (and then warns at start).
  const verifyPeer = tls.verifyPeer?.server ?? tls.server.rejectUnauthorized !== false;
  // Erlang's fail_if_no_peer_cert=false admits a dialer with no certificate at all (a bad one is
  // refused either way); the config loader warns about it.
  const failIfNoPeerCert = tls.failIfNoPeerCert !== false;
  const server = createTlsServer(
    {
      requestCert: true,
      minVersion: 'TLSv1.2',
      ...tls.server,
      // Verified below instead: Node would close without a TLS alert, leaving the dialer to guess.
      rejectUnauthorized: false,
      handshakeTimeout: handshakeTimeoutMs,
      noDelay: true,
    },
    (s: TLSSocket) => {
      const noCert = !s.authorized && Object.keys(s.getPeerCertificate() ?? {}).length === 0;
      if (verifyPeer && !s.authorized && !(noCert && !failIfNoPeerCert)) {
        const code = String(s.authorizationError ?? 'peer sent no certificate');
        hooks.onTlsRejected(s, `peer certificate rejected: ${tlsFailureDetail({ code, message: code })}`);
        return;
      }
      const depth = tls.serverDepth;
      const n = depth === undefined || noCert ? 0 : intermediates(s.getPeerCertificate(true));
      if (depth !== undefined && n > depth) {
        hooks.onTlsRejected(s, `peer certificate rejected: its chain has ${n} intermediate CA certificates, more than {depth, ${depth}} allows`);
        return;
      }
      hooks.onSocket(s);
    },
  );
  server.on('tlsClientError', (err, s) => {
    hooks.onTlsError(s.remoteAddress, s.remotePort, tlsFailureDetail(err));
    s.destroy();
  });
  return server;
}

/** Refuses a TLS ClientHello on a plaintext listener in TLS's own terms. */
export function rejectTlsOnPlainSocket(socket: Socket): void {
  socket.end(TLS_ALERT_UNEXPECTED_MESSAGE);
}

export function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') reject(new Error(`port ${port} is in use`));
      else if (err.code === 'EADDRNOTAVAIL') reject(new Error(`cannot listen on ${host} port ${port}: the address is not on this machine`));
      else reject(new Error(`cannot listen on ${host} port ${port}: ${err.message}`));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port, exclusive: true });
  });
}

function dialDirect(host: string, port: number, localAddress: string): Socket {
  const input = new DirectInput();
  const socket = tcpConnect({ host, port, localAddress, noDelay: true, onread: input.onread });
  input.bind(socket);
  return socket;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ECONNRESET', 'EPIPE']);

/** Connects (and for TLS completes the TLS handshake); failures are HandshakeRefusals. */
export function dialSocket(
  host: string,
  port: number,
  localAddress: string,
  tls: DistTlsOptions | undefined,
  /** The host part of the dialed node's name: SNI and the name its certificate must carry. */
  nodeHost: string,
): { socket: Socket; ready: Promise<Socket> } {
  const socket: Socket = tls
    ? tlsConnect({
        minVersion: 'TLSv1.2',
        // An FQDN node name is what the certificate must name, not the address it resolved to.
        ...(isIP(nodeHost) === 0 && tls.client.servername === undefined && tls.serverNameIndication !== 'disable'
          ? { servername: nodeHost }
          : {}),
        ...tls.client,
        host,
        port,
        // Forwarded to the TCP connect; missing from the ConnectionOptions type only.
        ...({ localAddress } as ConnectionOptions),
      })
    : dialDirect(host, port, localAddress);
  socket.setNoDelay(true);
  const ready = new Promise<Socket>((resolve, reject) => {
    let connected = false;
    const onError = (err: NodeJS.ErrnoException): void => {
      cleanup();
      if (!connected && err.code && UNREACHABLE.has(err.code) && !(tls && err.code === 'ECONNRESET')) {
        reject(new HandshakeRefusal('unreachable', `cannot connect to ${host} port ${port}: ${err.code}`));
      } else if (tls) {
        reject(new HandshakeRefusal('tls_handshake_failed', tlsFailureDetail(err)));
      } else {
        reject(new HandshakeRefusal('unreachable', `cannot connect to ${host} port ${port}: ${err.message}`));
      }
    };
    const onClose = (): void => {
      cleanup();
      reject(tls
        ? new HandshakeRefusal('tls_handshake_failed', 'peer closed during the TLS handshake (does it expect plaintext, inet_tcp?)')
        : new HandshakeRefusal('unreachable', `connection to ${host} port ${port} closed`));
    };
    const onConnect = (): void => {
      connected = true;
    };
    const onReady = (): void => {
      cleanup();
      resolve(socket);
    };
    const cleanup = (): void => {
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.off('connect', onConnect);
      socket.off(tls ? 'secureConnect' : 'connect', onReady);
    };
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.on('connect', onConnect);
    socket.on(tls ? 'secureConnect' : 'connect', onReady);
  });
  return { socket, ready };
}
