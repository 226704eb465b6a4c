// Reads of an MQTT connection over plain TCP handed straight to its channel, through Node's
// `onread` (base/accept-onread.ts), instead of through the readable stream. The stream path costs,
// on every read, a fresh 64 KiB allocation cut down to the read's size, a `push` through the
// stream's state and a 'data' event; with 1,000 publishers each sending one small packet per read
// (fan-in), that machinery was a third of the node's CPU. Fan-in went from 121k to 163–174k msg/s.
// TLS sockets read through their own layer and keep the stream path.
import type { Socket } from 'node:net';
import type { DirectReads } from '../base/accept-onread.js';

/**
 * The buffer every direct read lands in. Each read is copied out of it before the callback
 * returns (a chunk handed on is never overwritten by a later read): a small read into a slice of
 * Node's shared buffer pool, a read of 4 KiB or more into memory of its own. The pool saves a
 * malloc per read (+10 % fan-in over a fresh allocation each); what a channel keeps of a read
 * (payloads, a packet's unread tail) it copies out already.
 */
const READ_BUFFER = Buffer.allocUnsafeSlow(64 * 1024);

const readers = new WeakMap<Socket, MqttReads>();

/** One accepted socket's reads, handed to whatever `target` is set to (the channel's reader). */
export class MqttReads implements DirectReads {
  /** Set before the first read can arrive: 'connection' is emitted as the socket is made. */
  target: (chunk: Buffer) => void = () => undefined;
  readonly onread = {
    buffer: READ_BUFFER,
    // true: keep reading (the connection pauses its socket itself when it must stop).
    callback: (n: number): boolean => {
      const chunk = Buffer.allocUnsafe(n);
      READ_BUFFER.copy(chunk, 0, 0, n);
      this.target(chunk);
      return true;
    },
  };

  bind(socket: Socket): void {
    readers.set(socket, this);
  }
}

/** The direct reads of a socket accepted with them, if it was. */
export const directReadsOf = (socket: Socket): MqttReads | undefined => readers.get(socket);
