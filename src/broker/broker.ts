// Everything one node does for its clients (EMQX's emqx_broker + emqx_cm on one node): the
// sessions by client id (with takeover), the subscription index, shared-subscription groups, and
// the retained messages. A publish is matched against the index (exact topics by one lookup,
// wildcard filters through a trie) and handed to each matching session.
import { EventEmitter } from 'node:events';
import type { Counters } from '../base/metrics.js';
import type { Log } from '../base/log.js';
import type { LogLimiter } from '../base/log-limit.js';
import type { AutoSubscribeTopic, DelayedConfig, MqttConfig, RetainerConfig, RewriteRuleConfig, SlowSubsConfig } from '../config/types.js';
import type { BrokerPort, ClientInfo, ConnectRequest, ConnectResult, Delivery, Message, PublishResult, QoS, SubOptions, WillMessage } from '../mqtt/port.js';
import { RC } from '../mqtt/reason-codes.js';
import type { ClusterPort } from './cluster-port.js';
import { LocalExclusive, type ExclusiveLocks } from './exclusive.js';
import { TopicMetrics } from './topic-metrics.js';
import { SlowSubs } from './slow-subs.js';
import { autoSubscriptions, type AutoSubscription } from './auto-subscribe.js';
import { DelayedPublisher } from './delayed.js';
import { TopicRewriter } from './topic-rewrite.js';
import { DELAYED_PREFIX } from './delayed-topic.js';
import { Retainer } from './retainer.js';
import { Session, type DetachHow, type EvacuatedSession, type EvacuationStub, type SessionHandover, type SessionHost } from './session.js';
import { SharedPicker } from './shared-strategy.js';
import { SubscriptionIndex } from './subscription-index.js';
import { parseShared } from '../mqtt/topic.js';

const DOLLAR = 0x24;

interface Sub {
  readonly session: Session;
  readonly opts: SubOptions;
}

/** The members of one `$share/<group>/<filter>`, in join order (the strategies need a stable order). */
interface Group {
  readonly members: Map<string, Sub>;
  order: string[];
}

export interface BrokerEvents {
  connected: [client: ClientInfo, session: Session];
  disconnected: [client: ClientInfo, reason: string];
  subscribed: [clientId: string, filter: string, opts: SubOptions];
  unsubscribed: [clientId: string, filter: string];
  /** Session ended (expired, discarded, kicked). */
  sessionEnded: [clientId: string, reason: string];
}

/** The settings a reload may change (`mqtt`, `retainer`, `delayed`, `rewrite`, `auto_subscribe`). */
export interface BrokerSettings {
  readonly mqtt: MqttConfig;
  readonly retainer: RetainerConfig;
  /** `delayed.*`; default: on, no limit (EMQX's defaults). */
  readonly delayed?: DelayedConfig;
  /** Topic rewrite rules; default none. */
  readonly rewrite?: readonly RewriteRuleConfig[];
  /** `auto_subscribe.topics`; default none. */
  readonly autoSubscribe?: readonly AutoSubscribeTopic[];
  /** `slow_subs.*`; default off (EMQX's default). */
  readonly slowSubs?: SlowSubsConfig;
}

const SLOW_SUBS_OFF: SlowSubsConfig = { enable: false, threshold: 500, expire_interval: 300_000, top_k_num: 10, stats_type: 'whole' };

export interface BrokerOptions extends BrokerSettings {
  readonly counters: Counters;
  readonly log: Log;
  readonly limited: LogLimiter;
  /** This node's name, on the delayed messages it takes. */
  readonly node?: string;
  /** Whether a client id is banned (a delayed message of a banned publisher is not published). */
  isBanned?(clientId: string): boolean;
}

