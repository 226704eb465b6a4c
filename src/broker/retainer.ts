// Retained messages (MQTT 5.0 §3.3.1.3): the last retained message per topic, handed to new
// subscribers; an empty payload deletes. Limits from `retainer.*`: payload size, count, expiry.
// Indexed by topic levels, so a wildcard subscription does not scan every retained topic.
import type { RetainerConfig } from '../config/types.js';
import type { Message } from '../mqtt/port.js';
import { RetainedIndex } from './retained-index.js';

export type StoreOutcome = 'stored' | 'deleted' | 'too_large' | 'full' | 'disabled';

export class Retainer {
  readonly #index = new RetainedIndex<Message>();

  constructor(public config: RetainerConfig) {}

  get size(): number {
    return this.#index.size;
  }

  /** A PUBLISH with RETAIN set. */
  store(msg: Message): StoreOutcome {
    if (!this.config.enable) return 'disabled';
    if (msg.payload.length === 0) {
      this.#index.delete(msg.topic);
      return 'deleted';
    }
    if (msg.payload.length > this.config.max_payload_size) return 'too_large';
    const max = this.config.backend.max_retained_messages;
    if (max > 0 && this.#index.size >= max && !this.#index.has(msg.topic)) return 'full';
    const ttl = this.config.msg_expiry_interval;
    const expiresAt = ttl > 0 ? Math.min(msg.expiresAt, msg.timestamp + ttl) : msg.expiresAt;
    // Kept without the per-delivery frame cache: a retained message lives long.
    const kept: Message = { ...msg, expiresAt };
    delete kept.frames;
    this.#index.set(msg.topic, kept);
    return 'stored';
  }

  /** The live retained messages matching `filter`; expired ones found on the way are removed. */
  match(filter: string, now = Date.now()): Message[] {
    const out: Message[] = [];
    const expired: string[] = [];
    this.#index.match(filter, (topic, m) => {
      if (m.expiresAt <= now) expired.push(topic);
      else out.push(m);
    });
    for (const t of expired) this.#index.delete(t);
    return out;
  }

  get(topic: string): Message | undefined {
    return this.#index.get(topic);
  }

  topics(): IterableIterator<string> {
    return this.#index.topics();
  }

  /** `retainer clean [Topic filter]`: how many were removed. */
  clean(filter?: string): number {
    if (filter === undefined) {
      const n = this.#index.size;
      this.#index.clear();
      return n;
    }
    const topics: string[] = [];
    this.#index.match(filter, (t) => topics.push(t));
    for (const t of topics) this.#index.delete(t);
    return topics.length;
  }

  /** Removes what has expired; run now and then so unread expired messages do not pile up. */
  sweep(now = Date.now()): number {
    const expired: string[] = [];
    for (const t of this.#index.topics()) if ((this.#index.get(t)?.expiresAt ?? Infinity) <= now) expired.push(t);
    for (const t of expired) this.#index.delete(t);
    return expired.length;
  }
}
