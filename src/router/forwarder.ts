// Carries published messages to the nodes that have subscribers for them: at most one copy per
// node, everything a node gets in one event-loop turn in one batch, straight over the link to it
// (never through a third node), so one publisher's messages reach a subscriber in order.
//
// QoS 1/2 messages are held until the receiving node says it has them (handed to its sessions),
// and the publisher's PUBACK/PUBREC waits for that. A receiver applies these batches strictly in
// sequence, each once, and acknowledges the last it applied; a batch not yet acknowledged is sent
// again when the link is back, or after a while on a link that refused it (congested). So an
// acknowledged message is not lost while the subscriber's node stays up. A node that does not
// come back within `graceMs` counts as gone: its batches are dropped and the publishers released.
import type { Log } from '../base/log.js';
import { LogLimiter } from '../base/log-limit.js';
import type { Dist } from '../link/types.js';
import { decodeForward, encodeForward, FORWARD_VERSION } from './forward-codec.js';
import { parseAck, ROUTER_CHANNELS, type WireMessage } from './protocol.js';

export interface ForwarderHost {
  readonly epoch: string;
  readonly dist: Dist;
  readonly log: Log;
  /** Hands messages that arrived from `from` to this node's subscribers. */
  deliver(from: string, msgs: readonly WireMessage[]): void;
  /** How long a node that went down may take to come back before its batches are dropped (read when it goes down: follows reloads). */
  graceMs(): number;
}

interface Pending {
  readonly msgs: WireMessage[];
  readonly waiters: Array<() => void>;
  /** When it was last put on the link. */
  sentAt: number;
}

interface Peer {
  /** Messages of this turn, not sent yet. */
  batch: WireMessage[];
  /** Settled when the batch being filled is acknowledged (only if it holds QoS 1/2). */
  waiters: Array<() => void>;
  /** The promise every QoS 1/2 message of the batch being filled gets: one per batch, not per message. */
  settled: Promise<void> | undefined;
  acked: boolean;
  nextSeq: number;
  /** Sent, not acknowledged yet: by sequence, in order. */
  readonly outbox: Map<number, Pending>;
  grace: NodeJS.Timeout | undefined;
  /** Set while a resend of what is unacknowledged is scheduled. */
  retry: NodeJS.Timeout | undefined;
}

/** How long an unacknowledged batch waits on a link that is up before it is sent again. */
const RESEND_MS = 500;

/** The oldest batch still waiting for an acknowledgement. */
function oldest(p: Peer): number {
  for (const seq of p.outbox.keys()) return seq;
  return p.nextSeq;
}

export class Forwarder {
  readonly #peers = new Map<string, Peer>();
  /** Per sender: its incarnation and the last acknowledged batch applied here. */
  readonly #applied = new Map<string, { epoch: string; seq: number }>();
  #scheduled = false;
  /** A peer that sends what cannot be decoded, batch after batch, gets a line per interval. */
  readonly #limited: LogLimiter;

  constructor(private readonly h: ForwarderHost) {
    this.#limited = new LogLimiter(h.log);
    h.dist.handle(ROUTER_CHANNELS.forward, (from, p) => this.#onForward(from, p));
    h.dist.handle(ROUTER_CHANNELS.ack, (from, p) => this.#onAck(from, p));
  }

  /**
   * Queues `m` for `node`. With `acked`, returns a promise settled once the node holds it (or
   * is gone for good).
   */
  send(node: string, m: WireMessage, acked: boolean): Promise<void> | undefined {
    let p = this.#peers.get(node);
    if (!p) this.#peers.set(node, (p = { batch: [], waiters: [], settled: undefined, acked: false, nextSeq: 1, outbox: new Map(), grace: undefined, retry: undefined }));
    p.batch.push(m);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
    if (!acked) return undefined;
    p.acked = true;
    const peer = p;
    return (p.settled ??= new Promise<void>((resolve) => peer.waiters.push(resolve)));
  }

  #flush(): void {
    this.#scheduled = false;
    for (const [node, p] of this.#peers) {
      if (p.batch.length === 0) continue;
      const msgs = p.batch;
      p.batch = [];
      if (!p.acked) {
        // QoS 0: at most once; a link down or congested loses it (counted by the link layer).
        this.h.dist.send(node, ROUTER_CHANNELS.forward, encodeForward({ epoch: this.h.epoch, msgs }));
        continue;
      }
      const seq = p.nextSeq++;
      p.outbox.set(seq, { msgs, waiters: p.waiters, sentAt: Date.now() });
      p.waiters = [];
      p.settled = undefined;
      p.acked = false;
      // Not sent now (no link): it goes when the node is back, or is dropped after the grace time.
      if (!this.h.dist.isUp(node)) this.#startGrace(node, p);
      else {
        this.h.dist.send(node, ROUTER_CHANNELS.forward, encodeForward({ epoch: this.h.epoch, seq, base: oldest(p), msgs }));
        this.#scheduleResend(node, p);
      }
    }
  }

  /**
   * Unacknowledged batches go again after a while: one refused by a congested link, or lost with
   * a link that dropped and came back between two events. The receiver takes each once, in order.
   */
  #scheduleResend(node: string, p: Peer): void {
    if (p.retry) return;
    p.retry = setTimeout(() => {
      p.retry = undefined;
      if (p.outbox.size === 0 || !this.h.dist.isUp(node)) return;
      const now = Date.now();
      // The receiver drops a batch that follows a missing one: once one goes again, every later
      // one goes with it, however recently it was sent, or it would wait for a tick of its own.
      let resending = false;
      for (const [seq, b] of p.outbox) {
        if (!resending && now - b.sentAt < RESEND_MS) continue;
        if (!this.h.dist.send(node, ROUTER_CHANNELS.forward, encodeForward({ epoch: this.h.epoch, seq, base: oldest(p), msgs: b.msgs }))) break;
        b.sentAt = now;
        resending = true;
      }
      this.#scheduleResend(node, p);
    }, RESEND_MS);
    p.retry.unref();
  }

