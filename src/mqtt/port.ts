// What one client's protocol state machine (the channel) exchanges with the broker, as values and
// small interfaces. mqtt/ defines them and knows nothing else of the broker: broker/ implements
// BrokerPort and SessionPort, the channel implements Outlet.

export type QoS = 0 | 1 | 2;

/** The v5 PUBLISH properties that travel with a message from its publisher to its subscribers. */
export interface MessageProps {
  readonly payloadFormatIndicator?: boolean;
  readonly contentType?: string;
  readonly responseTopic?: string;
  readonly correlationData?: Buffer;
  readonly userProperties?: Readonly<Record<string, string | string[]>>;
  /**
   * The Message Expiry Interval the publisher gave, in seconds. Only such a message shows v5
   * subscribers the interval left (as EMQX); one that expires by a setting shows none.
   */
  readonly messageExpiryInterval?: number;
}

/** One published message, shared by every delivery of it. */
export interface Message {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  /** The RETAIN flag as published. */
  readonly retain: boolean;
  /** Publisher's client id; '' for messages the broker makes ($SYS, wills carry the client's). */
  readonly from: string;
  /** ms since epoch, when the broker received it. */
  readonly timestamp: number;
  /** ms since epoch; Infinity: never expires. */
  readonly expiresAt: number;
  readonly props?: MessageProps;
  /** The encoded QoS 0 PUBLISH without properties, per protocol, filled on first use. */
  frames?: { v4?: Buffer; v5?: Buffer };
}

/** A message on its way to one subscriber. */
export interface Delivery {
  readonly msg: Message;
  /** min(message QoS, subscription QoS), or the message's QoS with upgrade_qos. */
  readonly qos: QoS;
  /** Retain flag to send: the message's with retain-as-published, true for retained messages sent on subscribe. */
  readonly retain: boolean;
  /**
   * The subscription identifiers of the client's matching subscriptions (v5): one message per
   * client carries every one of them (MQTT-3.3.4-4/5).
   */
  readonly subIds?: readonly number[];
  /** Set when dispatched through a shared subscription: `<group>/<filter>`, to re-dispatch it. */
  readonly shared?: string;
}

/** A subscription's options (v3 subscriptions have nl/rap false and rh 0). */
export interface SubOptions {
  readonly qos: QoS;
  /** No local: not delivered messages this client published. */
  readonly nl: boolean;
  /** Retain as published. */
  readonly rap: boolean;
  /** Retain handling: 0 send retained on subscribe, 1 only for a new subscription, 2 never. */
  readonly rh: 0 | 1 | 2;
  readonly subId?: number;
  /** Subscribed as `$exclusive/<filter>`: no other client may hold it so meanwhile. */
  readonly exclusive?: true;
}

/** Who a connection is; shown by `clients show` and in logs. */
export interface ClientInfo {
  readonly clientId: string;
  readonly username: string | undefined;
  /** `ip:port` of the client. */
  readonly peer: string;
  /** `tcp:default`, ... */
  readonly listener: string;
  /** The port of the listener the client came in on. */
  readonly sockport: number;
  readonly protoVer: 3 | 4 | 5;
  readonly keepalive: number;
  readonly cleanStart: boolean;
  readonly connectedAt: number;
}

/**
 * Told when a connected client's socket backs up past the high-water mark (the client does not
 * read what it is sent) and when it is under it again or gone: EMQX's conn_congestion alarms.
 */
export interface CongestionPort {
  congested(client: ClientInfo, bufferedBytes: number): void;
  relieved(client: ClientInfo, closed: boolean): void;
}

/** `overload_protection`: whether a connection accepted now is to be closed at once. */
export interface OverloadPort {
  refuseNew(): boolean;
}

export interface WillMessage {
  readonly msg: Message;
  /** v5 Will Delay Interval, ms. */
  readonly delayMs: number;
}

