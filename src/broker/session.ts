// One client's session (MQTT 5.0 §4.1): its subscriptions, the QoS 1/2 messages in flight each
// way, the queue of deliveries waiting for it, its will. It outlives a connection when the client
// asked for that (clean start false / session expiry > 0) and is resumed, in-flight messages
// resent, by the next connection with the same client id.
import type { TopicMetrics } from './topic-metrics.js';
import type { SlowSubs } from './slow-subs.js';
import type { Counters } from '../base/metrics.js';
import type { MqttConfig } from '../config/types.js';
import type { AwaitRel, ClientInfo, Delivery, Message, Outlet, SessionPort, SubOptions, WillMessage } from '../mqtt/port.js';
import { MQueue, type QueuedEntry } from './mqueue.js';

/** What a session needs from the broker that holds it. */
export interface SessionHost {
  readonly counters: Counters;
  /** Per-topic counts of the metered topics (topic-metrics.ts). */
  readonly topicMetrics: TopicMetrics;
  /** The slowest deliveries (slow-subs.ts). */
  readonly slowSubs: SlowSubs;
  config(): MqttConfig;
  /**
   * Adds the subscription to the broker's index: the granted QoS or an error code, and, for a
   * route new to the cluster, when every member knows it.
   */
  addSubscription(s: Session, filter: string, opts: SubOptions): { rc: number; ready?: Promise<void> };
  removeSubscription(s: Session, filter: string): void;
  /** The session's client no longer holds `filter` exclusively (unsubscribed, or subscribed plainly). */
  releaseExclusive(filter: string, clientId: string): void;
  /** The retained messages a new subscription to `filter` gets, as deliveries. */
  retainedFor(filter: string, opts: SubOptions): Delivery[];
  /** The connection is gone: keep the session for its expiry interval, or end it. */
  detached(s: Session, how: DetachHow): void;
  /** Queue overflow and other per-client trouble, rate-limited by the host. */
  warnClient(s: Session, kind: string, msg: string, fields: object): void;
  /** Publishes a will (or anything the session must publish as its client). */
  publish(msg: Message): void;
}

export interface DetachHow {
  readonly will: boolean;
  readonly sessionExpiryMs?: number;
  readonly reason: string;
}

interface Inflight {
  readonly d: Delivery;
  /** QoS 2 after PUBREC: waiting for PUBCOMP. */
  phase: 'publish' | 'pubrel';
  sentAt: number;
  /** Its place among every entry that entered the window (the API pages by it). */
  readonly seq: number;
  /** Not yet sent on the current connection (resumed session). */
  resend: boolean;
}

/**
 * A session's state as it moves to another node (a client reconnecting there takes it over):
 * plain values the link layer carries (message frame caches left out).
 */
export interface SessionHandover {
  readonly createdAt: number;
  readonly subscriptions: ReadonlyArray<readonly [filter: string, opts: SubOptions]>;
  /** Sent and not acknowledged, by packet identifier (kept: the client may hold them). */
  readonly inflight: ReadonlyArray<{ readonly id: number; readonly d: Delivery; readonly phase: 'publish' | 'pubrel' }>;
  readonly queue: readonly Delivery[];
  /** Incoming QoS 2 packet identifiers still waiting for PUBREL. */
  readonly awaiting: readonly number[];
  readonly delivered: number;
  readonly dropped: number;
}

/** A session moving off a stopping node, first step: enough to hold it and route its messages. */
export interface EvacuationStub {
  readonly client: ClientInfo;
  readonly createdAt: number;
  /** ms left before it expires; -1: never. */
  readonly expiryMs: number;
  readonly subscriptions: ReadonlyArray<readonly [filter: string, opts: SubOptions]>;
}

/** Second step: its messages, and a will still waiting for its delay. */
export interface EvacuatedSession {
  readonly state: SessionHandover;
  readonly will?: WillMessage;
  readonly willDelayMs?: number;
}

/** A delivery without what only this node uses (the message's encoded-frame cache). */
function portable(d: Delivery): Delivery {
  if (d.msg.frames === undefined) return d;
  const msg = { ...d.msg };
  delete msg.frames;
  return { ...d, msg };
}

