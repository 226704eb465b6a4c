// Resolution: from the syntax tree to plain values. The document is flattened into an ordered
// list of definitions ("set path P to this value"); the value at a path is the fold of every
// definition that touches it, in order. A substitution that refers to the field being defined
// (or a parent or child of it) looks only at the definitions before it ("self-reference", e.g.
// `path = ${path}":/x"`); any other substitution sees the final value.
import { HoconError } from './errors.js';
import type { FieldNode, ObjectNode, Origin, SubstNode, ValueNode } from './ast.js';
import { NumberValue, ObjectValue, SpaceValue, kindOf, mergeValues, nest } from './values.js';
import type { Value } from './values.js';

interface Definition {
  readonly index: number;
  readonly path: readonly string[];
  /** undefined: an object literal `{ ... }`, whose fields follow as their own definitions. */
  readonly node: ValueNode | undefined;
  readonly append: boolean;
  readonly origin: Origin;
}

class PathTrie {
  readonly here: Definition[] = [];
  readonly children = new Map<string, PathTrie>();
  private subtreeCache: Definition[] | undefined;

  child(key: string, create: boolean): PathTrie | undefined {
    let node = this.children.get(key);
    if (node === undefined && create) {
      node = new PathTrie();
      this.children.set(key, node);
    }
    return node;
  }

  /** Definitions at this node and below, in document order. */
  subtree(): Definition[] {
    if (this.subtreeCache === undefined) {
      const all = [...this.here];
      for (const c of this.children.values()) all.push(...c.subtree());
      all.sort((a, b) => a.index - b.index);
      this.subtreeCache = all;
    }
    return this.subtreeCache;
  }
}

const WIPE = Symbol('wipe');

export type Env = Record<string, string | undefined>;

interface Frame {
  readonly path: readonly string[];
}

export class Resolver {
  private readonly defs: Definition[] = [];
  private readonly trie = new PathTrie();
  private readonly valueMemo = new Map<string, Value | undefined>();
  private readonly defMemo = new Map<number, Value | undefined>();
  private readonly active = new Map<string, Frame>();
  private readonly activeDefs = new Set<number>();
  private readonly chain: string[] = [];

  constructor(root: ObjectNode, private readonly env: Env) {
    this.flatten(root.fields, []);
  }

  private flatten(fields: readonly FieldNode[], prefix: readonly string[]): void {
    for (const f of fields) {
      const path = [...prefix, ...f.path];
      if (!f.append && f.value.k === 'object') {
        this.add(path, undefined, false, f.origin);
        this.flatten(f.value.fields, path);
      } else {
        this.add(path, f.value, f.append, f.origin);
      }
    }
  }

  private add(path: readonly string[], node: ValueNode | undefined, append: boolean, origin: Origin): void {
    const def: Definition = { index: this.defs.length, path, node, append, origin };
    this.defs.push(def);
    let t = this.trie;
    for (const key of path) t = t.child(key, true) as PathTrie;
    t.here.push(def);
  }

  /** The whole resolved document. */
  resolveRoot(): ObjectValue {
    const v = this.valueAt([], Infinity, undefined);
    return v instanceof ObjectValue ? v : new ObjectValue(new Map());
  }

  /** Where the value at `path` was last set (the key of its last definition). */
  originOf(path: readonly string[]): Origin | undefined {
    let t: PathTrie | undefined = this.trie;
    let nearestPrefix: Definition | undefined;
    for (const key of path) {
      const last = t.here[t.here.length - 1];
      if (last !== undefined) nearestPrefix = last;
      t = t.child(key, false);
      if (t === undefined) return nearestPrefix?.origin;
    }
    const below = t.subtree();
    return (below[below.length - 1] ?? nearestPrefix)?.origin;
  }

  /** Definitions that can affect the value at `path`: on its ancestors, itself, descendants. */
  private relevant(path: readonly string[]): Definition[] {
    const out: Definition[] = [];
    let t: PathTrie | undefined = this.trie;
    for (const key of path) {
      out.push(...t.here);
      t = t.child(key, false);
      if (t === undefined) break;
    }
    if (t !== undefined) out.push(...t.subtree());
    out.sort((a, b) => a.index - b.index);
    return out;
  }

