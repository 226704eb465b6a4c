// Resolution: from the syntax tree to plain values. The document is flattened into an ordered
// list of definitions ("set path P to this value"); the value at a path is the fold of every
// definition that touches it, in order, walked backwards so that a value replaced by a later
// plain value is never resolved. Substitutions see the final value of what they name, except
// while a definition that merges with earlier values is computed: then its own path (and its
// parents and children) means only what came before it (`path = ${path}":/x"`). Where the
// specification is silent, the details follow the reference implementation (docs/hocon.md).
import { HoconError } from './errors.js';
import type { FieldNode, ObjectNode, Origin, SubstNode, ValueNode } from './ast.js';
import { appendTo, join } from './concat.js';
import { asMergedObject, containsSubst, isListOrScalarNode, liveFields } from './literals.js';
import { keyOf, overlaps } from './paths.js';
import { NumberValue, ObjectValue, SpaceValue, getIn, mergeOwned, mergeValues, nest } from './values.js';
import type { Value } from './values.js';

interface Definition {
  readonly index: number;
  readonly path: readonly string[];
  /** undefined: an object literal `{ ... }`, whose fields follow as their own definitions. */
  readonly node: ValueNode | undefined;
  readonly append: boolean;
  readonly origin: Origin;
  /**
   * Holds no substitution: a later plain value replaces it without it ever being resolved. For
   * an object literal (node undefined): the whole literal holds none.
   */
  readonly plain: boolean;
}

/** Thrown when a value is needed while it is being computed; the innermost substitution turns it into an error (or into "undefined" for `${?x}`). */
class CycleSignal {
  constructor(readonly path: string, readonly origin: Origin) {}
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

/** Bounds the recursion of resolution well below what the JavaScript stack allows. */
const MAX_DEPTH = 400;

export type Env = Record<string, string | undefined>;

export class Resolver {
  private readonly defs: Definition[] = [];
  private readonly trie = new PathTrie();
  private readonly valueMemo = new Map<string, Value | undefined>();
  private readonly defMemo = new Map<string, Value | undefined>();
  /** valueAt computations in progress, with the substitution that asked for them. */
  private readonly active = new Map<string, Origin>();
  private readonly activeDefs = new Set<string>();
  private pendingOrigin: Origin | undefined;
  /**
   * Look-back bounds in force: while the value of a definition that merges with earlier values
   * is computed, every lookup of its path (or a parent or child), however indirect, sees only
   * the definitions before it. This is how `path = ${path}":/x"` and `a = ${b}, b = ${a}x`
   * with an earlier `a` resolve, as in the reference implementation.
   */
  private readonly bounds: { readonly path: readonly string[]; readonly index: number }[] = [];
  private depth = 0;
  /** Substitutions being resolved, outermost first (for cycle messages). */
  private readonly lookups: string[] = [];

  constructor(root: ObjectNode, private readonly env: Env) {
    this.flatten(root.fields, []);
  }

  private flatten(fields: readonly FieldNode[], prefix: readonly string[]): void {
    for (const f of fields) {
      const path = [...prefix, ...f.path];
      // `a.b.c = x` is `a { b { c = x } }`: a and a.b become objects even if x is undefined.
      const literalPlain = !f.append && !containsSubst(f.value);
      for (let i = prefix.length + 1; i < path.length; i += 1) this.add(path.slice(0, i), undefined, false, f.origin, literalPlain);
      if (!f.append && f.value.k === 'object') {
        this.add(path, undefined, false, f.origin, literalPlain);
        this.flatten(f.value.fields, path);
      } else if (!f.append && f.value.k === 'concat' && f.value.parts.every((p) => p.k === 'object' || p.k === 'space')) {
        // `a = {x: 1} {y: ${a.x}}` merges like two definitions of a (as the reference does at
        // parse time), so ${a.x} needs only a.x, not the whole concatenation.
        this.add(path, undefined, false, f.origin, literalPlain);
        for (const part of f.value.parts) if (part.k === 'object') this.flatten(part.fields, path);
      } else {
        this.add(path, f.value, f.append, f.origin);
      }
    }
  }

