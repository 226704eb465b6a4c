// One client's protocol state machine: decoded packets in, packets out through a ChannelIO, calls
// into the broker through BrokerPort/SessionPort. No socket here (the connection shell in
// connection.ts owns it) and no timer (a sweep calls check() once a second for every channel),
// so a channel can be driven packet by packet in a test. The work for each packet kind is in
// handlers/<kind>.ts.
import type { IAuthPacket, IDisconnectPacket, Packet } from 'mqtt-packet';
import type { Counters } from '../base/metrics.js';
import type { Log } from '../base/log.js';
import type { LogLimiter } from '../base/log-limit.js';
import type { MqttConfig } from '../config/types.js';
import { encodeAck, encodePublish, isDecodeError, MqttCodec, type Decoded } from './codec.js';
import type { Frame } from './framer.js';
import { handleConnect } from './handlers/connect.js';
import { handlePublish } from './handlers/publish.js';
import { handleSubscribe, handleUnsubscribe } from './handlers/subscribe.js';
import { handlePuback, handlePubcomp, handlePubrec, handlePubrel } from './handlers/acks.js';
import { handleDisconnect } from './handlers/disconnect.js';
import { handleReauth } from './handlers/auth.js';
import type { AccessPort, BrokerPort, ClientAccess, ClientInfo, CongestionPort, Delivery, Outlet, PeerCert, SessionPort, WillMessage } from './port.js';
import { RC, reasonName } from './reason-codes.js';
import type { Tracer } from './tracer.js';

/** The socket side of a channel (connection.ts). */
export interface ChannelIO {
  /** Queues bytes for the client. */
  write(buf: Buffer): void;
  /** Bytes queued and not yet taken by the kernel. */
  readonly buffered: number;
  /** Flushes what is queued, then closes. */
  close(): void;
  /** `ip:port` of the client. */
  readonly peer: string;
  /** Stop reading from the client (true) or go on (false): the channel waits for a check. */
  hold?(on: boolean): void;
}

export interface ChannelSettings {
  readonly mqtt: MqttConfig;
  /** `tcp:default` */
  readonly listener: string;
  /** The listener's port (sockport in events and the API). */
  readonly port: number;
  /** Prefixed to the client's topics inside the broker ('' = none). */
  readonly mountpoint: string;
  /** The listener's `messages_rate` and `bytes_rate`, per second (absent or Infinity: none). */
  readonly messagesRate?: number;
  readonly bytesRate?: number;
  /** The listener's `enable_authn` (absent: true). */
  readonly enableAuthn?: boolean | 'quick_deny_anonymous';
}

export interface ChannelEnv {
  readonly broker: BrokerPort;
  readonly counters: Counters;
  readonly log: Log;
  /** For lines a client can trigger at will. */
  readonly limited: LogLimiter;
  /** Called once when the channel is closed, whatever the cause. */
  readonly onClosed?: (ch: Channel) => void;
  /** Called when a client is connected (CONNACK 0 sent). */
  readonly onConnected?: (ch: Channel) => void;
  /** Authentication and authorization; absent: every client may do everything. */
  readonly access?: AccessPort;
  /** `emqx ctl trace`: packets of traced clients and topics to their files. */
  readonly tracer?: Tracer;
  /** conn_congestion alarms. */
  readonly congestion?: CongestionPort;
}

/** Above this many bytes queued on the socket the client counts as slow: deliveries wait in its session. */
export const HIGH_WATERMARK = 1024 * 1024;
/** Packets a client may send after CONNECT before its CONNACK is out (pipelining), kept in order. */
const MAX_EARLY_PACKETS = 1000;

type State = 'new' | 'connecting' | 'connected' | 'closed';

/** Packet identifiers 1..65535 where the packet has one (MQTT-2.3.1-1). */
const WITH_ID = new Set(['subscribe', 'unsubscribe', 'puback', 'pubrec', 'pubrel', 'pubcomp']);

/**
 * What mqtt-packet lets through and the specs call malformed (or a protocol error): packet
 * identifier 0, SUBSCRIBE/UNSUBSCRIBE without a filter or with QoS 3, a will with QoS 3, a 3.x
 * password without a user name.
 */