export class Session implements SessionPort {
  createdAt = Date.now();
  readonly subscriptions = new Map<string, SubOptions>();
  readonly inflight = new Map<number, Inflight>();
  readonly queue: MQueue;
  /** Incoming QoS 2 packet identifiers waiting for PUBREL → when they arrived. */
  readonly awaiting = new Map<number, number>();
  outlet: Outlet | undefined;
  client: ClientInfo;
  /** ms; 0: ends with the connection; Infinity: never. */
  expiryMs: number;
  will: WillMessage | undefined;
  disconnectedAt: number | undefined;
  /** Timers while detached (the host owns what they do). */
  expiryTimer: NodeJS.Timeout | undefined;
  willTimer: NodeJS.Timeout | undefined;
  /** When the will timer fires (a session moving off a stopping node takes what is left of it). */
  willDueAt: number | undefined;
  /** Set while a new connection takes the session from its current one. */
  takeover: { readonly cleanStart: boolean } | undefined;
  /** Messages sent to the client (delivered_msgs in `clients list`). */
  delivered = 0;
  #window: number;
  #nextId = 1;
  /** In-flight entries ever made: the next one's `seq`. */
  #inflightSeq = 0;
  /** In-flight entries marked to be sent again (after a resume); 0 on the hot path, where writable() skips the scan. */
  #resends = 0;
  #ended = false;

  constructor(
    private readonly host: SessionHost,
    client: ClientInfo,
    expiryMs: number,
    receiveMaximum: number,
  ) {
    this.client = client;
    this.expiryMs = expiryMs;
    const cfg = host.config();
    this.queue = new MQueue(cfg.max_mqueue_len === Number.POSITIVE_INFINITY ? 0 : cfg.max_mqueue_len);
    this.#window = Math.min(cfg.max_inflight, receiveMaximum);
  }

  get clientId(): string {
    return this.client.clientId;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** A connection takes this session on (new or resumed): nothing is sent until writable(). */
  attach(outlet: Outlet, client: ClientInfo, expiryMs: number, will: WillMessage | undefined, receiveMaximum: number): void {
    this.outlet = outlet;
    this.client = client;
    this.expiryMs = expiryMs;
    this.will = will;
    this.disconnectedAt = undefined;
    this.#window = Math.min(this.host.config().max_inflight, receiveMaximum);
    for (const e of this.inflight.values()) e.resend = true;
    this.#resends = this.inflight.size;
  }

  // ---- deliveries to the client ----

  /** The broker hands the session a matching message. */
  deliver(d: Delivery): void {
    const c = this.host.counters;
    const out = this.outlet;
    if (d.qos === 0) {
      if (out?.ready && this.queue.length === 0) {
        if (!out.publish(d, 0, false)) return;
        this.#counted(d);
        return;
      }
      if (!this.host.config().mqueue_store_qos0 && !out) {
        c['delivery.dropped']++;
        c['delivery.dropped.qos0_msg']++;
        return;
      }
      this.#enqueue(d);
      return;
    }
    if (out?.ready && this.queue.length === 0 && this.inflight.size < this.#window) {
      this.#send(d);
      return;
    }
    this.#enqueue(d);
  }

  #enqueue(d: Delivery): void {
    const dropped = this.queue.push(d);
    if (dropped) {
      const c = this.host.counters;
      c['delivery.dropped']++;
      c['delivery.dropped.queue_full']++;
      this.host.warnClient(this, 'queue_full', 'message queue full (mqtt.max_mqueue_len): the oldest queued messages are dropped', {
        max_mqueue_len: this.queue.limit,
        dropped_total: this.queue.dropped,
      });
    }
  }

  #send(d: Delivery): void {
    const out = this.outlet!;
    const id = this.#allocId();
    if (id === undefined) {
      this.#enqueue(d);
      return;
    }
    this.inflight.set(id, { d, phase: 'publish', sentAt: Date.now(), seq: this.#inflightSeq++, resend: false });
    if (!out.publish(d, id, false)) {
      this.inflight.delete(id);
      return;
    }
    this.#counted(d);
  }

  /** One more message handed to the client (counters, and the topic's metrics when it is metered). */
  #counted(d: Delivery): void {
    this.host.counters['messages.delivered']++;
    this.delivered++;
    const tm = this.host.topicMetrics;
    if (tm.active) tm.delivered(d.msg.topic, d.qos);
    // A QoS 0 message is done once sent: its whole time is its time in the broker.
    if (d.qos === 0 && this.host.slowSubs.enabled && this.host.slowSubs.statsType !== 'response') this.#slow(d, Date.now());
  }