  private add(path: readonly string[], node: ValueNode | undefined, append: boolean, origin: Origin, literalPlain = true): void {
    const plain = node === undefined ? literalPlain : !append && !containsSubst(node);
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

  /**
   * Where the value at `path` was last set: the key of the last definition of the path or of
   * something below it, unless a later definition of a parent replaced the parent as a whole
   * (`node = ${other}`). Object literals of parents (`node { ... }`) do not count as setting it.
   */
  originOf(path: readonly string[]): Origin | undefined {
    let t: PathTrie | undefined = this.trie;
    let parent: Definition | undefined;
    for (const key of path) {
      for (const d of t.here) if (d.node !== undefined && (parent === undefined || d.index > parent.index)) parent = d;
      t = t.child(key, false);
      if (t === undefined) break;
    }
    const below = t?.subtree();
    const own = below === undefined ? undefined : below[below.length - 1];
    if (own === undefined) return parent?.origin;
    if (parent === undefined) return own.origin;
    return (parent.index > own.index ? parent : own).origin;
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
  private valueAt(path: readonly string[], requested: number): Value | undefined {
    let before = requested;
    for (const b of this.bounds) if (b.index < before && overlaps(b.path, path)) before = b.index;
    const key = `${before}|${this.signature()}|${path.length}|${path.join('\u0000')}`;
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
    // Paths (below `path`) that a later definition replaced, keyed for lookup by prefix.
    const shadows = new Map<string, Definition>();
    const shadowsOver = (p: readonly string[]): Definition[] => {
      const out: Definition[] = [];
      for (let n = path.length + 1; n <= p.length; n += 1) {
        const by = shadows.get(keyOf(p, n));
        if (by !== undefined) out.push(by);
      }
      return out;
    };
    const shadow = (p: readonly string[], by: Definition): void => {
      // A plain replacement matters most: it ends all resolution below it.
      const k = keyOf(p, p.length);
      if (!shadows.has(k) || by.plain) shadows.set(k, by);
    };
    // Walk backwards so a definition that replaces everything earlier ends the walk: a plain
    // value replaces earlier ones without resolving them. A replacing value that needed
    // resolving does not end it: the earlier ones are still resolved for their errors, as the
    // reference implementation does, but contribute nothing.
    let replacedBy: Definition | undefined;
    for (let i = defs.length - 1; i >= 0; i -= 1) {
      const d = defs[i] as Definition;
      if (d.path.length > path.length) {
        const over = shadowsOver(d.path);
        if (over.some((by) => by.plain)) continue;
        if (this.droppedByObject(d)) {
          shadow(d.path, PLAIN_MARK);
          // Its value does not matter, only that the object replaced a non-object.
          if (replacedBy === undefined && over.length === 0) contributions.push(nest(d.path.slice(path.length), null));
          continue;
        }
        const by = replacedBy ?? over[0];
        if (by !== undefined) {
          this.checkReplaced(d, by, elementStart(defs, i, by.path));
          if (d.plain && d.node !== undefined) shadow(d.path, d);
          continue;
        }
        const v = this.definitionValue(d);
        if (v === undefined) continue;
        if (!(v instanceof ObjectValue)) shadow(d.path, d);
        contributions.push(nest(d.path.slice(path.length), v));
        continue;
      }
      if (replacedBy !== undefined) {
        // Only a plain (non-object) value ends the resolution of what it replaces.
        if (d.plain && d.node !== undefined && d.node.k !== 'object') break;
        this.checkReplaced(d, replacedBy, elementStart(defs, i, replacedBy.path));
        continue;
      }
      if (this.droppedByObject(d)) {
        contributions.push(d.path.length === path.length ? null : WIPE);
        break;
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
    const owned = new Set<ObjectValue>();
    for (let i = contributions.length - 1; i >= 0; i -= 1) {
      const c = contributions[i] as Value | typeof WIPE;
      state = c === WIPE ? undefined : mergeOwned(state, c, owned);
    }
    return state;
  }

  private signature(): string {
    return this.bounds.map((b) => b.index).join(',');
  }

  /**
   * An array or scalar followed (at its path) by an object literal without substitutions is
   * dropped unresolved, together with everything before it there: the reference's "ignores
   * fallbacks". An object with substitutions keeps them for resolution instead.
   */
  private droppedByObject(d: Definition): boolean {
    if (!isListOrScalar(d)) return false;
    let t: PathTrie | undefined = this.trie;
    for (const key of d.path) {
      t = t.child(key, false);
      if (t === undefined) return false;
    }
    const below = t.subtree();
    // An unresolved value merged over an earlier one becomes a delayed merge, which is kept.
    if (!d.plain && below.some((e) => e.index < d.index)) return false;
    const next = below.find((e) => e.index > d.index);
    return next !== undefined && next.node === undefined && next.path.length === d.path.length && next.plain;
  }

  private definitionValue(d: Definition): Value | undefined {
    if (d.node === undefined) return new ObjectValue(new Map());
    const key = `${d.index}|${this.signature()}`;
    if (this.defMemo.has(key)) return this.defMemo.get(key);
    if (this.activeDefs.has(key)) throw new CycleSignal(d.path.join('.'), d.origin);
    this.depth += 1;
    if (this.depth > MAX_DEPTH) {
      throw new HoconError('hocon_substitution', d.origin, `substitutions nested too deeply: more than ${MAX_DEPTH} substitutions depend on one another here`);
    }
    this.activeDefs.add(key);
    let pushed = false;
    try {
      // Only a substitution or concatenation merges with what came before (as `${?a} [x]` does for `a += x`).
      const merging = !d.plain && (d.append || d.node.k === 'subst' || d.node.k === 'concat');
      if (merging && this.valueAt(d.path, d.index) !== undefined) {
        this.bounds.push({ path: d.path, index: d.index });
        pushed = true;
      }
      let v: Value | undefined;
      if (d.append) {
        // `a += x` is `a = ${?a} [x]`.
        const item = this.resolve(d.node);
        v = appendTo(this.valueAt(d.path, d.index), item, d);
      } else {
        v = this.resolve(d.node);
      }
      this.defMemo.set(key, v);
      return v;
    } finally {
      if (pushed) this.bounds.pop();
      this.activeDefs.delete(key);
      this.depth -= 1;
    }
  }

  /** Resolves a standalone value node (no definition context: no self-reference). */
  resolveValue(node: ValueNode): Value | undefined {
    return this.guard(() => this.resolve(node));
  }

  /**
   * Resolves a definition that a later one replaced, only for its errors (the reference reports
   * them). Inside it, the replaced path means only what was defined before `from`: the start of
   * the value this definition belongs to (see elementStart).
   */
  private checkReplaced(d: Definition, by: Definition, from: number): void {
    if (d.node === undefined) return;
    this.bounds.push({ path: by.path, index: from });
    try {
      this.resolve(d.node);
    } finally {
      this.bounds.pop();
    }
  }

  private resolve(node: ValueNode): Value | undefined {
    const v = this.resolvePart(node);
    if (v instanceof SpaceValue) return v.text;
    return v;
  }

  private resolvePart(node: ValueNode): Value | SpaceValue | undefined {
    switch (node.k) {
      case 'scalar':
        return typeof node.v === 'number' ? new NumberValue(node.v, node.text) : node.v;
      case 'space':
        return new SpaceValue(node.text);
      case 'subst':
        return this.lookup(node);
      case 'array': {
        // Substitutions nested in arrays and objects never look back (`a = [${a}]` is a cycle).
        const out: Value[] = [];
        for (const item of node.items) {
          const v = this.resolve(item);
          if (v !== undefined) out.push(v);
        }
        return out;
      }
      case 'object':
        return this.objectLiteral(node);
      case 'concat': {
        // `{a: 1} {b: 2}` is one object, merged field by field as the reference does while parsing.
        const merged = asMergedObject(node);
        return merged === undefined ? this.concat(node.parts) : this.objectLiteral(merged);
      }
    }
  }

  /**
   * An object written inside an array or a concatenation. A field that a later plain value
   * replaces is skipped without being resolved, as for top-level definitions.
   */
  private objectLiteral(node: ObjectNode): ObjectValue {
    const live = liveFields(node);
    let state: Value = new ObjectValue(new Map());
    node.fields.forEach((f, i) => {
      if (!live[i]) return;
      let v = this.resolve(f.value);
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

  private concat(parts: readonly ValueNode[]): Value | SpaceValue | undefined {
    let acc: Value | SpaceValue | undefined;
    // Whitespace next to a literal object or array is not part of the value (`[1] [2]`).
    const isStruct = (n: ValueNode | undefined): boolean => n !== undefined && (n.k === 'object' || n.k === 'array');
    const kept = parts.filter((p, i) => p.k !== 'space' || !(isStruct(parts[i - 1]) || isStruct(parts[i + 1])));
    for (const part of kept) {
      const v = this.resolvePart(part);
      if (v === undefined) continue;
      acc = acc === undefined ? v : join(acc, v, part.origin);
    }
    return acc;
  }

  private lookup(node: SubstNode): Value | undefined {
    const shown = `\${${node.optional ? '?' : ''}${node.path.slice(node.prefixLen).join('.')}}`;
    this.lookups.push(shown);
    try {
      return this.lookupOrCycle(node);
    } catch (err) {
      if (!(err instanceof CycleSignal)) throw err;
      // As in the reference implementation, an optional substitution caught in a cycle is undefined.
      if (node.optional) return undefined;
      throw new HoconError('hocon_substitution', node.origin, `substitution cycle: ${shown} depends on itself (${this.lookups.join(' -> ')} -> ${err.path})`);
    } finally {
      this.lookups.pop();
    }
  }

  private lookupOrCycle(node: SubstNode): Value | undefined {
    const tryPath = (path: readonly string[]): Value | undefined => {
      this.pendingOrigin = node.origin;
      return this.valueAt(path, Infinity);
    };
    let v = tryPath(node.path);
    const own = node.path.slice(node.prefixLen);
    // In an included file, `${x}` first means x next to the include, then x at the root.
    if (v === undefined && node.prefixLen > 0) v = tryPath(own);
    // The specification: an environment variable set to the empty string counts as not set.
    if (v === undefined && own.length === 1) {
      const fromEnv = this.env[own[0] as string];
      if (fromEnv !== undefined && fromEnv !== '') v = fromEnv;
    }
    if (v === undefined && !node.optional) {
      const shown = own.join('.');
      const envHint = own.length === 1 ? ` and no environment variable ${own[0]} is set` : '';
      throw new HoconError('hocon_substitution', node.origin,
        `undefined substitution \${${shown}}: expected the key ${shown} to be defined${envHint} (write \${?${shown}} if it may be absent)`);
    }
    return v;
  }
}

/**
 * Where the value that defs[i] contributes to at `at` starts. Consecutive definitions of an
 * object at `at` (object literals and keys below it) form one value, as the reference merges
 * them while parsing; any other definition at `at` is a value of its own.
 */
function elementStart(defs: readonly Definition[], i: number, at: readonly string[]): number {
  const objectish = (e: Definition): boolean => e.node === undefined || e.path.length > at.length;
  const d = defs[i] as Definition;
  if (!objectish(d)) return d.index;
  let j = i;
  while (j > 0 && objectish(defs[j - 1] as Definition)) j -= 1;
  return (defs[j] as Definition).index;
}

const PLAIN_MARK = { plain: true } as Definition;

/** An array or a scalar: neither an object nor something to resolve first (substitution, concatenation). */
function isListOrScalar(d: Definition): boolean {
  return !d.append && d.node !== undefined && isListOrScalarNode(d.node);
}

