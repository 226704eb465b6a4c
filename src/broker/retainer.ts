// Retained messages (MQTT 5.0 §3.3.1.3): the last retained message per topic, handed to new
// subscribers; an empty payload deletes. Limits from `retainer.*`: payload size, count, expiry.
// Indexed by topic levels, so a wildcard subscription does not scan every retained topic.
import type { RetainerConfig } from '../config/types.js';
import type { Message } from '../mqtt/port.js';
import { RetainedIndex } from './retained-index.js';

export type StoreOutcome = 'stored' | 'deleted' | 'too_large' | 'full' | 'disabled';

/**
 * Topics removed per write by `clean` and the sweep. `clean` waits for each write before the
 * next: removing 100,000 messages one write each held the event loop for 1.8 s, every client
 * waiting.
 */
const DELETE_BATCH = 1000;

/**
 * Where retained messages are kept beyond this node's memory (the cluster's replicated table):
 * writes are durable on every running member when the promise settles, and changes made by any
 * member come back through the retainer's `applied`/`reloaded`.
 */
export interface RetainedStorage {
  put(topic: string, msg: Message): Promise<void>;
  delete(topic: string): Promise<void>;
  /** Deletes many in one write (`retainer clean`, the expiry sweep). */
  deleteMany(topics: readonly string[]): Promise<void>;
  /** Every stored message (to rebuild the index). */
  all(): Iterable<[topic: string, msg: Message]>;
}

export class Retainer {
  #index = new RetainedIndex<Message>();
  #storage: RetainedStorage | undefined;

  constructor(public config: RetainerConfig) {}

  /**
   * From now on retained messages are kept in `storage`: what it holds is loaded, and what this
   * node held before is written to it unless the storage has that topic already.
   */
  attachStorage(storage: RetainedStorage): void {
    const before = this.#index;
    this.#storage = storage;
    this.reloaded();
    for (const t of before.topics()) if (!this.#index.has(t)) void storage.put(t, before.get(t)!).catch(() => undefined);
  }

  /** The storage changed one topic (a write here or on another member). */
  applied(topic: string, msg: Message | undefined): void {
    if (msg) this.#index.set(topic, msg);
    else this.#index.delete(topic);
  }

  /** The storage was replaced or emptied: the index is rebuilt from it. */
  reloaded(): void {
    const next = new RetainedIndex<Message>();
    for (const [t, m] of this.#storage?.all() ?? []) next.set(t, m);
    this.#index = next;
  }

  /** Writes a change through to the storage; settled when it is durable cluster-wide. */
  #write(topic: string, msg: Message | undefined): Promise<void> | undefined {
    if (!this.#storage) return undefined;
    return (msg ? this.#storage.put(topic, msg) : this.#storage.delete(topic)).catch(() => undefined);
  }

  /** The promise of the last store()'s write to the storage, if there was one. */
  lastWrite: Promise<void> | undefined;

  get size(): number {
    return this.#index.size;
  }

  /** A PUBLISH with RETAIN set. */
  store(msg: Message): StoreOutcome {
    this.lastWrite = undefined;
    if (!this.config.enable) return 'disabled';
    if (msg.payload.length === 0) {
      this.#index.delete(msg.topic);
      this.lastWrite = this.#write(msg.topic, undefined);
      return 'deleted';
    }
    if (msg.payload.length > this.config.max_payload_size) return 'too_large';
    const max = this.config.backend.max_retained_messages;
    if (max > 0 && this.#index.size >= max && !this.#index.has(msg.topic)) return 'full';
    const ttl = this.config.msg_expiry_interval;
    // As EMQX's retainer: a message's own expiry interval wins over `retainer.msg_expiry_interval`.
    const own = msg.props?.messageExpiryInterval !== undefined;
    const expiresAt = ttl > 0 && !own ? Math.min(msg.expiresAt, msg.timestamp + ttl) : msg.expiresAt;
    // Kept without the per-delivery frame cache: a retained message lives long.
    const kept: Message = { ...msg, expiresAt };
    delete kept.frames;
    this.#index.set(msg.topic, kept);
    this.lastWrite = this.#write(msg.topic, kept);
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
    // Only from the index: the member that sweeps removes them from the storage (see sweep()).
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
  async clean(filter?: string): Promise<number> {
    const topics: string[] = [];
    if (filter === undefined) topics.push(...this.#index.topics());
    else this.#index.match(filter, (t) => topics.push(t));
    for (let i = 0; i < topics.length; i += DELETE_BATCH) {
      const batch = topics.slice(i, i + DELETE_BATCH);
      for (const t of batch) this.#index.delete(t);
      await this.#storage?.deleteMany(batch).catch(() => undefined);
    }
    return topics.length;
  }

  /**
   * Removes what has expired, so unread expired messages do not pile up. With `fromStorage` (one
   * member does it for the cluster) they are deleted from the storage too.
   */
  sweep(now = Date.now(), fromStorage = true): number {
    const expired: string[] = [];
    for (const t of this.#index.topics()) if ((this.#index.get(t)?.expiresAt ?? Infinity) <= now) expired.push(t);
    for (const t of expired) this.#index.delete(t);
    if (fromStorage && this.#storage) {
      for (let i = 0; i < expired.length; i += DELETE_BATCH) void this.#storage.deleteMany(expired.slice(i, i + DELETE_BATCH)).catch(() => undefined);
    }
    return expired.length;
  }
}
