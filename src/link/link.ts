// One authenticated link: frames in and out, heartbeats, calls in flight, output back-pressure.
import type { Socket } from 'node:net';
import {
  decodeCall, decodeControl, decodeError, decodeReply, decodeSend, encodeCall, encodeControl, encodeError, encodeReply,
  encodeSend, type Encoded,
} from './codec.js';
import { PollChoice, type BusyPoll } from './busy-poll.js';
import { FrameTooLargeError } from './framing.js';
import type { FrameSink, LinkInput } from './input.js';
import { Kind } from './protocol.js';
import type { LinkInfo, NodeDownReason } from './types.js';

export interface LinkHandlers {
  onSend(channel: string, payload: unknown): void;
  /** The reply, or a promise of it (a handler that answers at once is answered in the same turn). */
  onCall(channel: string, payload: unknown): unknown;
  onPeers(nodes: string[]): void;
  onDown(reason: NodeDownReason, detail: string): void;
}

interface PendingCall {
  resolve(v: unknown): void;
  reject(e: Error): void;
  /** performance.now() time by which the reply must have come. */
  readonly deadline: number;
  readonly channel: string;
  readonly timeoutMs: number;
  /** The BusyPoll token when this call keeps the event loop polling, else -1. */
  readonly spin: number;
}

export interface LinkSettings {
  readonly tickMs: number;
  readonly ticktimeMs: number;
  readonly maxFrameBytes: number;
  readonly maxQueueBytes: number;
  /** Shared by the node's links: polls for replies expected soon instead of sleeping. */
  readonly busyPoll: BusyPoll;
}

const TICK = encodeControl(Kind.Tick);

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';

/** Small buffers are merged before writing; big ones go out as they are (no copy). */
const MERGE_BELOW = 16 * 1024;

export class Link {
  readonly since = Date.now();
  lastSeen = Date.now();
  /** send() calls dropped because the output queue was full. */
  dropped = 0;
  private out: Buffer[] = [];
  /** The other output array: flush() hands one to the socket while writeFrame() fills the other. */
  private spare: Buffer[] = [];
  private outBytes = 0;
  private readonly flushSoon = (): void => this.flush();
  private readonly sink: FrameSink = {
    onBytes: () => {
      this.lastSeen = Date.now();
      return true;
    },
    onFrame: (body) => this.onFrame(body),
    onError: (err) => {
      const detail = err instanceof FrameTooLargeError ? err.message : `bad frame: ${err.message}`;
      this.close('protocol_error', detail, false);
    },
  };
  private flushScheduled = false;
  private fullSince = 0;
  private nextCallId = 1;
  private calls = new Map<number, PendingCall>();
  /**
   * One timer for all calls in flight, armed for the earliest deadline, instead of a timer per
   * call: a call costs no timer work unless it actually runs late.
   */
  private callTimer: NodeJS.Timeout | undefined;
  private callTimerAt = Infinity;
  /** Whether a call busy polls for its reply: the faster way, as measured on this link. */
  private readonly pollChoice = new PollChoice();
  private timer: NodeJS.Timeout;
  private deadline!: NodeJS.Timeout;
  private closed = false;
  private downWhy: [NodeDownReason, string] | undefined;
  private handlers: LinkHandlers | undefined;

  constructor(
    readonly socket: Socket,
    private readonly input: LinkInput,
    readonly info: Omit<LinkInfo, 'since' | 'lastSeen'>,
    readonly instance: string,
    private readonly settings: LinkSettings,
  ) {
    input.decoder.maxFrame = settings.maxFrameBytes;
    socket.setNoDelay(true);
    this.timer = setInterval(() => this.onTimer(), settings.tickMs);
    this.timer.unref();
    this.armDeadline();
  }

  /** Starts reading; frames that arrived with the end of the handshake are processed now. */
  start(handlers: LinkHandlers): void {
    this.handlers = handlers;
    if (this.downWhy) {
      // Closed before it started (a nodeup listener dropped it): report it now.
      handlers.onDown(this.downWhy[0], this.downWhy[1]);
      return;
    }
    // The peer's FIN means it is gone (a killed process's kernel closes its sockets): down now,
    // without waiting for our own half to finish closing.
    this.socket.on('end', () => {
      this.socket.destroy();
      this.down('connection_closed', 'peer closed the connection');
    });
    this.socket.on('close', () => this.down('connection_closed', 'socket closed'));
    this.socket.on('error', (err) => this.down('connection_closed', err.message));
    this.input.start(this.sink);
  }

