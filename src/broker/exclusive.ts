// Exclusive subscriptions (EMQX's `$exclusive/<filter>`, on with `mqtt.exclusive_subscription`):
// one client at a time may hold a filter subscribed that way; another client's attempt is refused
// with 0x97 (quota exceeded) until the holder unsubscribes or its session ends. Plain
// subscriptions to the same filter are not affected. On a node alone the locks are this map; in
// a cluster the router replaces it with the cluster's (router/exclusive-store.ts).

/** Who holds which filter, and the only way to take one. */
export interface ExclusiveLocks {
  /** True when `clientId` now holds `filter` (it already did, or nobody else does). */
  claim(filter: string, clientId: string): Promise<boolean>;
  /** `clientId` no longer holds `filter` (nothing when another client does). */
  release(filter: string, clientId: string): void;
}

/** This node's locks, when it is alone: a holder whose session is gone holds nothing. */
export class LocalExclusive implements ExclusiveLocks {
  readonly #holders = new Map<string, string>();

  constructor(private readonly alive: (clientId: string) => boolean) {}

  claim(filter: string, clientId: string): Promise<boolean> {
    const holder = this.#holders.get(filter);
    if (holder !== undefined && holder !== clientId && this.alive(holder)) return Promise.resolve(false);
    this.#holders.set(filter, clientId);
    return Promise.resolve(true);
  }

  release(filter: string, clientId: string): void {
    if (this.#holders.get(filter) === clientId) this.#holders.delete(filter);
  }
}