  /** The value at `path` considering only definitions with index < `before`. */
  private valueAt(path: readonly string[], before: number, at: Origin | undefined): Value | undefined {
    const key = `${before}|${path.join('\u0000')}`;
    if (this.valueMemo.has(key)) return this.valueMemo.get(key);
    if (this.active.has(key)) this.cycle(path, at);
    this.active.set(key, { path });
    this.chain.push(path.join('.'));
    try {
      const v = this.fold(path, before);
      this.valueMemo.set(key, v);
      return v;
    } finally {
      this.active.delete(key);
      this.chain.pop();
    }
  }

  private cycle(path: readonly string[], at: Origin | undefined): never {
    const shown = path.join('.');
    const start = this.chain.indexOf(shown);
    const loop = [...this.chain.slice(start < 0 ? 0 : start), shown].join(' -> ');
    throw new HoconError('hocon_substitution', at ?? { file: '<unknown>', line: 0, column: 0 },
      `substitution cycle: \${${shown}} depends on itself (${loop})`);
  }

  private fold(path: readonly string[], before: number): Value | undefined {
    const defs = this.relevant(path).filter((d) => d.index < before);
    const contributions: (Value | typeof WIPE)[] = [];
    const shadowed: (readonly string[])[] = [];
    // Walk backwards so a definition that replaces everything earlier stops the walk: earlier
    // (overridden) values are never resolved, as in the reference implementation.
    for (let i = defs.length - 1; i >= 0; i -= 1) {
      const d = defs[i] as Definition;
      if (d.path.length > path.length) {
        if (shadowed.some((s) => isPrefix(s, d.path))) continue;
        const v = this.definitionValue(d);
        if (v === undefined) continue;
        if (!(v instanceof ObjectValue)) shadowed.push(d.path);
        contributions.push(nest(d.path.slice(path.length), v));
        continue;
      }
      const v = this.definitionValue(d);
      if (v === undefined) continue;
      let node: Value | typeof WIPE | undefined = v;
      for (let j = d.path.length; j < path.length; j += 1) {
        if (!(node instanceof ObjectValue)) {
          node = WIPE;
          break;
        }
        node = node.fields.get(path[j] as string);
        if (node === undefined) break;
      }
      if (node === undefined) continue;
      contributions.push(node);
      if (!(node instanceof ObjectValue)) break;
    }
    let state: Value | undefined;
    for (let i = contributions.length - 1; i >= 0; i -= 1) {
      const c = contributions[i] as Value | typeof WIPE;
      state = c === WIPE ? undefined : mergeValues(state, c);
    }
    return state;
  }

  private definitionValue(d: Definition): Value | undefined {
    if (this.defMemo.has(d.index)) return this.defMemo.get(d.index);
    if (this.activeDefs.has(d.index)) {
      throw new HoconError('hocon_substitution', d.origin, `substitution cycle: the value of ${d.path.join('.')} depends on itself`);
    }
    this.activeDefs.add(d.index);
    try {
      let v: Value | undefined;
      if (d.node === undefined) {
        v = new ObjectValue(new Map());
      } else if (d.append) {
        // `a += x` is `a = ${?a} [x]`.
        const item = this.resolve(d.node, d);
        const prev = this.valueAt(d.path, d.index, d.origin);
        if (item === undefined) v = prev;
        else if (prev === undefined) v = [item];
        else if (Array.isArray(prev)) v = [...prev, item];
        else throw new HoconError('hocon_substitution', d.origin, `'+=' appends to an array, but ${d.path.join('.')} is ${kindOf(prev)}`);
      } else {
        v = this.resolve(d.node, d);
      }
      this.defMemo.set(d.index, v);
      return v;
    } finally {
      this.activeDefs.delete(d.index);
    }
  }

  /** Resolves a standalone value node (no definition context: no self-reference). */
  resolveValue(node: ValueNode): Value | undefined {
    return this.resolve(node, undefined);
  }

  private resolve(node: ValueNode, def: Definition | undefined): Value | undefined {
    const v = this.resolvePart(node, def);
    if (v instanceof SpaceValue) return v.text;
    return v;
  }