  linkInfo(): LinkInfo {
    return { ...this.info, since: this.since, lastSeen: this.lastSeen };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Bytes waiting to be written (ours and the socket's). */
  get queuedBytes(): number {
    return this.outBytes + this.socket.writableLength;
  }

  send(channel: string, payload: unknown): boolean {
    if (this.closed || this.queuedBytes > this.settings.maxQueueBytes) {
      this.dropped++;
      return false;
    }
    return this.writeFrame(encodeSend(channel, payload));
  }

  call(channel: string, payload: unknown, timeoutMs: number): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error(`no link to ${this.info.node}`));
    if (this.queuedBytes > this.settings.maxQueueBytes) {
      return Promise.reject(new Error(`overload: the link to ${this.info.node} has a full output queue`));
    }
    const id = this.nextCallId;
    this.nextCallId = this.nextCallId >= 0xffffffff ? 1 : this.nextCallId + 1;
    let frame: Encoded;
    try {
      frame = encodeCall(id, channel, payload);
    } catch (e) {
      return Promise.reject(new Error(`cannot send on channel ${channel}: ${(e as Error).message}`));
    }
    if (frame.bytes - 4 > this.settings.maxFrameBytes) {
      return Promise.reject(new Error(`message of ${frame.bytes - 4} bytes exceeds the frame limit of ${this.settings.maxFrameBytes} bytes`));
    }
    return new Promise((resolve, reject) => {
      const now = performance.now();
      const deadline = now + timeoutMs;
      const busy = this.settings.busyPoll;
      const spin = this.pollChoice.next(busy.windowMs) ? busy.begin(now) : -1;
      this.calls.set(id, { resolve, reject, deadline, channel, timeoutMs, spin });
      this.armCallTimer(deadline);
      this.writeFrame(frame);
    });
  }

  private armCallTimer(deadline: number): void {
    if (deadline >= this.callTimerAt) return;
    clearTimeout(this.callTimer);
    this.callTimerAt = deadline;
    this.callTimer = setTimeout(() => this.expireCalls(), Math.max(0, Math.ceil(deadline - performance.now())));
    // It may outlive the calls it was armed for; the link's socket keeps the process alive while
    // calls are in flight.
    this.callTimer.unref();
  }