function malformed(p: Packet): { rc: number; why: string } | undefined {
  const id = (p as { messageId?: number }).messageId;
  if ((WITH_ID.has(p.cmd) || (p.cmd === 'publish' && p.qos > 0)) && !(id! >= 1 && id! <= 65535)) return { rc: RC.malformedPacket, why: 'packet identifier 0' };
  if (p.cmd === 'subscribe') {
    if (p.subscriptions.length === 0) return { rc: RC.protocolError, why: 'no topic filter' };
    if (p.subscriptions.some((s) => s.qos > 2)) return { rc: RC.protocolError, why: 'requested QoS 3' };
  }
  if (p.cmd === 'unsubscribe' && p.unsubscriptions.length === 0) return { rc: RC.protocolError, why: 'no topic filter' };
  if (p.cmd === 'connect') {
    if (p.will && (p.will.qos ?? 0) > 2) return { rc: RC.malformedPacket, why: 'will QoS 3' };
    if (p.protocolVersion !== 5 && p.password !== undefined && p.username === undefined) return { rc: RC.malformedPacket, why: 'password without user name' };
  }
  return undefined;
}

/** Why a connection ended, in EMQX's words (the `reason` of client.disconnected events). */
function disconnectReason(rc: number): string {
  switch (rc) {
    case RC.sessionTakenOver:
      return 'takenover';
    case RC.administrativeAction:
      return 'kicked';
    case RC.keepAliveTimeout:
      return 'keepalive_timeout';
    case RC.serverShuttingDown:
      return 'shutdown';
    case RC.malformedPacket:
    case RC.packetTooLarge:
      return 'frame_error';
    case RC.protocolError:
      return 'protocol_error';
    default:
      return reasonName(rc);
  }
}

export class Channel implements Outlet {
  state: State = 'new';
  readonly codec = new MqttCodec();
  client: ClientInfo | undefined;
  session: SessionPort | undefined;
  will: WillMessage | undefined;
  /** The keepalive the channel enforces, seconds (0: none). */
  keepalive = 0;
  readonly openedAt = Date.now();
  lastRecv = Date.now();
  /** v5: session expiry from CONNECT, ms (a DISCONNECT may change it). */
  sessionExpiryMs = 0;
  /** Topic aliases the client set (alias → topic). */
  #aliasesIn: Map<number, string> | undefined;
  /** Aliases this side assigned (topic → alias), up to the client's Topic Alias Maximum. */
  #aliasesOut: Map<string, number> | undefined;
  aliasMaxOut = 0;
  /** The client's Maximum Packet Size (v5). */
  maxPacketSize = Number.POSITIVE_INFINITY;
  /** The listener's mountpoint with this client's placeholders filled in (set at CONNECT). */
  mountpoint = '';
  /**
   * QoS 1/2 acknowledgements waiting for their turn (other nodes to hold their message), in
   * PUBLISH order. Consecutive ones waiting on the same promise (messages that crossed to another
   * node in one batch) share an entry: one `then` a batch.
   */
  #acks: Array<{ ready: boolean; readonly settled: Promise<void> | undefined; readonly sends: Array<() => void> }> = [];
  /** Acknowledgements in #acks, all entries together. */
  #acksWaiting = 0;
  /** Reading stopped: as many acknowledgements wait as the Receive Maximum allows (ackInOrder). */
  #ackHeld = false;
  /** The client's certificate (ssl/wss listeners), set by the listener. */
  peerCert: PeerCert | undefined;
  /** The admitted client's permissions (set at CONNECT when env.access is present). */
  access: ClientAccess | undefined;
  /** Packets that arrived while the CONNECT was being handled. */
  #early: Packet[] | undefined;
  /** Packets that arrived while an asynchronous check held the channel (holdFor), in order. */
  #held: Packet[] | undefined;
  #connackSent = false;
  /** When the client's credentials end (a JWT's `exp`, ms): it is disconnected then. */
  authExpiresAt: number | undefined;
  /** MQTT 5 enhanced authentication: the CONNECT's Authentication Method (every AUTH names it). */
  authMethod: string | undefined;
  /** An enhanced authentication waits for the client's next AUTH. */
  #authWait: ((p: IAuthPacket | undefined) => void) | undefined;
  /** Whether the congestion port was told this socket backed up (and not yet that it cleared). */
  #congested = false;

  constructor(
    readonly io: ChannelIO,
    readonly settings: ChannelSettings,
    readonly env: ChannelEnv,
  ) {}