  private resolvePart(node: ValueNode, def: Definition | undefined): Value | SpaceValue | undefined {
    switch (node.k) {
      case 'scalar':
        return typeof node.v === 'number' ? new NumberValue(node.v, node.text) : node.v;
      case 'space':
        return new SpaceValue(node.text);
      case 'subst':
        return this.lookup(node, def);
      case 'array': {
        const out: Value[] = [];
        for (const item of node.items) {
          const v = this.resolve(item, def);
          if (v !== undefined) out.push(v);
        }
        return out;
      }
      case 'object': {
        let state: Value = new ObjectValue(new Map());
        for (const f of node.fields) {
          let v = this.resolve(f.value, def);
          if (v === undefined) continue;
          if (f.append) {
            const prev = getIn(state, f.path);
            if (prev === undefined) v = [v];
            else if (Array.isArray(prev)) v = [...prev, v];
            else throw new HoconError('hocon_substitution', f.origin, `'+=' appends to an array, but ${f.path.join('.')} is ${kindOf(prev)}`);
          }
          state = mergeValues(state, nest(f.path, v));
        }
        return state;
      }
      case 'concat':
        return this.concat(node.parts, def, node.origin);
    }
  }

  private concat(parts: readonly ValueNode[], def: Definition | undefined, at: Origin): Value | SpaceValue | undefined {
    let acc: Value | SpaceValue | undefined;
    for (const part of parts) {
      const v = this.resolvePart(part, def);
      if (v === undefined) continue;
      acc = acc === undefined ? v : join(acc, v, part.origin ?? at);
    }
    return acc;
  }

  private lookup(node: SubstNode, def: Definition | undefined): Value | undefined {
    const tryPath = (path: readonly string[]): Value | undefined => {
      const self = def !== undefined && (isPrefix(path, def.path) || isPrefix(def.path, path));
      return this.valueAt(path, self ? (def as Definition).index : Infinity, node.origin);
    };
    let v = tryPath(node.path);
    const own = node.path.slice(node.prefixLen);
    // In an included file, `${x}` first means x next to the include, then x at the root.
    if (v === undefined && node.prefixLen > 0) v = tryPath(own);
    if (v === undefined && own.length === 1) v = this.env[own[0] as string];
    if (v === undefined && !node.optional) {
      const shown = own.join('.');
      const envHint = own.length === 1 ? ` and no environment variable ${own[0]} is set` : '';
      throw new HoconError('hocon_substitution', node.origin,
        `undefined substitution \${${shown}}: expected the key ${shown} to be defined${envHint} (write \${?${shown}} if it may be absent)`);
    }
    return v;
  }
}

function isPrefix(prefix: readonly string[], path: readonly string[]): boolean {
  if (prefix.length > path.length) return false;
  for (let i = 0; i < prefix.length; i += 1) if (prefix[i] !== path[i]) return false;
  return true;
}

function getIn(v: Value, path: readonly string[]): Value | undefined {
  let node: Value | undefined = v;
  for (const key of path) {
    if (!(node instanceof ObjectValue)) return undefined;
    node = node.fields.get(key);
  }
  return node;
}

function textOf(v: Value | SpaceValue): string | undefined {
  if (v instanceof SpaceValue) return v.text;
  if (v instanceof NumberValue) return v.text;
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return v;
  return undefined;
}

function join(left: Value | SpaceValue, right: Value | SpaceValue, at: Origin): Value | SpaceValue {
  const structL = left instanceof ObjectValue || Array.isArray(left);
  const structR = right instanceof ObjectValue || Array.isArray(right);
  if (structL && right instanceof SpaceValue) return left;
  if (structR && left instanceof SpaceValue) return right;
  if (left instanceof ObjectValue && right instanceof ObjectValue) return mergeValues(left, right);
  if (Array.isArray(left) && Array.isArray(right)) return [...left, ...right];
  const l = textOf(left);
  const r = textOf(right);
  if (l === undefined || r === undefined) {
    throw new HoconError('hocon_syntax', at, `cannot concatenate ${kindOf(left)} with ${kindOf(right)}: expected only strings, only arrays or only objects in one value`);
  }
  return l + r;
}