export class Broker extends EventEmitter<BrokerEvents> implements BrokerPort, SessionHost {
  readonly counters: Counters;
  readonly sessions = new Map<string, Session>();
  readonly subs = new SubscriptionIndex<Sub>();
  readonly shared = new SubscriptionIndex<Group>();
  readonly retainer: Retainer;
  readonly delayed: DelayedPublisher;
  readonly #picker = new SharedPicker();
  readonly #log: Log;
  readonly #limited: LogLimiter;
  #mqtt: MqttConfig;
  #rewriter: TopicRewriter;
  #rewritesPublish: boolean;
  #rewriteRules: readonly RewriteRuleConfig[];
  #autoTopics: readonly AutoSubscribeTopic[];
  /** Per-topic counts of the metered topics (EMQX's topic metrics). */
  readonly topicMetrics = new TopicMetrics();
  /** The slowest deliveries of this node (EMQX's slow subscriptions). */
  readonly slowSubs: SlowSubs;
  #cluster: ClusterPort | undefined;
  /** `$exclusive/` subscriptions: this node's locks until the router attaches the cluster's. */
  #exclusive: ExclusiveLocks = new LocalExclusive((id) => this.sessions.has(id));
  #stopping = false;
  /** Set when this node starts handing its sessions to others (a graceful stop). */
  #leaving = false;
  /** Sessions taken from a stopping node whose messages have not come yet, by client id; settled when they have (or the stub ended). */
  readonly #stubs = new Map<string, { readonly session: Session; readonly filled: Promise<void>; readonly settle: () => void }>();
  #connections = 0;
  readonly #peaks = new Map<string, number>();

  constructor(o: BrokerOptions) {
    super();
    this.counters = o.counters;
    this.#log = o.log;
    this.#limited = o.limited;
    this.#mqtt = o.mqtt;
    this.#rewriteRules = o.rewrite ?? [];
    this.#rewriter = new TopicRewriter(this.#rewriteRules);
    this.#rewritesPublish = this.#rewriter.rewritesPublish;
    this.#autoTopics = o.autoSubscribe ?? [];
    this.retainer = new Retainer(o.retainer);
    this.slowSubs = new SlowSubs(o.slowSubs ?? SLOW_SUBS_OFF);
    this.delayed = new DelayedPublisher({
      node: o.node ?? 'local',
      log: o.log,
      config: o.delayed ?? { enable: true, max_delayed_messages: 0 },
      publish: (msg) => void this.publish(msg),
      ...(o.isBanned ? { isBanned: o.isBanned } : {}),
    });
  }

  config(): MqttConfig {
    return this.#mqtt;
  }

  /** From now on routes are announced to, and messages routed through, the cluster. */
  attachCluster(port: ClusterPort): void {
    this.#cluster = port;
    for (const f of this.subs.filters()) port.routeAdded(f);
    for (const f of this.shared.filters()) {
      for (const [group, g] of this.shared.subscribers(f) ?? []) for (const clientId of g.members.keys()) port.sharedAdded(group, f, clientId);
    }
  }

  /** `$exclusive/` locks held cluster-wide from now on. */
  attachExclusive(locks: ExclusiveLocks): void {
    this.#exclusive = locks;
  }

  claimExclusive(filter: string, clientId: string): Promise<boolean> {
    return this.#exclusive.claim(filter, clientId);
  }

  releaseExclusive(filter: string, clientId: string): void {
    this.#exclusive.release(filter, clientId);
  }

