// A session's queue of deliveries waiting for the client (offline, window full, socket backed
// up). Bounded: when full, the oldest delivery is dropped (as EMQX's mqueue does), so a slow or
// absent subscriber holds at most `max` deliveries. A ring buffer: push and shift are O(1).
// Each entry has a sequence number (the count of pushes before it), so the API can page through
// a queue that moves meanwhile (GET /clients/:id/mqueue_messages); nothing more is kept per
// entry, and nothing is added to push(), which a slow subscriber's every message goes through.
import type { Delivery } from '../mqtt/port.js';

const NONE: Array<Delivery | undefined> = [];

/** One queued (or in-flight) delivery as the API lists it. */
export interface QueuedEntry {
  readonly d: Delivery;
  /** Its place among every delivery ever queued (or sent) here: increases by one per push (send). */
  readonly seq: number;
  /**
   * ms since epoch: for a queued one, when its message was published (a delivery is queued as
   * the message is routed); for one in flight, when it was last sent.
   */
  readonly at: number;
}

export class MQueue {
  #items: Array<Delivery | undefined>;
  #head = 0;
  #size = 0;
  /** Deliveries ever pushed: the sequence number of the next one. */
  #pushed = 0;
  /** Deliveries dropped because the queue was full, since the session began. */
  dropped = 0;

  /** `max` 0 or Infinity: no limit (EMQX's meaning of max_mqueue_len = 0). */
  constructor(private readonly max: number) {
    // Most sessions never queue anything: storage comes with the first delivery.
    this.#items = NONE;
  }

  get length(): number {
    return this.#size;
  }

  get limit(): number {
    return this.max === 0 ? Number.POSITIVE_INFINITY : this.max;
  }

  /** Adds at the tail; returns the delivery dropped to make room, if one was. */
  push(d: Delivery): Delivery | undefined {
    let dropped: Delivery | undefined;
    if (this.#size >= this.limit) {
      dropped = this.shift();
      this.dropped++;
    }
    if (this.#size === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#size) % this.#items.length] = d;
    this.#size++;
    this.#pushed++;
    return dropped;
  }

  peek(): Delivery | undefined {
    return this.#size === 0 ? undefined : this.#items[this.#head];
  }

  shift(): Delivery | undefined {
    if (this.#size === 0) return undefined;
    const d = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#items.length;
    this.#size--;
    if (this.#size === 0) this.#head = 0;
    return d;
  }

  clear(): void {
    this.#items = NONE;
    this.#head = 0;
    this.#size = 0;
  }

  *[Symbol.iterator](): IterableIterator<Delivery> {
    for (let i = 0; i < this.#size; i++) yield this.#items[(this.#head + i) % this.#items.length]!;
  }

  /**
   * Up to `limit` entries queued after sequence number `after` (-1: from the oldest), oldest
   * first; `start` is the oldest entry's sequence number (undefined when empty).
   */
  page(after: number, limit: number): { readonly entries: QueuedEntry[]; readonly start: number | undefined } {
    const first = this.#pushed - this.#size;
    const entries: QueuedEntry[] = [];
    for (let i = Math.max(0, after + 1 - first); i < this.#size && entries.length < limit; i++) {
      const d = this.#items[(this.#head + i) % this.#items.length]!;
      entries.push({ d, seq: first + i, at: d.msg.timestamp });
    }
    return { entries, start: this.#size > 0 ? first : undefined };
  }

  #grow(): void {
    const next = new Array<Delivery | undefined>(Math.min(Math.max(16, this.#items.length * 2), Math.max(this.limit, this.#items.length + 1)));
    for (let i = 0; i < this.#size; i++) next[i] = this.#items[(this.#head + i) % this.#items.length];
    this.#items = next;
    this.#head = 0;
  }
}
