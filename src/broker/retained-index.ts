// Topic -> retained message, indexed for the SUBSCRIBE side: a wildcard filter must find its
// retained topics without looking at all of them (EMQX users see wildcard subscribes slow down with
// 100k retained messages, emqx#6014). Topics live in a trie of levels; a flat Map from the topic to
// its trie node keeps exact get/set/delete at one lookup.
//
// Cost of match(filter):
// - no wildcard: one Map lookup;
// - each literal level: one Map lookup in the current node;
// - a `+` level: visits every child of the node it stands at (so `+` high up in a wide tree is
//   the expensive case: `+/x` looks at every first level);
// - `#`: walks the whole subtree below its node, i.e. costs what it returns (plus the inner nodes).
// So the work is bounded by the trie nodes the filter's levels can reach: a literal prefix cuts
// the store down at once, and only a filter of leading `+`s (or `#`) comes close to a scan.
import { isWildcard } from '../mqtt/topic.js';

/** One level of the trie. Monomorphic on purpose: every node has every field. */
class RetainedNode<M> {
  children: Map<string, RetainedNode<M>> | undefined = undefined;
  /** The topic ending here, when a message is retained for it (msg is then meaningful). */
  topic: string | undefined = undefined;
  msg: M | undefined = undefined;

  constructor(
    readonly parent: RetainedNode<M> | undefined,
    readonly level: string,
  ) {}
}

export type RetainedVisitor<M> = (topic: string, msg: M) => void;

const DOLLAR = 0x24;

export class RetainedIndex<M> {
  private readonly byTopic = new Map<string, RetainedNode<M>>();
  private readonly root = new RetainedNode<M>(undefined, '');

  /** Stores (or replaces) the retained message of a topic name. */
  set(topic: string, msg: M): void {
    const found = this.byTopic.get(topic);
    if (found !== undefined) {
      found.msg = msg;
      return;
    }
    let node = this.root;
    for (const level of topic.split('/')) {
      const children: Map<string, RetainedNode<M>> = (node.children ??= new Map());
      let next = children.get(level);
      if (next === undefined) children.set(level, (next = new RetainedNode<M>(node, level)));
      node = next;
    }
    node.topic = topic;
    node.msg = msg;
    this.byTopic.set(topic, node);
  }

  /** Drops a topic's retained message; true when there was one. Empty trie nodes are unlinked. */
  delete(topic: string): boolean {
    const node = this.byTopic.get(topic);
    if (node === undefined) return false;
    this.byTopic.delete(topic);
    node.topic = undefined;
    node.msg = undefined;
    let n = node;
    while (n.parent !== undefined && n.topic === undefined && (n.children === undefined || n.children.size === 0)) {
      const p = n.parent;
      p.children!.delete(n.level);
      if (p.children!.size === 0) p.children = undefined;
      n = p;
    }
    return true;
  }

  get(topic: string): M | undefined {
    return this.byTopic.get(topic)?.msg;
  }

  has(topic: string): boolean {
    return this.byTopic.has(topic);
  }

  get size(): number {
    return this.byTopic.size;
  }

  topics(): IterableIterator<string> {
    return this.byTopic.keys();
  }

  /**
   * Visits every retained topic matched by a valid plain filter, each once, in no particular order.
   * The `$` rule holds: `#` and `+/...` do not return `$SYS/...` and the like. The visitor must not
   * change the index.
   */
  match(filter: string, visit: RetainedVisitor<M>): void {
    if (!isWildcard(filter)) {
      const node = this.byTopic.get(filter);
      if (node !== undefined) visit(filter, node.msg as M);
      return;
    }
    collect(this.root, filter.split('/'), 0, visit);
  }

  clear(): void {
    this.byTopic.clear();
    this.root.children = undefined;
  }
}

/** `node` stands for the topic prefix matched by levels[0..i-1]. */
function collect<M>(node: RetainedNode<M>, levels: readonly string[], i: number, visit: RetainedVisitor<M>): void {
  if (i === levels.length) {
    if (node.topic !== undefined) visit(node.topic, node.msg as M);
    return;
  }
  const level = levels[i]!;
  if (level === '#') {
    // `prefix/#` includes the prefix itself; at the root there is none (a topic is never empty).
    if (node.topic !== undefined) visit(node.topic, node.msg as M);
    if (node.children !== undefined) for (const child of node.children.values()) if (i > 0 || child.level.charCodeAt(0) !== DOLLAR) subtree(child, visit);
    return;
  }
  if (node.children === undefined) return;
  if (level === '+') {
    for (const child of node.children.values()) if (i > 0 || child.level.charCodeAt(0) !== DOLLAR) collect(child, levels, i + 1, visit);
    return;
  }
  const child = node.children.get(level);
  if (child !== undefined) collect(child, levels, i + 1, visit);
}

function subtree<M>(node: RetainedNode<M>, visit: RetainedVisitor<M>): void {
  if (node.topic !== undefined) visit(node.topic, node.msg as M);
  if (node.children !== undefined) for (const child of node.children.values()) subtree(child, visit);
}