  /** Hot reload: limits apply to what happens from now on. */
  reconfigure(next: BrokerSettings): void {
    if (next.mqtt.shared_subscription_strategy !== this.#mqtt.shared_subscription_strategy) this.#picker.clear();
    this.#mqtt = next.mqtt;
    this.retainer.config = next.retainer;
    // Turning delayed publish off stops taking new ones; those already taken still go out.
    if (next.delayed) this.delayed.config = next.delayed;
    this.#rewriteRules = next.rewrite ?? [];
    this.#rewriter = new TopicRewriter(this.#rewriteRules);
    this.#rewritesPublish = this.#rewriter.rewritesPublish;
    this.#autoTopics = next.autoSubscribe ?? [];
    if (next.slowSubs) this.slowSubs.reconfigure(next.slowSubs);
  }

  /** The topic rewrite rules and auto-subscribe topics in force (the API shows them). */
  extensions(): { readonly rewrite: readonly RewriteRuleConfig[]; readonly autoSubscribe: readonly AutoSubscribeTopic[] } {
    return { rewrite: this.#rewriteRules, autoSubscribe: this.#autoTopics };
  }

  /** A SUBSCRIBE or UNSUBSCRIBE filter after the topic rewrite rules. */
  rewriteFilter(filter: string, clientId: string, username: string | undefined): string {
    return this.#rewriter.subscribe(filter, clientId, username);
  }

  /** What a client that just connected is subscribed to (`auto_subscribe`). */
  autoSubscriptions(client: ClientInfo): AutoSubscription[] {
    return autoSubscriptions(this.#autoTopics, client);
  }

  /** Connected clients (sessions with a connection). */
  get connections(): number {
    return this.#connections;
  }

  // ---- connections and sessions ----

  async connect(req: ConnectRequest): Promise<ConnectResult> {
    if (this.#stopping) return { ok: false, rc: RC.serverUnavailable, reason: 'the node is stopping' };
    const id = req.client.clientId;
    const c = this.counters;
    // In a cluster, the client id is claimed first: a session held on another node comes here.
    const claim = this.#cluster ? await this.#cluster.claimSession(id, req.cleanStart) : undefined;
    if (this.#stopping) return { ok: false, rc: RC.serverUnavailable, reason: 'the node is stopping' };
    // Checked with nothing awaited until the session is in place: no claim can slip in between.
    if (claim && !claim.stillOurs()) {
      return { ok: false, rc: RC.serverBusy, reason: 'a newer connection with the same client id on another node took the session' };
    }
    const existing = this.sessions.get(id);
    let session: Session;
    let present = false;
    if (existing) {
      clearTimeout(existing.expiryTimer);
      existing.expiryTimer = undefined;
      const old = existing.outlet;
      if (old) {
        // Takeover (MQTT-3.1.4-3): the old connection is told 0x8E and closed. Its will is
        // decided by what the new connection does with the session (see detached()).
        existing.takeover = { cleanStart: req.cleanStart };
        old.kick(RC.sessionTakenOver, `session taken over by a new connection from ${req.client.peer}`);
        existing.takeover = undefined;
        c['session.takenover']++;
      } else if (existing.will && existing.willTimer) {
        // Back before the will delay ran out: no will (MQTT-3.1.3-9), unless the session now ends.
        clearTimeout(existing.willTimer);
        existing.willTimer = undefined;
        if (req.cleanStart) this.#publishWill(existing.will);
        existing.will = undefined;
      }
      if (req.cleanStart || existing.ended) {
        this.#end(existing, 'discarded');
        c['session.discarded']++;
      } else {
        session = existing;
        present = true;
        session.attach(req.outlet, req.client, req.sessionExpiryMs, req.will, req.receiveMaximum);
        c['session.resumed']++;
      }
    }
    if (!present) {
      session = new Session(this, req.client, req.sessionExpiryMs, req.receiveMaximum);
      if (claim?.handover && !req.cleanStart) {
        session.importState(claim.handover);
        present = true;
        c['session.resumed']++;
        c['session.takenover']++;
      } else c['session.created']++;
      session.attach(req.outlet, req.client, req.sessionExpiryMs, req.will, req.receiveMaximum);
      this.sessions.set(id, session);
      this.#cluster?.sessionOpened(id);
    }
    this.#connections++;
    this.#peak('connections.max', this.#connections);
    this.#peak('live_connections.max', this.#connections);
    this.#peak('sessions.max', this.sessions.size);
    this.emit('connected', req.client, session!);
    return { ok: true, session: session!, sessionPresent: present };
  }

  /** SessionHost: the session's connection is gone. */
  detached(s: Session, how: DetachHow): void {
    this.#connections--;
    this.emit('disconnected', s.client, how.reason);
    const takeover = s.takeover;
    if (takeover) {
      // The will of a taken-over connection goes out now if it has no delay, or if the session
      // it belonged to ends with the takeover (clean start); else the new connection resumes it.
      if (s.will && (s.will.delayMs === 0 || takeover.cleanStart)) this.#publishWill(s.will);
      s.will = undefined;
      return;
    }
    const will = s.will;
    if (will) {
      if (will.delayMs === 0 || s.expiryMs === 0) {
        s.will = undefined;
        this.#publishWill(will);
      } else {
        this.#armWill(s, will, Math.min(will.delayMs, s.expiryMs));
      }
    }
    if (s.expiryMs === 0) {
      this.#end(s, 'clean session closed');
    } else if (s.expiryMs !== Number.POSITIVE_INFINITY) {
      s.expiryTimer = setTimeout(() => this.#end(s, 'session expired'), s.expiryMs);
      s.expiryTimer.unref();
    }
  }

  /** A detached session's will goes out after `delayMs`, unless its client is back first. */
  #armWill(s: Session, will: WillMessage, delayMs: number): void {
    s.will = will;
    s.willDueAt = Date.now() + delayMs;
    s.willTimer = setTimeout(() => {
      s.willTimer = undefined;
      s.will = undefined;
      this.#publishWill(will);
    }, delayMs);
    s.willTimer.unref();
  }

  /** A will whose delay ran out while this node was down (session-file.ts): out now. */
  publishLateWill(will: WillMessage): void {
    this.#publishWill(will);
  }

  /**
   * A will goes out as if published now: its timestamp, and its Message Expiry Interval counted
   * from now rather than from the CONNECT that carried it (MQTT 5.0 §3.1.3.2.4).
   */
  #publishWill(will: WillMessage): void {
    const now = Date.now();
    const m = will.msg;
    this.publish({ ...m, timestamp: now, expiresAt: m.expiresAt === Number.POSITIVE_INFINITY ? m.expiresAt : m.expiresAt + (now - m.timestamp) });
  }

  /** Ends a session: pending will out, subscriptions gone, shared-group messages re-dispatched. */
  #end(s: Session, reason: string): void {
    if (s.ended) return;
    if (s.willTimer && s.will) {
      clearTimeout(s.willTimer);
      this.#publishWill(s.will);
    }
    s.will = undefined;
    // A session that moves to another node takes its exclusive subscriptions along.
    if (reason !== 'takenover') for (const [filter, opts] of s.subscriptions) if (opts.exclusive) this.#exclusive.release(filter, s.clientId);
    const orphans: Delivery[] = [];
    for (const e of s.inflight.values()) if (e.d.shared !== undefined && e.phase === 'publish') orphans.push(e.d);
    for (const d of s.queue) if (d.shared !== undefined) orphans.push(d);
    s.end();
    const stub = this.#stubs.get(s.clientId);
    if (stub?.session === s) {
      this.#stubs.delete(s.clientId);
      stub.settle();
    }
    if (this.sessions.get(s.clientId) === s) {
      this.sessions.delete(s.clientId);
      this.#cluster?.sessionEnded(s.clientId);
    }
    this.counters['session.terminated']++;
    this.emit('sessionEnded', s.clientId, reason);
    for (const d of orphans) {
      const key = d.shared!;
      const slash = key.indexOf('/');
      if (this.#cluster) this.#cluster.redispatchShared(d.msg, key.slice(0, slash), key.slice(slash + 1), s.clientId);
      else this.#redispatch(d, s.clientId);
    }
  }

  /**
   * `clients kick`: the connection closed with 0x98 and the session discarded. The server closed
   * the connection and the session ends, so the will goes out, a delayed one at once (as EMQX).
   */
  kick(clientId: string): boolean {
    const s = this.sessions.get(clientId);
    if (!s) return false;
    s.outlet?.kick(RC.administrativeAction, 'kicked by an operator');
    this.#end(s, 'kicked');
    return true;
  }

  /**
   * Another node takes this client's session: the connection here is closed with 0x8E, the will
   * goes out as a takeover decides, and the session leaves this node — its state handed over
   * unless the new connection starts clean (then it is discarded). undefined: no session here.
   */
  handOver(clientId: string, cleanStart: boolean): SessionHandover | undefined {
    const s = this.sessions.get(clientId);
    if (!s) return undefined;
    clearTimeout(s.expiryTimer);
    s.expiryTimer = undefined;
    if (s.outlet) {
      s.takeover = { cleanStart };
      s.outlet.kick(RC.sessionTakenOver, 'session taken over by a connection on another node');
      s.takeover = undefined;
    } else if (s.will && s.willTimer) {
      clearTimeout(s.willTimer);
      s.willTimer = undefined;
      if (cleanStart) this.#publishWill(s.will);
      s.will = undefined;
    }
    this.counters['session.takenover']++;
    if (cleanStart) {
      this.#end(s, 'discarded');
      return undefined;
    }
    const state = s.exportState();
    // Its messages go with it: nothing to re-dispatch to other group members.
    s.inflight.clear();
    s.queue.clear();
    this.#end(s, 'takenover');
    return state;
  }

  // ---- moving sessions off a stopping node (router/evacuation.ts) ----

  /**
   * Settled once the messages of a session taken from a stopping node are here; undefined when
   * `clientId` is no such session. A takeover by another node waits for it, or the messages would
   * arrive after the session left.
   */
  stubFilled(clientId: string): Promise<void> | undefined {
    return this.#stubs.get(clientId)?.filled;
  }

  /** This node is handing its sessions on: it takes none from others. */
  stopAdopting(): void {
    this.#leaving = true;
  }

  /** Sessions that outlive their connection and have none now: what a stopping node hands on. */
  evacuable(): string[] {
    const out: string[] = [];
    for (const s of this.sessions.values()) if (!s.outlet && !s.ended && s.expiryMs > 0) out.push(s.clientId);
    return out;
  }

  /** What another node needs to hold `clientId`'s session before its messages move: who, for how long, subscribed to what. */
  evacuationStub(clientId: string): EvacuationStub | undefined {
    const s = this.sessions.get(clientId);
    if (!s || s.outlet || s.ended) return undefined;
    const away = Date.now() - (s.disconnectedAt ?? Date.now());
    return { client: s.client, createdAt: s.createdAt, expiryMs: s.expiryMs === Number.POSITIVE_INFINITY ? -1 : Math.max(1, s.expiryMs - away), subscriptions: [...s.subscriptions] };
  }

  /**
   * Holds a session moving here from a stopping node, without its messages yet: its
   * subscriptions are added (resolves once every member routes them here), so from now on this
   * node gets what is published for it. `exists`: a session for the id is here already (it
   * stays); `leaving`: this node is stopping too.
   */
  async adoptStub(stub: EvacuationStub): Promise<'taken' | 'exists' | 'leaving'> {
    const id = stub.client.clientId;
    if (this.#stopping || this.#leaving) return 'leaving';
    if (this.sessions.has(id)) return 'exists';
    const expiryMs = stub.expiryMs < 0 ? Number.POSITIVE_INFINITY : stub.expiryMs;
    const s = new Session(this, stub.client, expiryMs, 65535);
    s.createdAt = stub.createdAt;
    s.disconnectedAt = Date.now();
    const ready: Array<Promise<void>> = [];
    for (const [filter, opts] of stub.subscriptions) {
      const r = this.addSubscription(s, filter, opts);
      if (r.rc < 0x80) s.subscriptions.set(filter, opts);
      if (r.ready) ready.push(r.ready);
    }
    this.sessions.set(id, s);
    let settle = (): void => undefined;
    const filled = new Promise<void>((resolve) => (settle = resolve));
    this.#stubs.set(id, { session: s, filled, settle });
    this.#cluster?.sessionOpened(id);
    if (expiryMs !== Number.POSITIVE_INFINITY) {
      s.expiryTimer = setTimeout(() => this.#end(s, 'session expired'), expiryMs);
      s.expiryTimer.unref();
    }
    this.#peak('sessions.max', this.sessions.size);
    await Promise.all(ready);
    return 'taken';
  }

  /**
   * On the stopping node, once the other holds the stub: the session leaves with what it has
   * queued and in flight, and its pending will with what is left of its delay.
   */
  evacuate(clientId: string): EvacuatedSession | undefined {
    const s = this.sessions.get(clientId);
    if (!s || s.outlet) return undefined;
    const will = s.will && s.willTimer ? { will: s.will, willDelayMs: Math.max(0, (s.willDueAt ?? Date.now()) - Date.now()) } : {};
    const state = this.handOver(clientId, false);
    return state ? { state, ...will } : undefined;
  }

  /**
   * The messages of a session whose stub this node holds: merged, older first. With no state
   * (the session went elsewhere meanwhile), a stub nobody came back to is discarded.
   */
  adoptMessages(clientId: string, moved: EvacuatedSession | undefined): void {
    const stub = this.#stubs.get(clientId);
    this.#stubs.delete(clientId);
    stub?.settle();
    const s = stub?.session;
    // Not the stub any more (its client came back with clean start, or it expired): nothing to merge into.
    if (!s || this.sessions.get(clientId) !== s) return;
    if (!moved) {
      if (!s.outlet) this.#end(s, 'discarded');
      return;
    }
    s.mergeEvacuated(moved.state);
    if (moved.will && !s.outlet) this.#armWill(s, moved.will, moved.willDelayMs ?? 0);
  }

  /** Stops accepting connections; existing clients are told the server is shutting down. */
  stop(): void {
    this.#stopping = true;
    this.delayed.stop();
    this.topicMetrics.stop();
    for (const s of this.sessions.values()) s.outlet?.kick(RC.serverShuttingDown, 'the node is stopping');
    for (const s of [...this.sessions.values()]) {
      clearTimeout(s.expiryTimer);
      clearTimeout(s.willTimer);
    }
  }

  // ---- subscriptions ----

  addSubscription(s: Session, filter: string, opts: SubOptions): { rc: number; ready?: Promise<void> } {
    let ready: Promise<void> | undefined;
    const shared = parseShared(filter);
    if (shared !== undefined && typeof shared !== 'string') {
      let group = this.shared.get(shared.filter, shared.group);
      if (!group) {
        group = { members: new Map(), order: [] };
        this.shared.add(shared.filter, shared.group, group);
      }
      const joined = !group.members.has(s.clientId);
      if (joined) group.order = [...group.order, s.clientId];
      group.members.set(s.clientId, { session: s, opts });
      if (joined) ready = this.#cluster?.sharedAdded(shared.group, shared.filter, s.clientId);
    } else {
      const first = this.subs.subscribers(filter) === undefined;
      this.subs.add(filter, s.clientId, { session: s, opts });
      if (first) ready = this.#cluster?.routeAdded(filter);
    }
    this.emit('subscribed', s.clientId, filter, opts);
    return ready ? { rc: opts.qos, ready } : { rc: opts.qos };
  }

  removeSubscription(s: Session, filter: string): void {
    const shared = parseShared(filter);
    if (shared !== undefined && typeof shared !== 'string') {
      const group = this.shared.get(shared.filter, shared.group);
      if (group?.members.delete(s.clientId)) {
        group.order = group.order.filter((m) => m !== s.clientId);
        if (group.members.size === 0) {
          this.shared.remove(shared.filter, shared.group);
          this.#picker.forget(`${shared.group}/${shared.filter}`);
        }
        this.#cluster?.sharedRemoved(shared.group, shared.filter, s.clientId);
      }
    } else if (this.subs.remove(filter, s.clientId) && this.subs.subscribers(filter) === undefined) {
      this.#cluster?.routeRemoved(filter);
    }
    this.emit('unsubscribed', s.clientId, filter);
  }

  retainedFor(filter: string, opts: SubOptions): Delivery[] {
    // Retained messages are not sent for shared subscriptions (MQTT 5.0 §4.8.2).
    if (parseShared(filter) !== undefined) return [];
    return this.retainer.match(filter).map((msg) => ({
      msg,
      // As for live messages: mqtt.upgrade_qos applies to retained ones too (EMQX's enrich_subopts).
      qos: this.#qos(msg, opts.qos),
      retain: true,
      ...(opts.subId !== undefined ? { subIds: [opts.subId] } : {}),
    }));
  }

  // ---- publishing ----

  publish(msg: Message, username?: string): PublishResult {
    const c = this.counters;
    // Both checks cost the hot path one boolean and one character when unused.
    if (this.#rewritesPublish) {
      const topic = this.#rewriter.publish(msg.topic, msg.from, username);
      if (topic !== msg.topic) msg = { ...msg, topic };
    }
    if (msg.topic.charCodeAt(0) === DOLLAR && msg.topic.startsWith(DELAYED_PREFIX) && this.delayed.config.enable) return this.#delay(msg, username);
    c['messages.publish']++;
    /** A retained message's write to the cluster's table: the acknowledgement waits for it too. */
    let retained: Promise<void> | undefined;
    if (msg.retain) {
      const outcome = this.retainer.store(msg);
      if (outcome === 'stored') c['messages.retained']++;
      else if (outcome === 'too_large' || outcome === 'full') {
        this.#limited.warn(`retainer:${outcome}`, { topic: msg.topic, from: msg.from }, outcome === 'full' ? 'retained message not stored: retainer.backend.max_retained_messages reached' : 'retained message not stored: payload over retainer.max_payload_size');
      }
      // An empty retained message only clears, when retainer.stop_publish_clear_msg says so.
      if (outcome === 'deleted' && this.retainer.config.stop_publish_clear_msg) return { matched: 0 };
      retained = this.retainer.lastWrite;
    }
    if (this.#cluster) {
      const r = this.#cluster.route(msg);
      const matched = r.local + r.remote;
      if (matched === 0) {
        c['messages.dropped']++;
        c['messages.dropped.no_subscribers']++;
      }
      if (this.topicMetrics.active) this.topicMetrics.published(msg.topic, msg.qos, matched);
      if (r.remote > 0) c['messages.forward']++;
      const settled = r.settled && retained ? Promise.all([r.settled, retained]).then(() => undefined) : (r.settled ?? (msg.qos > 0 ? retained : undefined));
      return settled ? { matched, settled } : { matched };
    }
    const matched = this.dispatchLocal(msg) + this.#dispatchSharedLocal(msg);
    if (matched === 0) {
      c['messages.dropped']++;
      c['messages.dropped.no_subscribers']++;
    }
    if (this.topicMetrics.active) this.topicMetrics.published(msg.topic, msg.qos, matched);
    return { matched };
  }

  /** A PUBLISH to `$delayed/<seconds>/<topic>`: kept until its time (acknowledged once durable). */
  #delay(msg: Message, username: string | undefined): PublishResult {
    const c = this.counters;
    const out = this.delayed.take(msg, username, this.#mqtt.max_topic_levels);
    if (out.kind === 'stored') {
      c['messages.delayed']++;
      return out.write ? { matched: 0, settled: out.write } : { matched: 0 };
    }
    c['messages.dropped']++;
    if (out.kind === 'full') {
      this.#limited.warn('delayed:full', { topic: msg.topic.slice(0, 200), from: msg.from }, 'delayed message not stored: delayed.max_delayed_messages reached');
      return { matched: 0, refused: RC.quotaExceeded };
    }
    this.#limited.warn('delayed:invalid', { topic: msg.topic.slice(0, 200), from: msg.from }, `delayed message dropped: ${out.why}`);
    return { matched: 0, refused: RC.topicNameInvalid };
  }

  /** Whether a publish to `topic` would reach anyone: to skip building messages nobody gets ($SYS events). */
  wouldReach(topic: string): boolean {
    return this.#cluster ? this.#cluster.hasRoute(topic) : this.subs.hasMatch(topic) || this.shared.hasMatch(topic);
  }

  /**
   * A shared-group message for a member on this node (picked by the cluster). False when that
   * client is no member any more: the caller picks again.
   */
  deliverShared(msg: Message, group: string, filter: string, clientId: string): boolean {
    const sub = this.shared.get(filter, group)?.members.get(clientId);
    if (!sub) return false;
    sub.session.deliver(this.#sharedDelivery(msg, sub.opts, `${group}/${filter}`));
    return true;
  }

  /**
   * Hands `msg` to every subscriber on this node, shared groups aside. A client with several
   * matching subscriptions gets one message: the highest QoS, every subscription identifier,
   * retain as published if any of them asks for it (MQTT-3.3.4-2..5).
   */
  dispatchLocal(msg: Message): number {
    let n = 0;
    const matched: Array<ReadonlyMap<string, Sub>> = [];
    this.subs.match(msg.topic, (_filter, subscribers) => {
      matched.push(subscribers);
    });
    if (matched.length === 1) {
      for (const [id, sub] of matched[0]!) {
        if (this.#local(id, sub, msg)) continue;
        const o = sub.opts;
        const d: Delivery = { msg, qos: this.#qos(msg, o.qos), retain: o.rap && msg.retain, ...(o.subId !== undefined ? { subIds: [o.subId] } : {}) };
        sub.session.deliver(d);
        n++;
      }
    } else if (matched.length > 1) {
      const per = new Map<string, { session: Session; qos: QoS; rap: boolean; subIds: number[] }>();
      for (const subscribers of matched) {
        for (const [id, sub] of subscribers) {
          if (this.#local(id, sub, msg)) continue;
          const o = sub.opts;
          const m = per.get(id);
          if (m) {
            if (o.qos > m.qos) m.qos = o.qos;
            m.rap ||= o.rap;
            if (o.subId !== undefined) m.subIds.push(o.subId);
          } else per.set(id, { session: sub.session, qos: o.qos, rap: o.rap, subIds: o.subId !== undefined ? [o.subId] : [] });
        }
      }
      for (const m of per.values()) {
        const d: Delivery = { msg, qos: this.#qos(msg, m.qos), retain: m.rap && msg.retain, ...(m.subIds.length > 0 ? { subIds: m.subIds } : {}) };
        m.session.deliver(d);
        n++;
      }
    }
    return n;
  }

  /** One member of every matching shared group, on a node alone (the cluster picks otherwise). */
  #dispatchSharedLocal(msg: Message): number {
    let n = 0;
    const cfg = this.#mqtt;
    if (this.shared.size > 0) {
      this.shared.match(msg.topic, (filter, groups) => {
        for (const [name, group] of groups) {
          const key = `${name}/${filter}`;
          const member = this.#picker.pick(cfg.shared_subscription_strategy, key, group.order, { publisher: msg.from, topic: msg.topic });
          const sub = member === undefined ? undefined : group.members.get(member);
          if (!sub) continue;
          sub.session.deliver(this.#sharedDelivery(msg, sub.opts, key));
          n++;
        }
      });
    }
    return n;
  }

  /** No Local (v5), or mqtt.ignore_loop_deliver for 3.x clients: not delivered back to its publisher. */
  #local(id: string, sub: Sub, msg: Message): boolean {
    if (id !== msg.from) return false;
    if (!sub.opts.nl && !(this.#mqtt.ignore_loop_deliver && sub.session.client.protoVer !== 5)) return false;
    this.counters['delivery.dropped']++;
    this.counters['delivery.dropped.no_local']++;
    return true;
  }

  #qos(msg: Message, subQos: QoS): QoS {
    return (this.#mqtt.upgrade_qos ? Math.max(msg.qos, subQos) : Math.min(msg.qos, subQos)) as QoS;
  }

  #sharedDelivery(msg: Message, o: SubOptions, key: string): Delivery {
    return { msg, qos: this.#qos(msg, o.qos), retain: o.rap && msg.retain, shared: key, ...(o.subId !== undefined ? { subIds: [o.subId] } : {}) };
  }

  /** A shared-group message whose member went away goes to another member (EMQX does this for QoS 1; QoS 2 too here). */
  #redispatch(d: Delivery, gone: string): void {
    const key = d.shared!;
    const slash = key.indexOf('/');
    const group = this.shared.get(key.slice(slash + 1), key.slice(0, slash));
    if (!group) return;
    const member = this.#picker.pickExcept(this.#mqtt.shared_subscription_strategy, key, group.order, { publisher: d.msg.from, topic: d.msg.topic }, new Set([gone]));
    const sub = member === undefined ? undefined : group.members.get(member);
    if (sub) sub.session.deliver(this.#sharedDelivery(d.msg, sub.opts, key));
  }

  warnClient(s: Session, kind: string, msg: string, fields: object): void {
    this.#limited.warn(`${kind}:${s.clientId}`, { clientid: s.clientId, ...fields }, msg);
  }

  /** Counts for `broker stats`, $SYS and the API (EMQX's emqx_stats names). */
  stats(): Record<string, number> {
    let subscriptions = 0;
    let shared = 0;
    for (const s of this.sessions.values()) {
      for (const f of s.subscriptions.keys()) {
        subscriptions++;
        if (parseShared(f) !== undefined) shared++;
      }
    }
    const counts: Record<string, number> = {
      'connections.count': this.#connections,
      'live_connections.count': this.#connections,
      'sessions.count': this.sessions.size,
      'topics.count': this.subs.filterCount + this.shared.filterCount,
      'subscriptions.count': subscriptions,
      'subscriptions.shared.count': shared,
      'subscribers.count': this.subs.size + this.shared.size,
      'suboptions.count': subscriptions,
      'retained.count': this.retainer.size,
      'delayed.count': this.delayed.count,
    };
    const out: Record<string, number> = {};
    for (const [name, n] of Object.entries(counts)) {
      const max = name.replace(/\.count$/, '.max');
      out[name] = n;
      out[max] = this.#peak(max, n);
    }
    return out;
  }

  /**
   * EMQX's `*.max`: the highest value seen since the node started. Connections and sessions are
   * raised as they open (a spike between two samples counts); the rest when stats are read (the
   * $SYS interval, the API's sampler, `broker stats`), as EMQX samples them on a timer.
   */
  #peak(name: string, n: number): number {
    const max = Math.max(this.#peaks.get(name) ?? 0, n);
    this.#peaks.set(name, max);
    return max;
  }

  log(): Log {
    return this.#log;
  }
}
