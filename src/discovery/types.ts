// The one interface every discovery strategy implements (SPEC §9). A strategy only answers
// "which nodes might be out there"; the autocluster loop decides what to do with the answer.
import type { DiscoveryStrategy as StrategyName } from '../config/types.js';

export type { StrategyName };

export interface DiscoveryStrategy {
  readonly name: StrategyName;
  /**
   * Node names that might be out there (may include this node). Rejects with a DiscoveryError
   * when the backend (DNS server, etcd, API server) cannot be asked.
   */
  discover(signal?: AbortSignal): Promise<string[]>;
  /** Announce this node (etcd: put the node key under a kept-alive lease). Idempotent. */
  register?(): Promise<void>;
  /** Withdraw this node's announcement. Idempotent. */
  unregister?(): Promise<void>;
  /** Run `fn` while holding a cluster-wide lock, so two clusters never form at once (etcd). */
  lock?<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Releases every resource (connections, leases, timers). */
  close(): Promise<void>;
}

/** A backend could not be asked, or answered nonsense; `strategy` and `detail` say which and why. */
export class DiscoveryError extends Error {
  readonly code = 'discovery_failed';
  constructor(
    readonly strategy: StrategyName,
    readonly detail: string,
  ) {
    super(`${strategy} discovery failed: ${detail}`);
    this.name = 'DiscoveryError';
  }
}

/** The logging surface strategies need; a pino Logger satisfies it. */
export interface DiscoveryLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** The name part of a node name: discovered hosts are named `<my name part>@<host>`. */
export function namePart(node: string): string {
  const at = node.indexOf('@');
  return at < 0 ? node : node.slice(0, at);
}
