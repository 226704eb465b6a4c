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
  /** Holds no substitution: a later plain value replaces it without it ever being resolved. */
  readonly plain: boolean;
}

/** Thrown when a value is needed while it is being computed; the innermost substitution turns it into an error (or into "undefined" for `${?x}`). */
class CycleSignal {
  constructor(readonly path: string, readonly origin: Origin) {}
}

function containsSubst(node: ValueNode): boolean {
  switch (node.k) {
    case 'subst': return true;
    case 'scalar': case 'space': return false;
    case 'array': return node.items.some(containsSubst);
    case 'concat': return node.parts.some(containsSubst);
    case 'object': return node.fields.some((f) => f.append || containsSubst(f.value));
  }
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

interface Ctx {
  /** The definition whose value this is directly (for self-reference), if any. */
  readonly def?: Definition;
  /** Inside a replaced definition: lookups of `path` and around it stop before `index`. */
  readonly bound?: { readonly path: readonly string[]; readonly index: number };
}

export class Resolver {
  private readonly defs: Definition[] = [];
  private readonly trie = new PathTrie();
  private readonly valueMemo = new Map<string, Value | undefined>();
  private readonly defMemo = new Map<number, Value | undefined>();
  /** valueAt computations in progress, with the substitution that asked for them. */
  private readonly active = new Map<string, Origin>();
  private readonly activeDefs = new Set<number>();
  private pendingOrigin: Origin | undefined;

  constructor(root: ObjectNode, private readonly env: Env) {
    this.flatten(root.fields, []);
  }

  private flatten(fields: readonly FieldNode[], prefix: readonly string[]): void {
    for (const f of fields) {
      const path = [...prefix, ...f.path];
      // `a.b.c = x` is `a { b { c = x } }`: a and a.b become objects even if x is undefined.
      for (let i = prefix.length + 1; i < path.length; i += 1) this.add(path.slice(0, i), undefined, false, f.origin);
      if (!f.append && f.value.k === 'object') {
        this.add(path, undefined, false, f.origin);
        this.flatten(f.value.fields, path);
      } else if (!f.append && f.value.k === 'concat' && f.value.parts.every((p) => p.k === 'object' || p.k === 'space')) {
        // `a = {x: 1} {y: ${a.x}}` merges like two definitions of a (as the reference does at
        // parse time), so ${a.x} needs only a.x, not the whole concatenation.
        this.add(path, undefined, false, f.origin);
        for (const part of f.value.parts) if (part.k === 'object') this.flatten(part.fields, path);
      } else {
        this.add(path, f.value, f.append, f.origin);
      }
    }
  }

  private add(path: readonly string[], node: ValueNode | undefined, append: boolean, origin: Origin): void {
    const plain = node === undefined || (!append && !containsSubst(node));
    const def: Definition = { index: this.defs.length, path, node, append, origin, plain };
    this.defs.push(def);
    let t = this.trie;
    for (const key of path) t = t.child(key, true) as PathTrie;
    t.here.push(def);
  }

  /** The whole resolved document. */
  resolveRoot(): ObjectValue {
    const v = this.guard(() => this.valueAt([], Infinity));
    return v instanceof ObjectValue ? v : new ObjectValue(new Map());
  }

  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof CycleSignal) {
        throw new HoconError('hocon_substitution', err.origin, `substitution cycle: the value of ${err.path} depends on itself`);
      }
      throw err;
    }
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
  private valueAt(path: readonly string[], before: number): Value | undefined {
    const key = `${before}|${path.length}|${path.join('\u0000')}`;
    if (this.valueMemo.has(key)) return this.valueMemo.get(key);
    if (this.active.has(key)) throw new CycleSignal(path.join('.'), this.active.get(key) as Origin);
    this.active.set(key, this.pendingOrigin ?? { file: '<unknown>', line: 1, column: 1 });
    try {
      const v = this.fold(path, before);
      this.valueMemo.set(key, v);
      return v;
    } finally {
      this.active.delete(key);
    }
  }

  private fold(path: readonly string[], before: number): Value | undefined {
    const defs = this.relevant(path).filter((d) => d.index < before);
    const contributions: (Value | typeof WIPE)[] = [];
    const shadows: { path: readonly string[]; by: Definition }[] = [];
    // Walk backwards so a definition that replaces everything earlier ends the walk: a plain
    // value replaces earlier ones without resolving them. A replacing value that needed
    // resolving does not end it: the earlier ones are still resolved for their errors, as the
    // reference implementation does, but contribute nothing.
    let replacedBy: Definition | undefined;
    for (let i = defs.length - 1; i >= 0; i -= 1) {
      const d = defs[i] as Definition;
      if (d.path.length > path.length) {
        const over = shadows.filter((sh) => isPrefix(sh.path, d.path));
        if (over.some((sh) => sh.by.plain)) continue;
        const by = replacedBy ?? over[0]?.by;
        if (by !== undefined) {
          this.checkReplaced(d, by);
          if (d.plain && d.node !== undefined) shadows.push({ path: d.path, by: d });
          continue;
        }
        const v = this.definitionValue(d);
        if (v === undefined) continue;
        if (!(v instanceof ObjectValue)) shadows.push({ path: d.path, by: d });
        contributions.push(nest(d.path.slice(path.length), v));
        continue;
      }
      if (replacedBy !== undefined) {
        // Only a plain (non-object) value ends the resolution of what it replaces.
        if (d.plain && d.node !== undefined && d.node.k !== 'object') break;
        this.checkReplaced(d, replacedBy);
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
      if (!(node instanceof ObjectValue)) {
        if (d.plain) break;
        replacedBy = d;
      }
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
    if (this.activeDefs.has(d.index)) throw new CycleSignal(d.path.join('.'), d.origin);
    this.activeDefs.add(d.index);
    try {
      let v: Value | undefined;
      if (d.node === undefined) {
        v = new ObjectValue(new Map());
      } else if (d.append) {
        // `a += x` is `a = ${?a} [x]`.
        const item = this.resolve(d.node, { def: d });
        v = appendTo(this.valueAt(d.path, d.index), item, d);
      } else {
        v = this.resolve(d.node, { def: d });
      }
      this.defMemo.set(d.index, v);
      return v;
    } finally {
      this.activeDefs.delete(d.index);
    }
  }

  /** Resolves a standalone value node (no definition context: no self-reference). */
  resolveValue(node: ValueNode): Value | undefined {
    return this.guard(() => this.resolve(node, {}));
  }

  /**
   * Resolves a definition that a later one replaced, only for its errors (the reference reports
   * them). Inside it, the replaced path means its value before the replacement.
   */
  private checkReplaced(d: Definition, by: Definition): void {
    if (d.node === undefined) return;
    this.resolve(d.node, { bound: { path: by.path, index: by.index } });
  }

  private resolve(node: ValueNode, ctx: Ctx): Value | undefined {
    const v = this.resolvePart(node, ctx);
    if (v instanceof SpaceValue) return v.text;
    return v;
  }

  private resolvePart(node: ValueNode, ctx: Ctx): Value | SpaceValue | undefined {
    switch (node.k) {
      case 'scalar':
        return typeof node.v === 'number' ? new NumberValue(node.v, node.text) : node.v;
      case 'space':
        return new SpaceValue(node.text);
      case 'subst':
        return this.lookup(node, ctx);
      case 'array': {
        // Substitutions nested in arrays and objects never look back (`a = [${a}]` is a cycle).
        const out: Value[] = [];
        for (const item of node.items) {
          const v = this.resolve(item, { bound: ctx.bound });
          if (v !== undefined) out.push(v);
        }
        return out;
      }
      case 'object':
        return this.objectLiteral(node, { bound: ctx.bound });
      case 'concat':
        return this.concat(node.parts, ctx, node.origin);
    }
  }

  /**
   * An object written inside an array or a concatenation. A field that a later plain value
   * replaces is skipped without being resolved, as for top-level definitions.
   */
  private objectLiteral(node: ObjectNode, ctx: Ctx): ObjectValue {
    const hard: (readonly string[])[] = [];
    const live: boolean[] = new Array<boolean>(node.fields.length).fill(true);
    for (let i = node.fields.length - 1; i >= 0; i -= 1) {
      const f = node.fields[i] as FieldNode;
      if (hard.some((h) => isPrefix(h, f.path))) {
        live[i] = false;
        continue;
      }
      const isObj = f.value.k === 'object' || (f.value.k === 'concat' && f.value.parts.every((p) => p.k === 'object' || p.k === 'space'));
      if (!f.append && !isObj && !containsSubst(f.value)) hard.push(f.path);
    }
    let state: Value = new ObjectValue(new Map());
    node.fields.forEach((f, i) => {
      if (!live[i]) return;
      let v = this.resolve(f.value, ctx);
      if (f.append) v = appendTo(getIn(state, f.path), v, f);
      // A dotted key creates its parent objects even when the value is an undefined `${?x}`.
      if (v === undefined) {
        if (f.path.length > 1) state = mergeValues(state, nest(f.path.slice(0, -1), new ObjectValue(new Map())));
        return;
      }
      state = mergeValues(state, nest(f.path, v));
    });
    return state as ObjectValue;
  }

  private concat(parts: readonly ValueNode[], ctx: Ctx, at: Origin): Value | SpaceValue | undefined {
    let acc: Value | SpaceValue | undefined;
    for (const part of parts) {
      const v = this.resolvePart(part, ctx);
      if (v === undefined) continue;
      acc = acc === undefined ? v : join(acc, v, part.origin ?? at);
    }
    return acc;
  }

  private lookup(node: SubstNode, ctx: Ctx): Value | undefined {
    try {
      return this.lookupOrCycle(node, ctx);
    } catch (err) {
      if (!(err instanceof CycleSignal)) throw err;
      // As in the reference implementation, an optional substitution caught in a cycle is undefined.
      if (node.optional) return undefined;
      const shown = node.path.slice(node.prefixLen).join('.');
      throw new HoconError('hocon_substitution', node.origin, `substitution cycle: \${${shown}} depends on itself (through ${err.path})`);
    }
  }

  private lookupOrCycle(node: SubstNode, ctx: Ctx): Value | undefined {
    const def = ctx.def;
    const bound = ctx.bound;
    const tryPath = (path: readonly string[]): Value | undefined => {
      this.pendingOrigin = node.origin;
      if (bound !== undefined && (isPrefix(path, bound.path) || isPrefix(bound.path, path))) {
        return this.valueAt(path, bound.index);
      }
      // Self-reference: a substitution that is (part of) the value of a field and points at
      // that field, a parent or a child of it, sees the definitions before this one.
      if (def !== undefined && (isPrefix(path, def.path) || isPrefix(def.path, path))) {
        if (this.valueAt(def.path, def.index) !== undefined) return this.valueAt(path, def.index);
      }
      this.pendingOrigin = node.origin;
      return this.valueAt(path, Infinity);
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

/** `a += x` is `a = ${?a} [x]`: an undefined `x` still leaves an (empty) array. */
function appendTo(prev: Value | undefined, item: Value | undefined, at: { path: readonly string[]; origin: Origin }): Value {
  const added = item === undefined ? [] : [item];
  if (prev === undefined) return added;
  if (Array.isArray(prev)) return [...prev, ...added];
  throw new HoconError('hocon_syntax', at.origin, `'+=' appends to an array, but ${at.path.join('.')} is ${kindOf(prev)}`);
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
