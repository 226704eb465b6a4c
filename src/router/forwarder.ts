// Carries published messages to the nodes that have subscribers for them: at most one copy per
// node, everything a node gets in one event-loop turn in one batch, straight over the link to it
// (never through a third node), so one publisher's messages reach a subscriber in order.
//
// QoS 1/2 messages are held until the receiving node says it has them (handed to its sessions),
// and the publisher's PUBACK/PUBREC waits for that. A batch not yet acknowledged when a link drops
// is sent again when the node is back, and a receiver applies a batch once (by sequence), so an
// acknowledged message is not lost while the subscriber's node stays up. A node that does not
// come back within `graceMs` counts as gone: its batches are dropped and the publishers released.
import type { Log } from '../base/log.js';
import type { Dist } from '../link/types.js';
import { parseAck, parseForward, ROUTER_CHANNELS, type ForwardMsg, type WireMessage } from './protocol.js';

export interface ForwarderHost {
  readonly epoch: string;
  readonly dist: Dist;
  readonly log: Log;
  /** Hands messages that arrived from `from` to this node's subscribers. */
  deliver(from: string, msgs: readonly WireMessage[]): void;
  /** How long a node that went down may take to come back before its batches are dropped. */
  readonly graceMs: number;
}

interface Pending {
  readonly msgs: WireMessage[];
  readonly waiters: Array<() => void>;
}

interface Peer {
  /** Messages of this turn, not sent yet. */
  batch: WireMessage[];
  /** Settled when the batch being filled is acknowledged (only if it holds QoS 1/2). */
  waiters: Array<() => void>;
  acked: boolean;
  nextSeq: number;
  /** Sent, not acknowledged yet: by sequence, in order. */
  readonly outbox: Map<number, Pending>;
  grace: NodeJS.Timeout | undefined;
}

export class Forwarder {
  readonly #peers = new Map<string, Peer>();
  /** Per sender: its incarnation and the last acknowledged batch applied here. */
  readonly #applied = new Map<string, { epoch: string; seq: number }>();
  #scheduled = false;

  constructor(private readonly h: ForwarderHost) {
    h.dist.handle(ROUTER_CHANNELS.forward, (from, p) => this.#onForward(from, p));
    h.dist.handle(ROUTER_CHANNELS.ack, (from, p) => this.#onAck(from, p));
  }

  /**
   * Queues `m` for `node`. With `acked`, returns a promise settled once the node holds it (or
   * is gone for good).
   */
  send(node: string, m: WireMessage, acked: boolean): Promise<void> | undefined {
    let p = this.#peers.get(node);
    if (!p) this.#peers.set(node, (p = { batch: [], waiters: [], acked: false, nextSeq: 1, outbox: new Map(), grace: undefined }));
    p.batch.push(m);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
    if (!acked) return undefined;
    p.acked = true;
    const peer = p;
    return new Promise<void>((resolve) => peer.waiters.push(resolve));
  }

  #flush(): void {
    this.#scheduled = false;
    for (const [node, p] of this.#peers) {
      if (p.batch.length === 0) continue;
      const msgs = p.batch;
      p.batch = [];
      if (!p.acked) {
        const msg: ForwardMsg = { epoch: this.h.epoch, msgs };
        // QoS 0: at most once; a link down or congested loses it (counted by the link layer).
        this.h.dist.send(node, ROUTER_CHANNELS.forward, msg);
        continue;
      }
      const seq = p.nextSeq++;
      p.outbox.set(seq, { msgs, waiters: p.waiters });
      p.waiters = [];
      p.acked = false;
      // Not sent now (no link): it goes when the node is back, or is dropped after the grace time.
      if (this.h.dist.isUp(node)) this.h.dist.send(node, ROUTER_CHANNELS.forward, { epoch: this.h.epoch, seq, msgs } satisfies ForwardMsg);
      else this.#startGrace(node, p);
    }
  }

  /** `node`'s link is up again: what it did not acknowledge goes again, in order. */
  nodeUp(node: string): void {
    const p = this.#peers.get(node);
    if (!p) return;
    clearTimeout(p.grace);
    p.grace = undefined;
    for (const [seq, b] of p.outbox) this.h.dist.send(node, ROUTER_CHANNELS.forward, { epoch: this.h.epoch, seq, msgs: b.msgs } satisfies ForwardMsg);
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
    }, this.h.graceMs);
    p.grace.unref();
  }

  #release(p: Peer): void {
    clearTimeout(p.grace);
    for (const b of p.outbox.values()) for (const w of b.waiters) w();
    p.outbox.clear();
    for (const w of p.waiters) w();
    p.waiters = [];
  }

  #onForward(from: string, payload: unknown): void {
    const m = parseForward(payload);
    if (!m) {
      this.h.log.warn({ peer: from }, 'malformed forwarded messages ignored');
      return;
    }
    if (m.seq === undefined) {
      this.h.deliver(from, m.msgs);
      return;
    }
    const last = this.#applied.get(from);
    // A batch sent again after a reconnect is acknowledged again, not delivered twice.
    if (!last || last.epoch !== m.epoch || m.seq > last.seq) {
      this.h.deliver(from, m.msgs);
      this.#applied.set(from, { epoch: m.epoch, seq: m.seq });
    }
    this.h.dist.send(from, ROUTER_CHANNELS.ack, { epoch: this.h.epoch, seq: m.seq });
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
