// The incoming side of a link socket: bytes in, frames out, for the handshake and then the link.
// Plain TCP sockets read into buffers the frame decoder chooses (Node's `onread`): no stream
// machinery per read, and a big frame's body is read straight into its own buffer. TLS sockets
// (and any socket made without `onread`) are read through their 'data' events.
import type { Socket } from 'node:net';
import { FrameDecoder } from './framing.js';
import { PRE_AUTH_MAX_FRAME } from './options.js';

export interface FrameSink {
  /** The bytes of one read, valid only during the call; false drops them (and stops reading). */
  onBytes(bytes: Buffer): boolean;
  onFrame(body: Buffer): void;
  /** Decoding (or a frame handler) failed; reading has stopped. */
  onError(err: Error): void;
}

export interface LinkInput {
  readonly decoder: FrameDecoder;
  /** Frames go to `sink` from now on, starting with those already buffered; reading resumes. */
  start(sink: FrameSink): void;
  /** Stops reading; what arrives until the next start() waits in the kernel. */
  stop(): void;
}

/** The read buffer and callback to give net.Socket as `onread`, and the input they feed. */
export class DirectInput implements LinkInput {
  readonly decoder = new FrameDecoder(PRE_AUTH_MAX_FRAME);
  readonly onread = {
    buffer: (): Buffer => this.decoder.readBuffer(),
    // true: keep reading (this input pauses the socket itself when it must stop).
    callback: (n: number, buf: Buffer): boolean => {
      this.onRead(n, buf);
      return true;
    },
  };
  private socket: Socket | undefined;
  private sink: FrameSink | undefined;
  /** Frames decoded while no sink was attached (delivered by the next start()). */
  private held: Buffer[] = [];
  private readonly hold = (b: Buffer): void => {
    this.held.push(b);
  };

  bind(socket: Socket): void {
    this.socket = socket;
    direct.set(socket, this);
  }

  start(sink: FrameSink): void {
    this.sink = sink;
    const held = this.held;
    this.held = [];
    try {
      for (const b of held) sink.onFrame(b);
      this.decoder.push(EMPTY, sink.onFrame);
    } catch (e) {
      this.fail(e);
      return;
    }
    this.socket!.resume();
  }

  stop(): void {
    this.socket!.pause();
    this.sink = undefined;
  }

  private onRead(n: number, buf: Buffer): void {
    const sink = this.sink;
    if (sink && !sink.onBytes(buf.subarray(0, n))) {
      // The bytes are dropped: the reads that follow must not take them for frame data.
      this.sink = undefined;
      this.socket!.pause();
      return;
    }
    try {
      this.decoder.wrote(n, sink ? sink.onFrame : this.hold);
    } catch (e) {
      this.fail(e);
    }
  }

  private fail(e: unknown): void {
    this.socket!.pause();
    const sink = this.sink;
    this.sink = undefined;
    sink?.onError(e instanceof Error ? e : new Error(String(e)));
  }
}

const EMPTY = Buffer.alloc(0);
const direct = new WeakMap<Socket, DirectInput>();

class StreamInput implements LinkInput {
  readonly decoder = new FrameDecoder(PRE_AUTH_MAX_FRAME);
  private sink: FrameSink | undefined;
  private listening = false;
  private readonly onData = (chunk: Buffer): void => {
    const sink = this.sink;
    if (!sink) return;
    if (!sink.onBytes(chunk)) {
      this.stop();
      return;
    }
    this.decode(chunk, sink);
  };

  constructor(private readonly socket: Socket) {}

  start(sink: FrameSink): void {
    this.sink = sink;
    if (!this.listening) {
      this.listening = true;
      this.socket.on('data', this.onData);
    }
    if (this.decode(EMPTY, sink)) this.socket.resume();
  }

  stop(): void {
    this.socket.pause();
    this.sink = undefined;
  }

  private decode(chunk: Buffer, sink: FrameSink): boolean {
    try {
      this.decoder.push(chunk, sink.onFrame);
      return true;
    } catch (e) {
      this.stop();
      sink.onError(e instanceof Error ? e : new Error(String(e)));
      return false;
    }
  }
}

/** The input of a link socket: its DirectInput when it was made with one, else its 'data' events. */
export function inputOf(socket: Socket): LinkInput {
  return direct.get(socket) ?? new StreamInput(socket);
}

/** Whether the socket reads into decoder-chosen buffers (for tests and diagnostics). */
export const readsDirectly = (socket: Socket): boolean => direct.has(socket);