  /** A delivery done (sent at QoS 0, acknowledged at QoS 1/2): its time to the slow subscriptions. */
  #slow(d: Delivery, now: number, sentAt?: number): void {
    const ss = this.host.slowSubs;
    const from = Math.max(d.msg.timestamp, this.createdAt);
    const span = ss.statsType === 'whole' || sentAt === undefined ? now - from : ss.statsType === 'internal' ? sentAt - from : now - sentAt;
    ss.record(this.clientId, d.msg.topic, span, now);
  }

  /** A free packet identifier (1..65535, not in flight), or undefined when all are taken. */
  #allocId(): number | undefined {
    for (let n = 0; n < 65535; n++) {
      const id = this.#nextId;
      this.#nextId = id === 65535 ? 1 : id + 1;
      if (!this.inflight.has(id)) return id;
    }
    return undefined;
  }

  /**
   * SessionPort: the connection can take more. Resends what a resumed session had in flight, no
   * more at a time than the connection's window (its Receive Maximum, MQTT-3.3.4-9: the rest
   * waits for acknowledgements), then drains the queue.
   */
  writable(): void {
    const out = this.outlet;
    if (!out) return;
    if (this.#resends > 0 && !this.#resendInflight(out)) return;
    while (out.ready && this.outlet === out) {
      const next = this.queue.peek();
      if (next === undefined) return;
      if (next.qos > 0 && this.inflight.size >= this.#window) return;
      this.queue.shift();
      if (next.msg.expiresAt <= Date.now()) {
        const c = this.host.counters;
        c['delivery.dropped']++;
        c['delivery.dropped.expired']++;
        continue;
      }
      if (next.qos === 0) {
        if (out.publish(next, 0, false)) this.#counted(next);
      } else this.#send(next);
    }
  }

  /**
   * Sends again what a resumed session had in flight, within the window. True once none is left
   * to resend (the queue may drain then). Counts them again first: an acknowledgement may have
   * settled some, so #resends is only ever too high, never too low.
   */
  #resendInflight(out: Outlet): boolean {
    let outstanding = 0;
    let pending = 0;
    for (const e of this.inflight.values()) {
      if (e.resend) pending++;
      else outstanding++;
    }
    this.#resends = pending;
    for (const [id, e] of this.inflight) {
      if (this.#resends === 0) break;
      if (!out.ready) return false;
      if (!e.resend) continue;
      if (outstanding >= this.#window) return false;
      outstanding++;
      e.resend = false;
      this.#resends--;
      e.sentAt = Date.now();
      if (e.phase === 'pubrel') out.pubrel(id);
      else if (!out.publish(e.d, id, true)) this.inflight.delete(id);
    }
    return this.#resends === 0;
  }

  /** Once a second while connected: resend what waited past mqtt.retry_interval; forget stale QoS 2 ids. */
  tick(now: number): void {
    const cfg = this.host.config();
    const out = this.outlet;
    if (out?.ready && cfg.retry_interval !== Number.POSITIVE_INFINITY) {
      for (const [id, e] of this.inflight) {
        if (e.resend || now - e.sentAt < cfg.retry_interval) continue;
        if (!out.ready) break;
        e.sentAt = now;
        if (e.phase === 'pubrel') out.pubrel(id);
        else if (!out.publish(e.d, id, true)) this.inflight.delete(id);
      }
    }
    for (const [id, at] of this.awaiting) {
      if (now - at > cfg.await_rel_timeout) {
        this.awaiting.delete(id);
        this.host.counters['messages.dropped']++;
        this.host.counters['messages.dropped.await_pubrel_timeout']++;
      }
    }
  }

  puback(id: number): boolean {
    const e = this.inflight.get(id);
    if (!e || e.d.qos !== 1) return false;
    this.inflight.delete(id);
    if (this.host.slowSubs.enabled) this.#slow(e.d, Date.now(), e.sentAt);
    this.writable();
    return true;
  }

  pubrec(id: number): boolean {
    const e = this.inflight.get(id);
    if (!e || e.d.qos !== 2) return false;
    e.phase = 'pubrel';
    e.sentAt = Date.now();
    this.outlet?.pubrel(id);
    return true;
  }

  pubcomp(id: number): boolean {
    const e = this.inflight.get(id);
    if (!e || e.d.qos !== 2) return false;
    this.inflight.delete(id);
    if (this.host.slowSubs.enabled) this.#slow(e.d, Date.now(), e.sentAt);
    this.writable();
    return true;
  }

  /**
   * Up to `limit` in-flight messages that entered the window after `after` (-1: from the
   * first), oldest first (a Map keeps insertion order, and `seq` grows with it).
   */
  inflightPage(after: number, limit: number): { readonly entries: QueuedEntry[]; readonly start: number | undefined } {
    const entries: QueuedEntry[] = [];
    let start: number | undefined;
    for (const e of this.inflight.values()) {
      start ??= e.seq;
      if (entries.length >= limit) break;
      if (e.seq > after) entries.push({ d: e.d, seq: e.seq, at: e.sentAt });
    }
    return { entries, start };
  }

  // ---- messages from the client ----

  awaitRel(id: number): AwaitRel {
    if (this.awaiting.has(id)) return 'dup';
    if (this.awaiting.size >= this.host.config().max_awaiting_rel) return 'full';
    this.awaiting.set(id, Date.now());
    return 'new';
  }

  release(id: number): boolean {
    return this.awaiting.delete(id);
  }

  // ---- subscriptions ----

  subscribe(filter: string, opts: SubOptions): { rc: number; afterAck?: () => void; ready?: Promise<void> } {
    const before = this.subscriptions.get(filter);
    const existed = before !== undefined;
    if (!existed && this.subscriptions.size >= this.host.config().max_subscriptions) return { rc: 0x97 };
    const { rc, ready } = this.host.addSubscription(this, filter, opts);
    if (rc >= 0x80) return { rc };
    this.subscriptions.set(filter, opts);
    if (before?.exclusive && !opts.exclusive) this.host.releaseExclusive(filter, this.clientId);
    const r = ready ? { rc, ready } : { rc };
    if (opts.rh === 2 || (opts.rh === 1 && existed)) return r;
    return {
      ...r,
      afterAck: () => {
        for (const d of this.host.retainedFor(filter, opts)) this.deliver(d);
      },
    };
  }


  unsubscribe(filter: string): boolean {
    const opts = this.subscriptions.get(filter);
    if (!opts) return false;
    this.subscriptions.delete(filter);
    this.host.removeSubscription(this, filter);
    if (opts.exclusive) this.host.releaseExclusive(filter, this.clientId);
    return true;
  }

  // ---- moving to another node ----

  exportState(): SessionHandover {
    return {
      createdAt: this.createdAt,
      subscriptions: [...this.subscriptions],
      inflight: [...this.inflight].map(([id, e]) => ({ id, d: portable(e.d), phase: e.phase })),
      queue: [...this.queue].map(portable),
      awaiting: [...this.awaiting.keys()],
      delivered: this.delivered,
      dropped: this.queue.dropped,
    };
  }

  /** Takes on a session handed over by another node: its subscriptions are added here. */
  importState(h: SessionHandover): void {
    this.createdAt = h.createdAt;
    this.delivered = h.delivered;
    this.queue.dropped = h.dropped;
    for (const [filter, opts] of h.subscriptions) {
      if (this.host.addSubscription(this, filter, opts).rc < 0x80) this.subscriptions.set(filter, opts);
    }
    const now = Date.now();
    for (const { id, d, phase } of h.inflight) this.inflight.set(id, { d, phase, sentAt: now, seq: this.#inflightSeq++, resend: true });
    this.#resends = this.inflight.size;
    for (const d of h.queue) this.queue.push(d);
    for (const id of h.awaiting) this.awaiting.set(id, now);
    const top = Math.max(0, ...this.inflight.keys());
    this.#nextId = top >= 65535 ? 1 : top + 1;
  }

  /**
   * What a session that left a stopping node had queued and in flight (evacuation.ts), taken
   * on after this node already took its subscriptions: older than anything queued here since,
   * so it goes first; delivered as new when the client is back meanwhile.
   */
  mergeEvacuated(h: SessionHandover): void {
    this.delivered += h.delivered;
    this.queue.dropped += h.dropped;
    const now = Date.now();
    for (const id of h.awaiting) this.awaiting.set(id, now);
    if (this.outlet || this.inflight.size > 0) {
      // The client is back (or another flow started): what was in flight there goes as new
      // messages; a QoS 2 release keeps its identifier if that is free.
      for (const { id, d, phase } of h.inflight) {
        if (phase === 'publish') this.deliver(d);
        else if (!this.inflight.has(id)) {
          this.inflight.set(id, { d, phase, sentAt: now, seq: this.#inflightSeq++, resend: true });
          this.#resends++;
        }
      }
      for (const d of h.queue) this.deliver(d);
      return;
    }
    // As a takeover would have handed them: sent again with their identifiers when the client is back.
    for (const { id, d, phase } of h.inflight) this.inflight.set(id, { d, phase, sentAt: now, seq: this.#inflightSeq++, resend: true });
    this.#resends = this.inflight.size;
    const newer = [...this.queue];
    this.queue.clear();
    for (const d of h.queue) this.queue.push(d);
    for (const d of newer) this.queue.push(d);
    const top = Math.max(0, ...this.inflight.keys());
    this.#nextId = top >= 65535 ? 1 : top + 1;
  }

  // ---- the end of a connection, and of the session ----

  detach(how: DetachHow): void {
    if (this.outlet === undefined) return;
    this.outlet = undefined;
    this.disconnectedAt = Date.now();
    if (how.sessionExpiryMs !== undefined) this.expiryMs = how.sessionExpiryMs;
    if (!how.will) this.will = undefined;
    this.host.detached(this, how);
  }

  /** Drops every subscription and everything queued: the session is over. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.expiryTimer);
    clearTimeout(this.willTimer);
    for (const filter of this.subscriptions.keys()) this.host.removeSubscription(this, filter);
    this.subscriptions.clear();
    this.inflight.clear();
    this.queue.clear();
    this.awaiting.clear();
    this.outlet = undefined;
  }
}
