// Delayed publish (EMQX's emqx_delayed, `delayed.*`): a PUBLISH to `$delayed/<Interval>/<Topic>`
// is kept and published to <Topic> when its time comes. In a cluster the messages live in the
// replicated table, written on every running member before the publisher is acknowledged (EMQX
// keeps them on the receiving node's disk only); the node that took a message publishes it, and
// a survivor takes over the messages of a node that is no longer a member (`router/delayed-store`).
import type { DelayedConfig } from '../config/types.js';
import type { Log } from '../base/log.js';
import type { Message } from '../mqtt/port.js';
import { parseDelayedTopic } from './delayed-topic.js';
import { newMessageId } from './message-id.js';

/** One delayed message, as stored and listed. */
export interface DelayedRow {
  /** 32 hex digits (EMQX's message id); unique in the cluster. */
  readonly id: string;
  /** The node that took it, and publishes it while it is a member. */
  readonly node: string;
  /** When it is published (ms since epoch). */
  readonly dueAt: number;
  /** The delay asked for, in seconds. */
  readonly interval: number;
  /** The message to publish: the topic after the delay; its timestamp when it was received. */
  readonly msg: Message;
  readonly username?: string;
}

/** Where delayed messages are kept beyond this node's memory (the cluster's replicated table). */
export interface DelayedStorage {
  /** Settles once the row is durable on every running member. */
  put(row: DelayedRow): Promise<void>;
  delete(id: string): Promise<void>;
  all(): Iterable<DelayedRow>;
}

export type DelayOutcome =
  | { readonly kind: 'stored'; readonly row: DelayedRow; readonly write?: Promise<void> }
  | { readonly kind: 'invalid'; readonly why: string }
  | { readonly kind: 'full' };

export interface DelayedOptions {
  readonly node: string;
  readonly log: Log;
  config: DelayedConfig;
  /** Publishes a message whose time has come (the broker's publish). */
  publish(msg: Message): void;
  /** EMQX does not publish the delayed messages of a client banned meanwhile. */
  isBanned?(clientId: string): boolean;
  now?(): number;
}

/** Published per timer turn at most, so thousands due at once do not stall the event loop. */
const BATCH = 1000;
/** While publishing is held (routes not known yet), how often it is tried again. */
const HOLD_RETRY_MS = 100;
/** setTimeout's longest delay is ~24.8 days; a later message is looked at again after this. */
const MAX_TIMER_MS = 3_600_000;

export class DelayedPublisher {
  readonly #o: DelayedOptions;
  readonly #rows = new Map<string, DelayedRow>();
  /** Due times of the rows, soonest first; entries of rows gone or changed are skipped. */
  #heap = new DueHeap();
  #storage: DelayedStorage | undefined;
  /** Which rows this node publishes (every row, until the cluster says otherwise). */
  #mine: (row: DelayedRow) => boolean = () => true;
  /** Whether a publish now would reach the cluster's subscribers (not before the routes are known). */
  #mayPublish: () => boolean = () => true;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #stopped = false;
  /**
   * Rows removed here whose removal the storage has not settled yet: the storage's late report of
   * their earlier write must not bring them back (and publish them twice).
   */
  readonly #removing = new Set<string>();

  constructor(o: DelayedOptions) {
    this.#o = o;
  }

  get config(): DelayedConfig {
    return this.#o.config;
  }

  set config(c: DelayedConfig) {
    this.#o.config = c;
  }