/** What the session calls on the connection it is attached to. */
export interface Outlet {
  /** False while the connection's send buffer is over its high-water mark: hold deliveries. */
  readonly ready: boolean;
  /** The largest packet the client accepts (v5 Maximum Packet Size), bytes. */
  readonly maxPacketSize: number;
  /** False when it could not be sent (too large for the client, expired): the session drops it. */
  publish(d: Delivery, packetId: number, dup: boolean): boolean;
  pubrel(packetId: number): void;
  /** Closes the connection from the broker's side (takeover, kick): v5 gets DISCONNECT with `rc`. */
  kick(rc: number, reason: string): void;
  /** Holds the connection to another keepalive from now on, seconds (0: none); the API's. */
  setKeepalive?(seconds: number): void;
  /** The client's permissions (MQTT channels with authorization). */
  readonly access?: ClientAccess | undefined;
}

export interface ConnectRequest {
  readonly client: ClientInfo;
  readonly cleanStart: boolean;
  /** ms; 0: the session ends with the connection; Infinity: never expires. */
  readonly sessionExpiryMs: number;
  readonly will?: WillMessage;
  /** The client's Receive Maximum: the most unacknowledged QoS 1/2 messages it takes. */
  readonly receiveMaximum: number;
  readonly outlet: Outlet;
}

export type ConnectResult =
  | { readonly ok: true; readonly session: SessionPort; readonly sessionPresent: boolean }
  | { readonly ok: false; readonly rc: number; readonly reason: string };

export interface PublishResult {
  /** Deliveries made (0: no subscriber matched). */
  readonly matched: number;
  /**
   * Set when a QoS 1/2 message went to other nodes: settled once they hold it. The publisher's
   * PUBACK/PUBREC waits for it, so an acknowledged message is on every subscriber's node.
   */
  readonly settled?: Promise<void>;
  /** The v5 reason code of a message the broker would not take (delayed publish: bad topic, full). */
  readonly refused?: number;
}

/** The broker as the channel sees it. */
export interface BrokerPort {
  connect(req: ConnectRequest): Promise<ConnectResult>;
  /** Routes a message from a client (or its will); `username`: the publisher's, when known. */
  publish(msg: Message, username?: string): PublishResult;
  /** A SUBSCRIBE or UNSUBSCRIBE filter as the topic rewrite rules make it. */
  rewriteFilter(filter: string, clientId: string, username: string | undefined): string;
  /** The subscriptions a client gets when it connects (auto subscribe). */
  autoSubscriptions(client: ClientInfo): ReadonlyArray<{ readonly filter: string; readonly opts: SubOptions }>;
  /** Takes `filter` for `clientId` alone (`$exclusive/`); false when another client holds it. */
  claimExclusive(filter: string, clientId: string): Promise<boolean>;
  /** `clientId` no longer holds `filter` exclusively. */
  releaseExclusive(filter: string, clientId: string): void;
}

/** A client certificate (ssl/wss), in the forms `mqtt.peer_cert_as_username|clientid` pick. */
export interface PeerCert {
  /** Subject common name; undefined when the subject has none. */
  readonly cn: string | undefined;
  /** The subject as `C=..,O=..,CN=..`. */
  readonly dn: string;
  /** The certificate as PEM text. */
  readonly pem: string;
  /** The DER bytes, base64. */
  readonly crt: string;
  /** MD5 of the DER bytes, hex. */
  readonly md5: string;
}

/** Who is connecting, as authentication, bans and authorization see it. */
export interface AccessRequest {
  readonly clientId: string;
  readonly username: string | undefined;
  readonly password: Buffer | undefined;
  /** `ip:port` of the client. */
  readonly peer: string;
  readonly listener: string;
  readonly certCommonName?: string;
  /** `MQTT` (`MQIsdp` for 3.1) and the client's mountpoint: for HTTP authorization requests. */
  readonly protoName?: string;
  readonly mountpoint?: string;
  /** MQTT 5 enhanced authentication: the Authentication Method and the client's first data. */
  readonly authMethod?: string;
  readonly authData?: Buffer;
  /** The listener's `enable_authn` (absent: true). */
  readonly enableAuthn?: boolean | 'quick_deny_anonymous';
}