  private expireCalls(): void {
    this.callTimer = undefined;
    this.callTimerAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const [id, c] of this.calls) {
      if (c.deadline <= now) {
        this.calls.delete(id);
        this.answered(c, c.timeoutMs);
        c.reject(new Error(`timeout: ${this.info.node} did not answer on channel ${c.channel} within ${c.timeoutMs} ms`));
      } else if (c.deadline < next) {
        next = c.deadline;
      }
    }
    if (next < Infinity) this.armCallTimer(next);
  }

  sendPeers(nodes: string[]): void {
    this.writeFrame(encodeControl(Kind.Peers, nodes));
  }

  /** Ends the link, telling the peer why first when the socket still works. */
  close(reason: NodeDownReason, detail: string, tellPeer = true): void {
    if (this.closed) return;
    if (tellPeer && !this.socket.destroyed) {
      this.writeFrame(encodeControl(Kind.Bye, reason));
      this.flush();
      this.socket.end();
      // A peer that does not close its side within a second is cut off.
      setTimeout(() => this.socket.destroy(), 1000).unref();
    } else {
      this.socket.destroy();
    }
    this.down(reason, detail);
  }

  private writeFrame(f: Encoded): boolean {
    if (f.bytes - 4 > this.settings.maxFrameBytes) {
      this.dropped++;
      return false;
    }
    for (const p of f.parts) this.out.push(p);
    this.outBytes += f.bytes;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // Everything sent in one tick leaves in one writev.
      process.nextTick(this.flushSoon);
    }
    return true;
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.out.length === 0 || this.socket.destroyed) {
      this.out.length = 0;
      this.outBytes = 0;
      return;
    }
    const out = this.out;
    this.out = this.spare;
    this.spare = out;
    this.outBytes = 0;
    if (out.length === 1) {
      // The common case of a lone call or reply: a plain write, no writev bookkeeping.
      this.socket.write(out[0]!);
      out.length = 0;
      return;
    }
    this.socket.cork();
    let run: Buffer[] = [];
    let runBytes = 0;
    const flushRun = (): void => {
      if (run.length === 1) this.socket.write(run[0]!);
      else if (run.length > 1) this.socket.write(Buffer.concat(run, runBytes));
      run = [];
      runBytes = 0;
    };
    for (const b of out) {
      if (b.length >= MERGE_BELOW) {
        flushRun();
        this.socket.write(b);
      } else {
        run.push(b);
        runBytes += b.length;
      }
    }
    flushRun();
    this.socket.uncork();
    out.length = 0;
  }

  /** Runs at exactly ticktime after the last thing heard (re-armed lazily, not on every read). */
  private armDeadline(): void {
    const wait = this.lastSeen + this.settings.ticktimeMs - Date.now();
    this.deadline = setTimeout(() => this.onDeadline(), Math.max(1, wait + 1));
    this.deadline.unref();
  }

  private onDeadline(): void {
    if (this.closed) return;
    if (Date.now() - this.lastSeen <= this.settings.ticktimeMs) {
      this.armDeadline();
      return;
    }
    // Timers run before sockets are read: give pending input one turn of the event loop, so a
    // process that was itself stopped does not blame a peer whose ticks are already queued.
    setImmediate(() => {
      if (this.closed) return;
      const silent = Date.now() - this.lastSeen;
      if (silent > this.settings.ticktimeMs) this.close('heartbeat_timeout', `nothing heard for ${silent} ms`, false);
      else this.armDeadline();
    });
  }

  private onTimer(): void {
    if (this.closed) return;
    const now = Date.now();
    if (this.queuedBytes > this.settings.maxQueueBytes) {
      if (this.fullSince === 0) this.fullSince = now;
      else if (now - this.fullSince > this.settings.ticktimeMs) {
        this.close('overload', `peer has not drained ${this.queuedBytes} queued bytes for ${now - this.fullSince} ms`, false);
        return;
      }
    } else {
      this.fullSince = 0;
    }
    this.writeFrame(TICK);
  }

  private onFrame(body: Buffer): void {
    if (this.closed) return;
    const h = this.handlers!;
    const kind = body[0];
    switch (kind) {
      case Kind.Tick:
        return;
      case Kind.Send: {
        const m = decodeSend(body);
        h.onSend(m.channel, m.payload);
        return;
      }
      case Kind.Call: {
        const m = decodeCall(body);
        let r: unknown;
        try {
          r = h.onCall(m.channel, m.payload);
        } catch (e) {
          this.writeCallError(m.id, e);
          return;
        }
        if (isThenable(r)) {
          r.then(
            (v: unknown) => {
              if (!this.closed) this.writeReply(m.id, v);
            },
            (e: unknown) => {
              if (!this.closed) this.writeCallError(m.id, e);
            },
          );
        } else {
          this.writeReply(m.id, r);
        }
        return;
      }
      case Kind.Reply:
      case Kind.Error: {
        const m = kind === Kind.Reply ? decodeReply(body) : undefined;
        const e = kind === Kind.Error ? decodeError(body) : undefined;
        const id = m?.id ?? e!.id;
        const c = this.calls.get(id);
        if (!c) return;
        this.calls.delete(id);
        this.answered(c, performance.now() - (c.deadline - c.timeoutMs));
        if (m) c.resolve(m.value);
        else c.reject(new Error(`${this.info.node}: ${e!.message}`));
        return;
      }
      case Kind.Peers: {
        const v = decodeControl(body);
        h.onPeers(Array.isArray(v) ? v.filter((n): n is string => typeof n === 'string') : []);
        return;
      }
      case Kind.Bye: {
        const r = decodeControl(body);
        this.socket.destroy();
        this.down(r === 'stopped' ? 'stopped' : 'disconnect', `peer closed the link (${String(r)})`);
        return;
      }
      default:
        this.close('protocol_error', `unknown message kind ${String(kind)}`, false);
    }
  }

  /** A call is over after `ms`: its busy poll ends and its time is counted for the way it went. */
  private answered(c: PendingCall, ms: number): void {
    if (c.spin >= 0) this.settings.busyPoll.end(c.spin);
    this.pollChoice.record(c.spin >= 0, ms);
  }

  private writeCallError(id: number, e: unknown): void {
    this.writeFrame(encodeError(id, e instanceof Error ? e.message : String(e)));
  }

  private writeReply(id: number, v: unknown): void {
    let f: Encoded;
    try {
      f = encodeReply(id, v);
    } catch (e) {
      this.writeFrame(encodeError(id, `reply cannot be serialized: ${(e as Error).message}`));
      return;
    }
    if (!this.writeFrame(f)) this.writeFrame(encodeError(id, `reply of ${f.bytes} bytes exceeds the frame limit`));
  }

  private down(reason: NodeDownReason, detail: string): void {
    if (this.closed) return;
    this.closed = true;
    this.downWhy = [reason, detail];
    clearInterval(this.timer);
    clearTimeout(this.deadline);
    clearTimeout(this.callTimer);
    for (const c of this.calls.values()) {
      if (c.spin >= 0) this.settings.busyPoll.end(c.spin);
      c.reject(new Error(`nodedown: link to ${this.info.node} went down (${reason})`));
    }
    this.calls.clear();
    this.handlers?.onDown(reason, detail);
  }
}