  #now(): number {
    return this.#o.now ? this.#o.now() : Date.now();
  }

  /** Every delayed message in the cluster's table (or this node's, unclustered). */
  get size(): number {
    return this.#rows.size;
  }

  /** The messages this node is to publish (EMQX's `delayed.count` is per node). */
  get count(): number {
    let n = 0;
    for (const r of this.#rows.values()) if (this.#mine(r)) n++;
    return n;
  }

  /** A PUBLISH to `$delayed/...` (delayed.enable is checked by the caller). */
  take(msg: Message, username: string | undefined, maxLevels: number): DelayOutcome {
    const now = this.#now();
    const parsed = parseDelayedTopic(msg.topic, now, maxLevels);
    if (!parsed.ok) return { kind: 'invalid', why: parsed.why };
    const max = this.#o.config.max_delayed_messages;
    if (max > 0 && this.#rows.size >= max) return { kind: 'full' };
    const kept: Message = { ...msg, topic: parsed.topic };
    delete kept.frames;
    const row: DelayedRow = { id: newMessageId(now), node: this.#o.node, dueAt: parsed.dueAt, interval: parsed.interval, msg: kept, ...(username !== undefined ? { username } : {}) };
    this.#add(row);
    // A write that fails here (a full disk) leaves the message in memory, published on time by
    // this node unless it restarts first; the publisher is acknowledged, as for retained messages.
    const write = this.#storage?.put(row).catch((err: unknown) => {
      this.#o.log.warn({ msgid: row.id, topic: kept.topic, err: String(err) }, 'delayed message not written to the cluster table');
    });
    return write ? { kind: 'stored', row, write } : { kind: 'stored', row };
  }

  /**
   * From now on the rows are kept in `storage` and this node publishes those `mine` says, once
   * `mayPublish` says a publish would reach the cluster (a node that starts has messages that fell
   * due while it was down: they wait for the other members' routes). What the storage holds is
   * loaded, and what this node held before is written to it.
   */
  attachStorage(storage: DelayedStorage, mine: (row: DelayedRow) => boolean, mayPublish: () => boolean = () => true): void {
    const before = [...this.#rows.values()];
    this.#storage = storage;
    this.#mine = mine;
    this.#mayPublish = mayPublish;
    this.reloaded();
    for (const r of before) {
      if (this.#rows.has(r.id)) continue;
      this.#add(r);
      void storage.put(r).catch(() => undefined);
    }
  }

  /** The storage changed one row (a write here or on another member). */
  applied(id: string, row: DelayedRow | undefined): void {
    if (row && !this.#removing.has(id)) this.#add(row);
    else this.#rows.delete(id);
  }

  /**
   * The storage was replaced by a cluster's copy (a join): the messages this node took, acknowledged
   * to their publishers, are written to it again, so a join loses none of them.
   */
  rejoined(): void {
    const own = [...this.#rows.values()].filter((r) => r.node === this.#o.node);
    this.reloaded();
    for (const r of own) {
      if (this.#rows.has(r.id)) continue;
      this.#add(r);
      void this.#storage?.put(r).catch((err: unknown) => this.#o.log.warn({ msgid: r.id, err: String(err) }, 'delayed message not written to the cluster table after the join'));
    }
  }

  /** The storage was replaced or emptied: everything is read again. */
  reloaded(): void {
    this.#rows.clear();
    for (const r of this.#storage?.all() ?? []) this.#rows.set(r.id, r);
    this.responsibilityChanged();
  }

  /** Which rows are this node's may have changed (a member left): the schedule is rebuilt. */
  responsibilityChanged(): void {
    this.#heap = new DueHeap();
    for (const r of this.#rows.values()) this.#heap.push(r.dueAt, r.id);
    this.#disarm();
    this.#arm();
  }

  #add(row: DelayedRow): void {
    const old = this.#rows.get(row.id);
    this.#rows.set(row.id, row);
    if (old && old.dueAt === row.dueAt) return;
    this.#heap.push(row.dueAt, row.id);
    if (row.dueAt < this.#timerAt) {
      this.#disarm();
      this.#arm();
    }
  }

  #disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  #arm(): void {
    const next = this.#heap.peek();
    if (next) this.#wakeAt(next.dueAt, Math.min(MAX_TIMER_MS, Math.max(0, next.dueAt - this.#now())));
  }

  /** One timer: publishDue after `ms` (for the message due at `at`), unless one is set already. */
  #wakeAt(at: number, ms: number): void {
    if (this.#stopped || this.#timer) return;
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Number.POSITIVE_INFINITY;
      this.publishDue();
    }, ms);
    this.#timer.unref();
  }

  /** Publishes what is due and is this node's; returns how many went out. */
  publishDue(): number {
    const now = this.#now();
    let n = 0;
    if (!this.#mayPublish()) {
      // Not yet allowed to publish (the routes are not here): looked at again shortly.
      this.#wakeAt(Number.NEGATIVE_INFINITY, HOLD_RETRY_MS);
      return 0;
    }
    while (n < BATCH) {
      const e = this.#heap.peek();
      if (!e || e.dueAt > now) break;
      this.#heap.pop();
      const row = this.#rows.get(e.id);
      // Gone, rescheduled, or another node's to publish (its own node, or the one that took over).
      if (!row || row.dueAt !== e.dueAt || !this.#mine(row)) continue;
      n++;
      if (row.msg.from !== '' && this.#o.isBanned?.(row.msg.from)) {
        this.#o.log.info({ clientid: row.msg.from, topic: row.msg.topic }, 'delayed message not published: its publisher is banned');
      } else {
        this.#o.publish(outgoing(row, now));
      }
      // Removed once published: a crash between the two publishes it again (at least once).
      void this.#remove(row.id).catch(() => undefined);
    }
    this.#arm();
    return n;
  }

  /** Soonest first (the order EMQX's table lists them in). */
  list(): DelayedRow[] {
    return [...this.#rows.values()].sort((a, b) => a.dueAt - b.dueAt || (a.id < b.id ? -1 : 1));
  }

  get(id: string): DelayedRow | undefined {
    return this.#rows.get(id);
  }

  /** False when there is no such message. */
  async delete(id: string): Promise<boolean> {
    if (!this.#rows.has(id)) return false;
    await this.#remove(id);
    return true;
  }

  /** Deletes every delayed message to `topic`; how many there were. */
  async deleteTopic(topic: string): Promise<number> {
    const ids = [...this.#rows.values()].filter((r) => r.msg.topic === topic).map((r) => r.id);
    await Promise.all(ids.map((id) => this.#remove(id)));
    return ids.length;
  }

  #remove(id: string): Promise<void> {
    this.#rows.delete(id);
    const done = this.#storage?.delete(id);
    if (!done) return Promise.resolve();
    this.#removing.add(id);
    const settle = (): void => void this.#removing.delete(id);
    done.then(settle, settle);
    return done;
  }

  stop(): void {
    this.#stopped = true;
    this.#disarm();
  }
}

/**
 * The message as it goes out: received now, as far as its subscribers can tell, so a message
 * expiry interval counts from here (EMQX counts it from the original publish, and a message
 * delayed longer than its expiry interval never arrives).
 */
function outgoing(row: DelayedRow, now: number): Message {
  const m = row.msg;
  const expiresAt = m.expiresAt === Number.POSITIVE_INFINITY ? m.expiresAt : now + Math.max(0, m.expiresAt - m.timestamp);
  return { ...m, timestamp: now, expiresAt };
}

/** A binary min-heap of (due time, id). */
class DueHeap {
  readonly #a: Array<{ dueAt: number; id: string }> = [];

  push(dueAt: number, id: string): void {
    const a = this.#a;
    a.push({ dueAt, id });
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.dueAt <= a[i]!.dueAt) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }

  peek(): { dueAt: number; id: string } | undefined {
    return this.#a[0];
  }

  pop(): void {
    const a = this.#a;
    const last = a.pop();
    if (a.length === 0 || !last) return;
    a[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && a[l]!.dueAt < a[m]!.dueAt) m = l;
      if (r < a.length && a[r]!.dueAt < a[m]!.dueAt) m = r;
      if (m === i) break;
      [a[m], a[i]] = [a[i]!, a[m]!];
      i = m;
    }
  }
}