  /** Topic aliases the client set (alias → topic); made on first use, as few clients use them. */
  get aliasesIn(): Map<number, string> {
    return (this.#aliasesIn ??= new Map());
  }

  /** Aliases this side assigned (topic → alias). */
  get aliasesOut(): Map<string, number> {
    return (this.#aliasesOut ??= new Map());
  }

  get v5(): boolean {
    return this.codec.version === 5;
  }

  get clientId(): string | undefined {
    return this.client?.clientId;
  }

  /** Outlet: deliveries wait in the session until CONNACK is out and while the socket is backed up. */
  get ready(): boolean {
    return this.#connackSent && this.state === 'connected' && this.io.buffered < HIGH_WATERMARK;
  }

  /** A whole packet from the socket. */
  frame(frame: Frame): void {
    if (this.state === 'closed') return;
    this.lastRecv = Date.now();
    const c = this.env.counters;
    c['packets.received']++;
    c['bytes.received'] += frame.bytes.length;
    const d: Decoded = this.codec.decode(frame);
    if (isDecodeError(d)) {
      this.#decodeFailed(d.error, d.rc);
      return;
    }
    if (this.state === 'connecting') {
      if (this.authMethod !== undefined) return this.#duringAuthentication(d);
      // A client may pipeline packets behind its CONNECT: they run once it is accepted.
      if (this.#early === undefined) this.#early = [];
      if (this.#early.length >= MAX_EARLY_PACKETS) return this.closeWith(RC.quotaExceeded, 'too many packets before CONNACK');
      this.#early.push(d);
      return;
    }
    this.packet(d);
  }

  /** A decoded packet. */
  packet(p: Packet): void {
    if (this.state === 'closed') return;
    if (this.#held !== undefined) {
      this.#held.push(p);
      return;
    }
    if (this.env.tracer?.active) this.env.tracer.received(this, p);
    const bad = malformed(p);
    if (bad) return this.closeWith(bad.rc, `malformed ${p.cmd}: ${bad.why}`, this.state !== 'new');
    if (this.state === 'new') {
      if (p.cmd !== 'connect') return this.closeWith(RC.protocolError, `first packet is ${p.cmd}, not CONNECT`, false);
      this.state = 'connecting';
      this.env.counters['packets.connect.received']++;
      void handleConnect(this, p).catch((err: unknown) => {
        this.env.log.error({ peer: this.io.peer, err: err instanceof Error ? err.message : String(err) }, 'CONNECT handling failed');
        this.closeWith(RC.unspecifiedError, 'internal error');
      });
      return;
    }
    switch (p.cmd) {
      case 'publish':
        return handlePublish(this, p);
      case 'puback':
        return handlePuback(this, p);
      case 'pubrec':
        return handlePubrec(this, p);
      case 'pubrel':
        return handlePubrel(this, p);
      case 'pubcomp':
        return handlePubcomp(this, p);
      case 'subscribe':
        return handleSubscribe(this, p);
      case 'unsubscribe':
        return handleUnsubscribe(this, p);
      case 'pingreq':
        this.env.counters['packets.pingreq.received']++;
        this.send({ cmd: 'pingresp' });
        this.env.counters['packets.pingresp.sent']++;
        return;
      case 'disconnect':
        return handleDisconnect(this, p);
      case 'connect':
        return this.closeWith(RC.protocolError, 'second CONNECT');
      case 'auth':
        if (this.#authWait !== undefined) return this.#answerAuth(p);
        this.env.counters['packets.auth.received']++;
        return handleReauth(this, p);
      default:
        return this.closeWith(RC.protocolError, `unexpected ${p.cmd} from a client`);
    }
  }

  /**
   * Between a CONNECT with an Authentication Method and its CONNACK only AUTH and DISCONNECT may
   * come (MQTT-3.1.2-30), and an AUTH only when the server asked for one.
   */
  #duringAuthentication(p: Packet): void {
    if (this.env.tracer?.active) this.env.tracer.received(this, p);
    if (p.cmd === 'disconnect') return this.closeWith(RC.success, 'the client disconnected during enhanced authentication', false);
    if (p.cmd !== 'auth') return this.closeWith(RC.protocolError, `${p.cmd} during enhanced authentication (only AUTH or DISCONNECT may come before CONNACK)`, false);
    if (this.#authWait === undefined) return this.closeWith(RC.protocolError, 'AUTH before the server asked for one', false);
    this.#answerAuth(p);
  }

  #answerAuth(p: IAuthPacket): void {
    this.env.counters['packets.auth.received']++;
    const w = this.#authWait!;
    this.#authWait = undefined;
    w(p);
  }

  /** The client's next AUTH (enhanced authentication); undefined if the connection ends first. */
  nextAuth(): Promise<IAuthPacket | undefined> {
    return new Promise((resolve) => {
      this.#authWait = resolve;
    });
  }

  /**
   * Runs `then` once `check` settles (an HTTP service or Redis asked whether the client may
   * publish or subscribe); nothing else the client sends is handled before it, so its packets
   * keep their order (as in EMQX, whose channel process waits for the answer), and reading stops
   * meanwhile.
   */
  holdFor<T>(check: Promise<T>, then: (v: T) => void): void {
    this.#held ??= [];
    this.#reading();
    const failed = (err: unknown): void => {
      this.env.log.error({ peer: this.io.peer, clientid: this.clientId, err: err instanceof Error ? (err.stack ?? err.message) : String(err) }, 'MQTT packet handling failed; closing the connection');
      this.closeWith(RC.unspecifiedError, 'internal error while handling a packet');
    };
    check.then((v) => {
      if (this.state === 'closed') return;
      const waiting = this.#held ?? [];
      this.#held = undefined;
      try {
        then(v);
        // Each may hold the channel again; those behind it then wait in #held, in order.
        for (const p of waiting) this.packet(p);
      } catch (err) {
        return failed(err);
      }
      if ((this.state as State) !== 'closed') this.#reading();
    }, failed);
  }

  /** Reads from the socket while nothing holds the channel (a check in progress, acknowledgements piled up). */
  #reading(): void {
    this.io.hold?.(this.#held !== undefined || this.#ackHeld);
  }

  /** CONNACK 0 is out: the channel serves the client; packets that waited behind CONNECT run now. */
  connected(): void {
    this.state = 'connected';
    this.#connackSent = true;
    this.env.onConnected?.(this);
    const early = this.#early;
    this.#early = undefined;
    for (const p of early ?? []) this.packet(p);
    this.session?.writable();
  }

  send(p: Packet): void {
    if (this.state === 'closed') return;
    if (this.env.tracer?.active) this.env.tracer.sent(this, p);
    this.#write(this.codec.encode(p));
  }

  /** An encoded packet (shared buffers are fine: the socket only reads them). */
  sendRaw(buf: Buffer): void {
    if (this.state === 'closed') return;
    if (this.env.tracer?.active) this.env.tracer.sent(this, buf);
    this.#write(buf);
  }

  #write(buf: Buffer): void {
    this.env.counters['packets.sent']++;
    this.env.counters['bytes.sent'] += buf.length;
    this.io.write(buf);
  }

  /** Outlet: one delivery as a PUBLISH. False when it cannot be sent (too large for the client, expired). */
  publish(d: Delivery, packetId: number, dup: boolean): boolean {
    if (this.state === 'closed') return false;
    const { msg } = d;
    const c = this.env.counters;
    let expiry: number | undefined;
    if (msg.expiresAt !== Number.POSITIVE_INFINITY) {
      const left = Math.ceil((msg.expiresAt - Date.now()) / 1000);
      if (left <= 0) {
        c['delivery.dropped']++;
        c['delivery.dropped.expired']++;
        return false;
      }
      if (this.v5 && msg.props?.messageExpiryInterval !== undefined) expiry = left;
    }
    const mp = this.mountpoint;
    const topic = mp !== '' && msg.topic.startsWith(mp) ? msg.topic.slice(mp.length) : msg.topic;
    let buf: Buffer;
    /** A topic alias this PUBLISH introduces: recorded only once the packet really goes out. */
    let newAlias: number | undefined;
    const plain = !this.v5 || (expiry === undefined && d.subIds === undefined && msg.props === undefined && this.aliasMaxOut === 0);
    if (plain) {
      if (d.qos === 0 && !d.retain && mp === '') {
        // The same bytes for every plain QoS 0 subscriber of this message: encoded once.
        const frames = (msg.frames ??= {});
        buf = this.v5 ? (frames.v5 ??= encodePublish(true, topic, msg.payload, 0, false, false, 0)) : (frames.v4 ??= encodePublish(false, topic, msg.payload, 0, false, false, 0));
      } else {
        buf = encodePublish(this.v5, topic, msg.payload, d.qos, d.retain, dup, packetId);
      }
    } else {
      const properties: Record<string, unknown> = { ...msg.props };
      if (expiry !== undefined) properties.messageExpiryInterval = expiry;
      if (d.subIds !== undefined) properties.subscriptionIdentifier = d.subIds.length === 1 ? d.subIds[0] : [...d.subIds];
      let outTopic = topic;
      if (this.aliasMaxOut > 0) {
        const alias = this.aliasesOut.get(topic);
        if (alias !== undefined) {
          properties.topicAlias = alias;
          outTopic = '';
        } else if (this.aliasesOut.size < this.aliasMaxOut) {
          newAlias = this.aliasesOut.size + 1;
          properties.topicAlias = newAlias;
        }
      }
      buf = this.codec.encode({
        cmd: 'publish',
        topic: outTopic,
        payload: msg.payload,
        qos: d.qos,
        retain: d.retain,
        dup,
        ...(d.qos > 0 ? { messageId: packetId } : {}),
        properties,
      });
    }
    if (buf.length > this.maxPacketSize) {
      c['delivery.dropped']++;
      c['delivery.dropped.too_large']++;
      return false;
    }
    if (newAlias !== undefined) this.aliasesOut.set(topic, newAlias);
    c['packets.sent']++;
    c['packets.publish.sent']++;
    c['bytes.sent'] += buf.length;
    c['messages.sent']++;
    if (d.qos === 0) c['messages.qos0.sent']++;
    else if (d.qos === 1) c['messages.qos1.sent']++;
    else c['messages.qos2.sent']++;
    if (this.env.tracer?.active) this.env.tracer.delivered(this, { topic, qos: d.qos, retain: d.retain, dup, messageId: packetId, payload: msg.payload });
    this.io.write(buf);
    return true;
  }

  /**
   * Sends an acknowledgement now, or once `settled` resolves, never ahead of one for an earlier
   * PUBLISH (MQTT-4.6.0-2). What waits here is bounded: past the Receive Maximum the client was
   * given (`mqtt.max_awaiting_rel`; a 3.x client is told none) the client is not read from until
   * half of its acknowledgements have gone out (TCP slows it down; at most one read more waits).
   * Not DISCONNECT 0x93, which MQTT 5 allows here: clients that ignore the Receive Maximum are
   * common (mqtt.js 5 does), and a broker that acknowledges at once (EMQX, mosquitto) never
   * makes them wait this long, so they would be cut only here.
   */
  ackInOrder(send: () => void, settled?: Promise<void>): void {
    if (settled === undefined && this.#acks.length === 0) return send();
    if (!this.#ackHeld && this.#acksWaiting >= Math.min(this.settings.mqtt.max_awaiting_rel, 65535)) {
      this.#ackHeld = true;
      this.#reading();
    }
    this.#acksWaiting++;
    const last = this.#acks[this.#acks.length - 1];
    if (settled !== undefined && last?.settled === settled && !last.ready) {
      last.sends.push(send);
      return;
    }
    const entry = { ready: settled === undefined, settled, sends: [send] };
    this.#acks.push(entry);
    if (settled === undefined) return this.#flushAcks();
    const done = (): void => {
      entry.ready = true;
      this.#flushAcks();
    };
    settled.then(done, done);
  }

  #flushAcks(): void {
    while (this.#acks[0]?.ready) {
      const e = this.#acks.shift()!;
      this.#acksWaiting -= e.sends.length;
      if (this.state === 'connected') for (const send of e.sends) send();
    }
    // Reading resumes once half the limit is free: not a pause and a resume per acknowledgement.
    if (this.#ackHeld && this.#acksWaiting <= Math.min(this.settings.mqtt.max_awaiting_rel, 65535) / 2) {
      this.#ackHeld = false;
      if (this.state !== 'closed') this.#reading();
    }
  }

  /** Outlet: the second step of an outgoing QoS 2 message. */
  pubrel(packetId: number): void {
    this.sendRaw(encodeAck('pubrel', packetId));
    this.env.counters['packets.pubrel.sent']++;
  }

  /** Outlet: the broker closes this client (session taken over, kicked). */
  kick(rc: number, reason: string): void {
    this.closeWith(rc, reason);
  }

  /** Outlet: another keepalive from now on (the API's PUT /clients/:clientid/keepalive), as EMQX restarts its timer. */
  setKeepalive(seconds: number): void {
    this.keepalive = seconds;
    this.lastRecv = Date.now();
    if (this.client) this.client = { ...this.client, keepalive: seconds };
  }

  /** Once a second: connect timeout, keepalive. */
  check(now: number): void {
    if (this.state === 'new' || this.state === 'connecting') {
      const idle = this.settings.mqtt.idle_timeout;
      if (now - this.openedAt > idle) this.closeWith(RC.maximumConnectTime, 'no CONNECT within mqtt.idle_timeout', false);
      return;
    }
    if (this.state !== 'connected') return;
    if (this.keepalive > 0 && now - this.lastRecv > this.keepalive * 1000 * this.settings.mqtt.keepalive_multiplier) {
      return this.closeWith(RC.keepAliveTimeout, `keepalive timeout (${this.keepalive} s × ${this.settings.mqtt.keepalive_multiplier})`);
    }
    if (this.authExpiresAt !== undefined && now >= this.authExpiresAt) return this.closeWith(RC.notAuthorized, 'its credentials expired (the token\'s exp)');
    this.session?.tick(now);
  }

  /** The socket is below its high-water mark again. */
  drained(): void {
    if (this.#congested) {
      this.#congested = false;
      if (this.client) this.env.congestion?.relieved(this.client, false);
    }
    if (this.state === 'connected') this.session?.writable();
  }

  /** The socket holds more than the high-water mark after a write (`buffered` bytes). */
  congested(buffered: number): void {
    if (this.#congested || this.state !== 'connected' || !this.client) return;
    this.#congested = true;
    this.env.congestion?.congested(this.client, buffered);
  }

  /**
   * Closes because of the client or the broker: v5 clients that got their CONNACK are told why
   * with a DISCONNECT (`disconnect` false: no packet, e.g. before CONNECT). The session is
   * detached as after a lost connection (the will goes out).
   */
  closeWith(rc: number, reason: string, disconnect = true): void {
    if (this.state === 'closed') return;
    const sendIt = disconnect && this.v5 && this.#connackSent;
    if (rc !== RC.success && rc !== RC.sessionTakenOver && rc !== RC.administrativeAction) {
      this.env.limited.warn(
        `${this.settings.listener}:${reasonName(rc)}`,
        { listener: this.settings.listener, peer: this.io.peer, clientid: this.clientId, reason_code: reasonName(rc), reason },
        `closing MQTT connection: ${reason}`,
      );
    }
    if (sendIt) {
      const p: IDisconnectPacket = { cmd: 'disconnect', reasonCode: rc };
      this.send(p);
      this.env.counters['packets.disconnect.sent']++;
    }
    this.#finish({ will: true, reason: disconnectReason(rc) }, reason);
  }

  /** The socket closed (or errored) under us. */
  socketClosed(): void {
    if (this.state === 'closed') return;
    this.#finish({ will: true, reason: 'sock_closed' });
  }

  /** Ends the channel once: session detached, socket closed, listeners told. */
  #finish(how: { will: boolean; reason: string; sessionExpiryMs?: number }, detail = how.reason): void {
    if (this.state === 'closed') return;
    if (this.env.tracer?.active) this.env.tracer.closed(this, detail);
    const wasConnected = this.state === 'connected';
    this.state = 'closed';
    this.#early = undefined;
    const waiting = this.#authWait;
    this.#authWait = undefined;
    waiting?.(undefined);
    this.#held = undefined;
    const s = this.session;
    this.session = undefined;
    s?.detach(how);
    if (wasConnected) this.env.counters['client.disconnected']++;
    if (this.#congested && this.client) this.env.congestion?.relieved(this.client, true);
    this.#congested = false;
    this.io.close();
    this.env.onClosed?.(this);
  }

  /** Normal end (DISCONNECT from the client). */
  finishNormally(will: boolean, sessionExpiryMs: number | undefined): void {
    this.#finish({ will, reason: 'normal', ...(sessionExpiryMs !== undefined ? { sessionExpiryMs } : {}) });
  }

  #decodeFailed(error: string, rc: number): void {
    if (this.state === 'new' && /protocol version/i.test(error)) {
      // MQTT-3.1.2-2: answer an unknown protocol level with CONNACK 0x01 (0x84 in v5), then close.
      this.io.write(this.codec.encode({ cmd: 'connack', returnCode: 1, sessionPresent: false }));
      return this.closeWith(RC.unsupportedProtocolVersion, `unsupported protocol version (${error})`, false);
    }
    this.closeWith(rc, `malformed packet: ${error}`, this.state !== 'new');
  }
}
