// What the reference implementation settles while parsing, before any substitution is resolved:
// which fields of an object literal survive later duplicates, whether a value still holds a
// substitution, and which concatenations are really one object, array or string.
import type { ConcatNode, FieldNode, ObjectNode, ValueNode } from './ast.js';
import { isPrefix } from './paths.js';

/** Whether a substitution is left once the value is parsed (fields replaced inside an object literal do not count). */
export function containsSubst(node: ValueNode): boolean {
  switch (node.k) {
    case 'subst': return true;
    case 'scalar': case 'space': return false;
    case 'array': return node.items.some(containsSubst);
    case 'concat': {
      const merged = asMergedObject(node);
      return merged === undefined ? node.parts.some(containsSubst) : containsSubst(merged);
    }
    case 'object': {
      const live = liveFields(node);
      return node.fields.some((f, i) => live[i] === true && (f.append || containsSubst(f.value)));
    }
  }
}

/** A concatenation of object literals as one literal, or undefined when it is something else. */
export function asMergedObject(node: ConcatNode): ObjectNode | undefined {
  if (!node.parts.every((p) => p.k === 'object' || p.k === 'space')) return undefined;
  const fields: FieldNode[] = [];
  for (const p of node.parts) if (p.k === 'object') fields.push(...p.fields);
  return { k: 'object', fields, origin: node.origin };
}

/**
 * Which fields of an object literal count: a field that a later plain value replaces (or an
 * array or scalar that a later plain object replaces) is dropped unresolved, as the reference
 * implementation does when it merges duplicate keys while parsing.
 */
export function liveFields(node: ObjectNode): boolean[] {
  const hard: (readonly string[])[] = [];
  const live: boolean[] = new Array<boolean>(node.fields.length).fill(true);
  for (let i = node.fields.length - 1; i >= 0; i -= 1) {
    const f = node.fields[i] as FieldNode;
    if (hard.some((h) => isPrefix(h, f.path))) {
      live[i] = false;
      continue;
    }
    const isObj = f.value.k === 'object' || (f.value.k === 'concat' && asMergedObject(f.value) !== undefined);
    if (!f.append && isListOrScalarNode(f.value)) {
      const next = node.fields.slice(i + 1).find((g) => isPrefix(f.path, g.path));
      const nextIsObj = next !== undefined && !next.append && (next.path.length > f.path.length || next.value.k === 'object');
      if (next !== undefined && nextIsObj && !containsSubst(next.value)) {
        live[i] = false;
        hard.push(f.path);
        continue;
      }
    }
    if (!f.append && !isObj && !containsSubst(f.value)) hard.push(f.path);
  }
  return live;
}

/** Arrays, scalars and their concatenations, which the reference joins while parsing. */
export function isListOrScalarNode(node: ValueNode): boolean {
  if (node.k === 'array' || node.k === 'scalar') return true;
  if (node.k !== 'concat') return false;
  return node.parts.every((p) => p.k === 'array' || p.k === 'space') || node.parts.every((p) => p.k === 'scalar' || p.k === 'space');
}
