// Filter -> subscribers, answering "who wants this topic?" for every PUBLISH. Most filters in real
// deployments are exact topics, so they sit in one Map and a publish to a topic costs one lookup;
// only wildcard filters go into a trie of levels, walked once per publish along the levels that
// can match. The same structure serves the node's subscribers (id = client) and, later, the
// cluster's route table (id = node).
import { isWildcard } from '../mqtt/topic.js';

/** One level of the wildcard trie. Monomorphic on purpose: every node has every field. */
class TrieNode<V> {
  /**
   * Literal next levels (including the empty level of `a//b`). Below the level where filters
   * branch most nodes have a single child, so that one is held inline and a Map is made only for a
   * second: a third of the allocations of a trie of 100k filters, and a string compare instead of
   * a hash lookup on the walk.
   */
  onlyLevel: string | undefined = undefined;
  only: TrieNode<V> | undefined = undefined;
  /** Two or more literal children (then `only` is unset). */
  children: Map<string, TrieNode<V>> | undefined = undefined;
  /** The `+` next level. */
  plus: TrieNode<V> | undefined = undefined;
  /** The `#` next level: always a leaf. */
  hash: TrieNode<V> | undefined = undefined;
  /** The filter ending at this node, when one does (set together with subs). */
  filter: string | undefined = undefined;
  subs: Map<string, V> | undefined = undefined;

  constructor(
    readonly parent: TrieNode<V> | undefined,
    /** This node's level under its parent: a literal, '+' or '#'. */
    readonly level: string,
  ) {}

  child(level: string): TrieNode<V> | undefined {
    if (this.only !== undefined) return this.onlyLevel === level ? this.only : undefined;
    return this.children === undefined ? undefined : this.children.get(level);
  }

  addChild(level: string): TrieNode<V> {
    const found = this.child(level);
    if (found !== undefined) return found;
    const node = new TrieNode<V>(this, level);
    if (this.children !== undefined) this.children.set(level, node);
    else if (this.only === undefined) {
      this.only = node;
      this.onlyLevel = level;
    } else {
      this.children = new Map([
        [this.onlyLevel!, this.only],
        [level, node],
      ]);
      this.only = undefined;
      this.onlyLevel = undefined;
    }
    return node;
  }

  removeChild(level: string): void {
    if (this.only !== undefined) {
      if (this.onlyLevel === level) {
        this.only = undefined;
        this.onlyLevel = undefined;
      }
      return;
    }
    const c = this.children;
    if (c === undefined || !c.delete(level) || c.size > 1) return;
    for (const [k, v] of c) {
      this.onlyLevel = k;
      this.only = v;
    }
    this.children = undefined;
  }

  isEmpty(): boolean {
    return this.subs === undefined && this.plus === undefined && this.hash === undefined && this.only === undefined && this.children === undefined;
  }

  clear(): void {
    this.onlyLevel = undefined;
    this.only = undefined;
    this.children = undefined;
    this.plus = undefined;
    this.hash = undefined;
  }
}

export type MatchVisitor<V> = (filter: string, subscribers: ReadonlyMap<string, V>) => void;

/**
 * Filters must be valid plain filters (see topic.ts); a shared subscription is indexed under its
 * inner filter, with the group carried in the id or the value.
 */
export class SubscriptionIndex<V> {
  private readonly exact = new Map<string, Map<string, V>>();
  /** Wildcard filter -> its trie node, so add/remove/get never walk the trie to find it. */
  private readonly wild = new Map<string, TrieNode<V>>();
  private readonly root = new TrieNode<V>(undefined, '');
  private pairs = 0;

  /** Adds (filter, id); true when the pair is new, false when it existed (its value is replaced). */
  add(filter: string, id: string, value: V): boolean {
    let subs: Map<string, V> | undefined;
    if (!isWildcard(filter)) {
      subs = this.exact.get(filter);
      if (subs === undefined) this.exact.set(filter, (subs = new Map()));
    } else {
      let node = this.wild.get(filter);
      if (node === undefined) {
        node = this.insertPath(filter);
        node.filter = filter;
        node.subs = new Map();
        this.wild.set(filter, node);
      }
      subs = node.subs!;
    }
    const isNew = !subs.has(id);
    subs.set(id, value);
    if (isNew) this.pairs++;
    return isNew;
  }

  /** Removes (filter, id); true when it was there. A filter with no subscriber left is dropped. */
  remove(filter: string, id: string): boolean {
    if (!isWildcard(filter)) {
      const subs = this.exact.get(filter);
      if (subs === undefined || !subs.delete(id)) return false;
      if (subs.size === 0) this.exact.delete(filter);
      this.pairs--;
      return true;
    }
    const node = this.wild.get(filter);
    if (node === undefined || !node.subs!.delete(id)) return false;
    this.pairs--;
    if (node.subs!.size === 0) {
      node.subs = undefined;
      node.filter = undefined;
      this.wild.delete(filter);
      this.prune(node);
    }
    return true;
  }

