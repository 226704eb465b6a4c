// Filter -> subscribers, answering "who wants this topic?" for every PUBLISH. Most filters in real
// deployments are exact topics, so they sit in one Map and a publish to a topic costs one lookup;
// only wildcard filters go into a trie of levels, walked once per publish along the levels that
// can match. The same structure serves the node's subscribers (id = client) and, later, the
// cluster's route table (id = node).
import { isWildcard } from './topic.js';

/** One level of the wildcard trie. Monomorphic on purpose: every node has every field. */
class TrieNode<V> {
  /** Literal next levels (including the empty level of `a//b`). */
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

  isEmpty(): boolean {
    return this.subs === undefined && this.plus === undefined && this.hash === undefined && (this.children === undefined || this.children.size === 0);
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
   * and the trie walked along the literal, '+' and '#' branches that fit it, so the cost follows
   * the number of matching paths, not the number of filters. The visitor must not change the index.
   */
  match(topic: string, visit: MatchVisitor<V>): void {
    const subs = this.exact.get(topic);
    if (subs !== undefined) visit(topic, subs);
    if (this.wild.size === 0) return;
    const levels = topic.split('/');
    const root = this.root;
    // The `$` rule: '+' and '#' as the first level do not match `$SYS/...` and the like.
    if (levels[0]!.charCodeAt(0) !== 0x24) {
      if (root.hash?.subs !== undefined) visit(root.hash.filter!, root.hash.subs);
      if (root.plus !== undefined) walk(root.plus, levels, 1, visit);
    }
    const child = root.children?.get(levels[0]!);
    if (child !== undefined) walk(child, levels, 1, visit);
  }

  /** Whether any stored filter matches `topic`; stops at the first. */
  hasMatch(topic: string): boolean {
    if (this.exact.has(topic)) return true;
    if (this.wild.size === 0) return false;
    const levels = topic.split('/');
    const root = this.root;
    if (levels[0]!.charCodeAt(0) !== 0x24) {
      if (root.hash?.subs !== undefined) return true;
      if (root.plus !== undefined && any(root.plus, levels, 1)) return true;
    }
    const child = root.children?.get(levels[0]!);
    return child !== undefined && any(child, levels, 1);
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
    const r = this.root;
    r.children = undefined;
    r.plus = undefined;
    r.hash = undefined;
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
        const children = (node.children ??= new Map());
        next = children.get(level);
        if (next === undefined) children.set(level, (next = new TrieNode(node, level)));
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
      else {
        p.children!.delete(n.level);
        if (p.children!.size === 0) p.children = undefined;
      }
      n = p;
    }
  }
}

/** `node` has matched levels[0..i-1]. */
function walk<V>(node: TrieNode<V>, levels: readonly string[], i: number, visit: MatchVisitor<V>): void {
  // `prefix/#` matches the prefix itself and everything below it.
  if (node.hash?.subs !== undefined) visit(node.hash.filter!, node.hash.subs);
  if (i === levels.length) {
    if (node.subs !== undefined) visit(node.filter!, node.subs);
    return;
  }
  if (node.children !== undefined) {
    const child = node.children.get(levels[i]!);
    if (child !== undefined) walk(child, levels, i + 1, visit);
  }
  if (node.plus !== undefined) walk(node.plus, levels, i + 1, visit);
}

function any<V>(node: TrieNode<V>, levels: readonly string[], i: number): boolean {
  if (node.hash?.subs !== undefined) return true;
  if (i === levels.length) return node.subs !== undefined;
  if (node.children !== undefined) {
    const child = node.children.get(levels[i]!);
    if (child !== undefined && any(child, levels, i + 1)) return true;
  }
  return node.plus !== undefined && any(node.plus, levels, i + 1);
}
