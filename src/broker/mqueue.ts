// A session's queue of deliveries waiting for the client (offline, window full, socket backed
// up). Bounded: when full, the oldest delivery is dropped (as EMQX's mqueue does), so a slow or
// absent subscriber holds at most `max` deliveries. A ring buffer: push and shift are O(1).
import type { Delivery } from '../mqtt/port.js';

const NONE: Array<Delivery | undefined> = [];

export class MQueue {
  #items: Array<Delivery | undefined>;
  #head = 0;
  #size = 0;
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

  #grow(): void {
    const next = new Array<Delivery | undefined>(Math.min(Math.max(16, this.#items.length * 2), Math.max(this.limit, this.#items.length + 1)));
    for (let i = 0; i < this.#size; i++) next[i] = this.#items[(this.#head + i) % this.#items.length];
    this.#items = next;
    this.#head = 0;
  }
}