  get(filter: string, id: string): V | undefined {
    return this.subscribers(filter)?.get(id);
  }

  subscribers(filter: string): ReadonlyMap<string, V> | undefined {
    return this.exact.get(filter) ?? this.wild.get(filter)?.subs;
  }

  /**
   * Visits every stored filter matching `topic` (a valid topic name), each once, in no particular
   * order. With no wildcard filter stored this is one Map lookup; otherwise the topic is split once
   * (unless no wildcard filter can match its first level) and the trie walked along the literal,
   * '+' and '#' branches that fit it, so the cost follows the number of matching paths, not the
   * number of filters. The visitor must not change the index.
   */
  match(topic: string, visit: MatchVisitor<V>): void {
    const subs = this.exact.get(topic);
    if (subs !== undefined) visit(topic, subs);
    if (this.wild.size === 0) return;
    const root = this.root;
    // The `$` rule: '+' and '#' as the first level do not match `$SYS/...` and the like.
    const open = topic.charCodeAt(0) !== DOLLAR;
    if (open && root.hash?.subs !== undefined) visit(root.hash.filter!, root.hash.subs);
    const plus = open ? root.plus : undefined;
    const child = root.child(firstLevel(topic));
    // A topic outside every wildcard filter's first level is common (and cheap to see): no split.
    if (plus === undefined && child === undefined) return;
    const levels = topic.split('/');
    if (plus !== undefined) walk(plus, levels, 1, visit);
    if (child !== undefined) walk(child, levels, 1, visit);
  }

  /** Whether any stored filter matches `topic`; stops at the first. */
  hasMatch(topic: string): boolean {
    if (this.exact.has(topic)) return true;
    if (this.wild.size === 0) return false;
    const root = this.root;
    const open = topic.charCodeAt(0) !== DOLLAR;
    if (open && root.hash?.subs !== undefined) return true;
    const plus = open ? root.plus : undefined;
    const child = root.child(firstLevel(topic));
    if (plus === undefined && child === undefined) return false;
    const levels = topic.split('/');
    return (plus !== undefined && any(plus, levels, 1)) || (child !== undefined && any(child, levels, 1));
  }

  /** Number of distinct filters. */
  get filterCount(): number {
    return this.exact.size + this.wild.size;
  }

  /** Number of (filter, id) pairs. */
  get size(): number {
    return this.pairs;
  }

  *filters(): IterableIterator<string> {
    yield* this.exact.keys();
    yield* this.wild.keys();
  }

  clear(): void {
    this.exact.clear();
    this.wild.clear();
    this.root.clear();
    this.pairs = 0;
  }

  private insertPath(filter: string): TrieNode<V> {
    let node = this.root;
    for (const level of filter.split('/')) {
      let next: TrieNode<V> | undefined;
      if (level === '+') {
        next = node.plus ??= new TrieNode(node, level);
      } else if (level === '#') {
        next = node.hash ??= new TrieNode(node, level);
      } else {
        next = node.addChild(level);
      }
      node = next;
    }
    return node;
  }

  /** Unlinks empty nodes from `node` up, so a removed filter leaves no trail. */
  private prune(node: TrieNode<V>): void {
    let n: TrieNode<V> = node;
    while (n.parent !== undefined && n.isEmpty()) {
      const p = n.parent;
      if (n.level === '+') p.plus = undefined;
      else if (n.level === '#') p.hash = undefined;
      else p.removeChild(n.level);
      n = p;
    }
  }
}

const DOLLAR = 0x24;

function firstLevel(topic: string): string {
  const slash = topic.indexOf('/');
  return slash < 0 ? topic : topic.slice(0, slash);
}

/** `node` has matched levels[0..i-1]. */
function walk<V>(node: TrieNode<V>, levels: readonly string[], i: number, visit: MatchVisitor<V>): void {
  // `prefix/#` matches the prefix itself and everything below it.
  if (node.hash?.subs !== undefined) visit(node.hash.filter!, node.hash.subs);
  if (i === levels.length) {
    if (node.subs !== undefined) visit(node.filter!, node.subs);
    return;
  }
  const child = node.child(levels[i]!);
  if (child !== undefined) walk(child, levels, i + 1, visit);
  if (node.plus !== undefined) walk(node.plus, levels, i + 1, visit);
}

function any<V>(node: TrieNode<V>, levels: readonly string[], i: number): boolean {
  if (node.hash?.subs !== undefined) return true;
  if (i === levels.length) return node.subs !== undefined;
  const child = node.child(levels[i]!);
  if (child !== undefined && any(child, levels, i + 1)) return true;
  return node.plus !== undefined && any(node.plus, levels, i + 1);
}
