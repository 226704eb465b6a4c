// The PROXY protocol stage of a listener with `proxy_protocol = true`: the header is read off an
// accepted TCP socket before anything else sees it (before the TLS handshake on ssl/wss, before
// HTTP on ws/wss), then the socket goes on with what followed the header put back in its stream
// (a TLS socket and an HTTP server read what is buffered there first). The client's address from
// the header is kept beside the socket for the channel.
import type { Socket } from 'node:net';
import { parseProxyHeader, V2_MAX, type ProxyHeader } from './proxy-protocol.js';

const proxied = new WeakMap<Socket, ProxyHeader>();

/** What the balancer said of the client on `socket`, or on the TCP socket under a TLS one. */
export function proxiedOf(socket: Socket): ProxyHeader | undefined {
  const parent = (socket as { _parent?: Socket | null })._parent;
  return proxied.get(socket) ?? (parent ? proxied.get(parent) : undefined);
}

export interface ProxyStageOptions {
  readonly timeoutMs: number;
  /**
   * Whether the socket is read as a stream after the stage (MQTT over TCP, HTTP): it is resumed.
   * A TLS server instead takes the socket's handle and reads what is buffered itself.
   */
  readonly resume: boolean;
}

/** Reads the header, then calls `next`; a missing, malformed or late header calls `refuse` and closes the socket. */
export function readProxyHeader(socket: Socket, o: ProxyStageOptions, next: () => void, refuse: (reason: string) => void): void {
  let buf: Buffer | undefined;
  const stop = (): void => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('error', onError);
    socket.off('close', stop);
  };
  const fail = (reason: string): void => {
    stop();
    refuse(reason);
    socket.destroy();
  };
  const onData = (chunk: Buffer): void => {
    buf = buf === undefined ? chunk : Buffer.concat([buf, chunk]);
    const r = parseProxyHeader(buf);
    if ('error' in r) return fail(r.error);
    if ('need' in r) {
      if (buf.length > V2_MAX) fail('no complete PROXY protocol header in the first bytes');
      return;
    }
    stop();
    socket.pause();
    proxied.set(socket, r);
    const rest = buf.subarray(r.length);
    if (rest.length > 0) socket.unshift(rest);
    // Reading resumes at the next turn of the event loop, once `next` has set up (or paused) the
    // socket's reader; nothing is emitted before.
    if (o.resume) socket.resume();
    next();
  };
  // A reset before the header is only a closed connection.
  const onError = (): void => undefined;
  const timer = setTimeout(() => fail(`no PROXY protocol header within ${o.timeoutMs} ms`), o.timeoutMs);
  socket.on('data', onData);
  socket.on('error', onError);
  socket.once('close', stop);
}
