// The contract between the link layer (dist/) and the layers above (cluster/, db/).
// dist/ knows nothing of membership: it keeps authenticated links to the peers it is told about.
import type { EventEmitter } from 'node:events';
import type { DistReconfig } from './options.js';

/** Why a link could not be made or was refused; stable codes shown to operators. */
export type LinkRefusal =
  | 'authentication_failed'
  | 'tls_handshake_failed'
  | 'name_mismatch'
  | 'protocol_mismatch'
  | 'unreachable'
  | 'timeout'
  /** The peer belongs to another cluster (cluster.name differs). */
  | 'cluster_mismatch';

export class LinkError extends Error {
  constructor(
    readonly code: LinkRefusal,
    readonly node: string,
    message: string,
    /** The refusal's cause alone (`peer certificate rejected: unknown CA`), for operators. */
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'LinkError';
  }
}

export interface LinkInfo {
  readonly node: string;
  /** Peer address as `ip:port` ([ip]:port for IPv6). */
  readonly address: string;
  readonly transport: 'tcp' | 'tcp6' | 'tls' | 'tls6';
  /** When the link came up (ms since epoch). */
  readonly since: number;
  /** When anything was last heard from the peer (ms since epoch). */
  readonly lastSeen: number;
  /** Which side dialed. */
  readonly direction: 'in' | 'out';
}

export type NodeDownReason =
  | 'connection_closed'
  | 'heartbeat_timeout'
  | 'disconnect'
  | 'stopped'
  | 'protocol_error'
  | 'overload';

/** Handler for messages on a named channel. For `call`, the resolved value is the reply. */
export type ChannelHandler = (from: string, payload: unknown) => unknown | Promise<unknown>;

export interface DistEvents {
  nodeup: [node: string, info: LinkInfo];
  nodedown: [node: string, reason: NodeDownReason];
  /** A dial or an incoming handshake was refused (both sides log it). */
  refused: [node: string | undefined, reason: LinkRefusal, detail: string];
}

/**
 * Links to peers. Payloads are any value `v8.serialize` can carry (objects, arrays, Buffers,
 * Maps, bigint...), so the codec is binary-safe.
 */
export interface Dist extends EventEmitter<DistEvents> {
  readonly self: string;
  /** Starts listening on the port derived from the node name. Rejects with `port <N> is in use`. */
  start(): Promise<void>;
  /** Closes every link and the listener. */
  stop(): Promise<void>;
  /**
   * Links to `node` now (if not linked) and resolves when the link is up.
   * Rejects with a LinkError naming the refusal reason.
   */
  connect(node: string, opts?: { timeoutMs?: number }): Promise<void>;
  /** Drops the link to `node` (and stops reconnecting to it unless it is still a peer). */
  disconnect(node: string): void;
  /** Nodes the link layer keeps links to, reconnecting with backoff and jitter. */
  setPeers(nodes: Iterable<string>): void;
  isUp(node: string): boolean;
  /** Dials to `node` that failed since its link was last up (0 while it is, or before the first try ends). */
  failedDials?(node: string): number;
  /** Nodes with a link up now. */
  nodes(): string[];
  linkInfo(node: string): LinkInfo | undefined;
  /** Fire-and-forget; false when there is no link (or its queue is full). */
  send(node: string, channel: string, payload: unknown): boolean;
  /** Request/response; rejects on timeout, nodedown, or the remote handler's error. */
  call(node: string, channel: string, payload: unknown, timeoutMs?: number): Promise<unknown>;
  /** send() to every linked node. */
  broadcast(channel: string, payload: unknown): void;
  /** One handler per channel. */
  handle(channel: string, handler: ChannelHandler): void;
  /**
   * Hot reload. Cookie, cluster name and ticktime apply to links made from now on (links up stay
   * up). New transport (proto_dist, base port) or TLS options: the listener is replaced and the
   * links closed, which the peers set re-dials with the new settings. Rejects, with the previous
   * settings back in force, when the new listener cannot be opened.
   */
  reconfigure?(next: DistReconfig): Promise<{ relistened: boolean; relinked: boolean }>;
  /** Per linked node, how many send() calls were refused because its output queue was full. */
  droppedSends?(): Record<string, number>;
  /** Event-loop turns spent polling for call replies instead of sleeping (see busy-poll.ts). */
  busyPollTurns?(): number;
  /** The silence after which a linked node is declared down (node.dist_net_ticktime), ms. */
  ticktimeMs?(): number;
}
