// Accepted TCP sockets built with Node's `onread` option. With `onread` a socket's reads land in
// a buffer its owner chooses and go to one callback: no fresh allocation per read, no readable
// stream state, no 'data' event. Node.js 20 takes the option only when a Socket is constructed,
// and net.Server constructs the sockets it accepts itself, without it. So this takes over the
// listening handle's accept callback and does what Node's own does (count the connection, emit
// 'connection') with the option added. Should a Node.js release change that internal, the server
// keeps Node's accept and its sockets read through 'data' events: slower, the same behaviour.
import { Socket, type OnReadOpts, type Server, type SocketConstructorOpts } from 'node:net';

/** The reads of one accepted socket: where they land, and the socket once it exists. */
export interface DirectReads {
  readonly onread: OnReadOpts;
  bind(socket: Socket): void;
}

/** The part of Node's listening TCP handle that accepts connections (not in its public API). */
interface AcceptingHandle {
  onconnection?: (err: number, client: unknown) => void;
  setNoDelay?: (on: boolean) => number;
}

/**
 * TCP_NODELAY on a listening socket: Linux gives it to every socket the listener accepts, so
 * they need no setsockopt each (5 µs a connection here). Call once the server listens. Returns
 * false where it does not hold (another OS, a handle without the method): set it per socket then.
 */
export function noDelayOnAccepted(server: Server): boolean {
  if (process.platform !== 'linux') return false;
  const handle = (server as unknown as { _handle?: AcceptingHandle })._handle;
  return typeof handle?.setNoDelay === 'function' && handle.setNoDelay(true) === 0;
}

/**
 * Once `server` listens, each socket it accepts is built with the `onread` of `reads()` (bound
 * to it before 'connection' is emitted), with TCP_NODELAY (from the listener on Linux), and
 * paused when `pauseOnCreate`. A connection `refuse()` says no to is closed as accepted, before
 * any socket object is made for it (what an overloaded node must not spend).
 * Returns false when the server's internals are not as expected (nothing changed).
 */
export function acceptWithOnread(server: Server, reads: () => DirectReads, opts: { pauseOnCreate: boolean; refuse?: () => boolean }): boolean {
  const internals = server as unknown as { _handle?: AcceptingHandle; _connections: number };
  const handle = internals._handle;
  const nodeAccept = handle?.onconnection;
  if (!handle || typeof nodeAccept !== 'function' || typeof internals._connections !== 'number') return false;
  const inherited = noDelayOnAccepted(server);
  handle.onconnection = function (this: AcceptingHandle, err: number, client: unknown) {
    if (err) {
      nodeAccept.call(this, err, client);
      return;
    }
    if (opts.refuse?.()) {
      (client as { close?: () => void }).close?.();
      return;
    }
    const r = reads();
    const socket = new Socket({ handle: client, readable: true, writable: true, pauseOnCreate: opts.pauseOnCreate, onread: r.onread } as SocketConstructorOpts);
    r.bind(socket);
    if (!inherited) socket.setNoDelay(true);
    internals._connections++;
    Object.assign(socket, { server, _server: server });
    server.emit('connection', socket);
  };
  return true;
}
