// What createDist needs; the daemon builds it from Config (node.*, cluster.*, ssl_dist.conf).
import type { Logger } from 'pino';
import type { DistTlsOptions, ProtoDist } from '../config/types.js';

export interface DistOptions {
  /** This node's name, `name@host`. */
  readonly self: string;
  /** Secret shared by the cluster; never sent, only proven (HMAC). */
  readonly cookie: string;
  /** Part of the authenticated handshake: a peer of another cluster is refused. */
  readonly clusterName: string;
  readonly protoDist: ProtoDist;
  /** Required for inet_tls / inet6_tls. */
  readonly tls?: DistTlsOptions;
  readonly basePort: number;
  /** A peer silent for this long is declared down (heartbeat_timeout). */
  readonly netTicktimeMs: number;
  readonly logger: Logger;
  /** On link up, exchange peer sets and link to the ones we lack (default true). */
  readonly meshGossip?: boolean;
  /** Whole-handshake deadline, TLS included (default 5000 ms). */
  readonly handshakeTimeoutMs?: number;
  /** Largest frame accepted after authentication (default 64 MiB). */
  readonly maxFrameBytes?: number;
  /** Per-link output queue bound; beyond it send() returns false and call() rejects (default 64 MiB). */
  readonly maxQueueBytes?: number;
  /** Reconnect backoff: first delay and cap (defaults 100 ms and 3000 ms). */
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
  /** Default call() timeout (default 15000 ms). */
  readonly callTimeoutMs?: number;
  /**
   * How long a call keeps the event loop polling for its reply instead of sleeping, on links
   * where that measures faster (default BUSY_POLL_US; 0: never). See busy-poll.ts.
   */
  readonly busyPollUs?: number;
  /**
   * Refused incoming connections logged one by one, at most `lines` per `windowMs`; the rest are
   * counted in one line a window (default 10 per 10 s). Anyone reaching the port can cause them.
   */
  readonly inboundRefusalLog?: { readonly lines: number; readonly windowMs: number };
}

/** The busy-poll window of `node.dist_busy_poll = true`: a loopback or same-rack round trip. */
export const BUSY_POLL_US = 250;

/** busyPollUs for the `node.dist_busy_poll` setting. */
export const busyPollUsFor = (enabled: boolean): number => (enabled ? BUSY_POLL_US : 0);

/** What a reload may change on a running link layer (see Dist.reconfigure). */
export type DistReconfig = Pick<DistOptions, 'cookie' | 'clusterName' | 'protoDist' | 'tls' | 'basePort' | 'netTicktimeMs' | 'busyPollUs'>;

export interface ResolvedDistOptions extends Required<Omit<DistOptions, 'tls'>> {
  readonly tls?: DistTlsOptions;
}

export const PRE_AUTH_MAX_FRAME = 512;

export function resolveOptions(o: DistOptions): ResolvedDistOptions {
  return {
    meshGossip: true,
    handshakeTimeoutMs: 5000,
    maxFrameBytes: 64 * 1024 * 1024,
    maxQueueBytes: 64 * 1024 * 1024,
    reconnectMinMs: 100,
    reconnectMaxMs: 3000,
    callTimeoutMs: 15_000,
    busyPollUs: BUSY_POLL_US,
    inboundRefusalLog: { lines: 10, windowMs: 10_000 },
    ...stripUndefined(o),
  } as ResolvedDistOptions;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