  /** `node`'s link is up again: what it did not acknowledge goes again, in order. */
  nodeUp(node: string): void {
    const p = this.#peers.get(node);
    if (!p) return;
    clearTimeout(p.grace);
    p.grace = undefined;
    const now = Date.now();
    for (const [seq, b] of p.outbox) {
      this.h.dist.send(node, ROUTER_CHANNELS.forward, encodeForward({ epoch: this.h.epoch, seq, base: oldest(p), msgs: b.msgs }));
      b.sentAt = now;
    }
    if (p.outbox.size > 0) this.#scheduleResend(node, p);
  }

  nodeDown(node: string): void {
    const p = this.#peers.get(node);
    if (p && p.outbox.size > 0) this.#startGrace(node, p);
    // Its acknowledgements may never come: our record of what it applied is kept for its return.
  }

  /** `node` left the cluster: nothing more goes to it. */
  forget(node: string): void {
    const p = this.#peers.get(node);
    this.#peers.delete(node);
    this.#applied.delete(node);
    if (p) this.#release(p);
  }

  stop(): void {
    for (const p of this.#peers.values()) this.#release(p);
    this.#peers.clear();
    this.#limited.clear();
  }

  /** Batches waiting for an acknowledgement, all nodes (for stats). */
  get unacknowledged(): number {
    let n = 0;
    for (const p of this.#peers.values()) n += p.outbox.size;
    return n;
  }

  #startGrace(node: string, p: Peer): void {
    if (p.grace) return;
    p.grace = setTimeout(() => {
      p.grace = undefined;
      if (this.h.dist.isUp(node)) return;
      const n = p.outbox.size;
      this.#release(p);
      this.h.log.warn({ peer: node, batches: n }, 'a node with subscribers did not come back in time: the QoS 1/2 messages waiting for it are dropped');
    }, this.h.graceMs());
    p.grace.unref();
  }

  #release(p: Peer): void {
    clearTimeout(p.grace);
    clearTimeout(p.retry);
    p.retry = undefined;
    for (const b of p.outbox.values()) for (const w of b.waiters) w();
    p.outbox.clear();
    for (const w of p.waiters) w();
    p.waiters = [];
    // Settled now: a message sent after this must not be given it.
    p.settled = undefined;
  }

  #onForward(from: string, payload: unknown): void {
    const m = Buffer.isBuffer(payload) ? decodeForward(payload) : undefined;
    if (!m) {
      const version = Buffer.isBuffer(payload) && payload.length > 0 ? payload[0]! : undefined;
      if (version !== undefined && version !== FORWARD_VERSION) {
        this.#limited.warn(`version:${from}`, { peer: from, version, expected: FORWARD_VERSION }, 'forwarded messages of another wire version ignored: the nodes of one cluster must run the same release');
      } else this.#limited.warn(`malformed:${from}`, { peer: from }, 'malformed forwarded messages ignored');
      return;
    }
    if (m.seq === undefined) {
      this.h.deliver(from, m.msgs);
      return;
    }
    let last = this.#applied.get(from);
    // First batch of this sender (or of its new incarnation): its sequence resumes at `base`.
    if (!last || last.epoch !== m.epoch) {
      last = { epoch: m.epoch, seq: (m.base ?? m.seq) - 1 };
      this.#applied.set(from, last);
    }
    if (m.seq === last.seq + 1) {
      this.h.deliver(from, m.msgs);
      this.#applied.set(from, { epoch: m.epoch, seq: m.seq });
    } else if (m.seq > last.seq + 1) {
      // An earlier batch is missing (refused by a full link): this one waits for it, unacknowledged.
      return;
    }
    // Applied now or before (a resend): acknowledged up to what was applied, never beyond.
    const applied = this.#applied.get(from)!.seq;
    if (applied > 0) this.h.dist.send(from, ROUTER_CHANNELS.ack, { epoch: this.h.epoch, seq: applied });
  }

  #onAck(from: string, payload: unknown): void {
    const a = parseAck(payload);
    const p = this.#peers.get(from);
    if (!a || !p) return;
    // Acknowledgements are cumulative: the link delivers in order, so everything up to seq is held.
    for (const [seq, b] of p.outbox) {
      if (seq > a.seq) break;
      p.outbox.delete(seq);
      for (const w of b.waiters) w();
    }
  }
}