/** One admitted client's permissions: asked on every PUBLISH and SUBSCRIBE (cheap when open). */
export interface ClientAccess {
  /**
   * `topic` as the client wrote it (before any mountpoint); for SUBSCRIBE the filter without
   * `$share/<g>/`. A promise when the answer is not at hand (an HTTP service or Redis is
   * asked): the channel then handles nothing else of the client until it settles.
   */
  allow(action: 'publish' | 'subscribe', topic: string, qos: QoS, retain: boolean): boolean | Promise<boolean>;
  /** What a refusal does: `ignore` answers 0x87 (3.x: SUBACK 0x80, the PUBLISH dropped), `disconnect` closes. */
  readonly denyAction: 'ignore' | 'disconnect';
  /** The answers cached for this client, and forgetting them (the API, `ctl authz cache-clean`). */
  cached?(): readonly unknown[];
  cleanCache?(): void;
}

export type AccessResult =
  /**
   * `expiresAt` (ms): the credentials end then (a JWT's `exp`): the connection is closed.
   * Enhanced authentication: `authData` for the CONNACK (or the AUTH that ends a
   * re-authentication), `username` the user the client proved to be.
   */
  | { readonly ok: true; readonly access: ClientAccess; readonly expiresAt?: number; readonly authData?: Buffer; readonly username?: string }
  | { readonly ok: false; readonly rc: number; readonly reason: string }
  /** Enhanced authentication goes on: `data` goes to the client in AUTH 0x18, its answer to `next`. */
  | { readonly ok: 'continue'; readonly data: Buffer; next(data: Buffer): Promise<AccessResult> };

/** Who may connect, publish and subscribe (auth/ implements it). */
export interface AccessPort {
  /** At CONNECT, before the session is opened: bans, flapping, authentication. */
  connect(req: AccessRequest): Promise<AccessResult>;
  /** MQTT 5 re-authentication (AUTH 0x19) of a connected client: the chain only. */
  reauthenticate(req: AccessRequest & { readonly authMethod: string }): Promise<AccessResult>;
}

/** Incoming QoS 2: the packet identifier's state. */
export type AwaitRel = 'new' | 'dup' | 'full';

/** The session of a connected client, as its channel sees it. */
export interface SessionPort {
  readonly clientId: string;
  /**
   * The v5 reason code for the SUBACK (granted QoS or an error), what to do once the SUBACK is
   * out (send the retained messages), and, in a cluster, when the SUBACK may go: once every
   * member knows the new route, so a publish anywhere after the SUBACK reaches this subscriber.
   */
  subscribe(filter: string, opts: SubOptions): { readonly rc: number; readonly afterAck?: () => void; readonly ready?: Promise<void> };
  /** False when there was no such subscription. */
  unsubscribe(filter: string): boolean;
  /** Outgoing QoS 1 acknowledged. False: unknown packet identifier. */
  puback(packetId: number): boolean;
  /** Outgoing QoS 2, first step. False: unknown packet identifier. */
  pubrec(packetId: number): boolean;
  pubcomp(packetId: number): boolean;
  /** Incoming QoS 2 PUBLISH: remember its packet identifier until PUBREL. */
  awaitRel(packetId: number): AwaitRel;
  /** Incoming PUBREL. False: unknown packet identifier. */
  release(packetId: number): boolean;
  /** The connection can take more: send what waits. */
  writable(): void;
  /** Once a second while connected: resends past mqtt.retry_interval. */
  tick(now: number): void;
  /**
   * The connection is gone. `normal`: the client sent DISCONNECT (no will, unless v5 asked for
   * it with 0x04); the session then lives on for its expiry interval, or ends.
   */
  detach(how: { readonly will: boolean; readonly sessionExpiryMs?: number; readonly reason: string }): void;
}
