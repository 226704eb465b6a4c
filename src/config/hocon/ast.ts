// The parsed, not yet resolved, form of a HOCON document. Substitutions and concatenations stay
// symbolic here; resolver.ts turns them into plain values.
import type { HoconPosition } from './errors.js';

export type Origin = HoconPosition;

export interface ScalarNode {
  readonly k: 'scalar';
  readonly v: string | number | boolean | null;
  /** The text as written: numbers keep it for concatenation (`1.0` stays `1.0`). */
  readonly text: string;
  readonly origin: Origin;
}

/** Unquoted whitespace between two parts of a concatenation (dropped next to objects/arrays). */
export interface SpaceNode {
  readonly k: 'space';
  readonly text: string;
  readonly origin: Origin;
}

export interface SubstNode {
  readonly k: 'subst';
  /** Absolute path (already prefixed when it comes from an included file). */
  readonly path: readonly string[];
  /** How many leading elements of `path` come from the include site (0 outside includes). */
  readonly prefixLen: number;
  readonly optional: boolean;
  readonly origin: Origin;
}

export interface FieldNode {
  readonly path: readonly string[];
  readonly value: ValueNode;
  readonly append: boolean;
  /** Where the key starts. */
  readonly origin: Origin;
}

export interface ObjectNode {
  readonly k: 'object';
  readonly fields: FieldNode[];
  readonly origin: Origin;
}

export interface ArrayNode {
  readonly k: 'array';
  readonly items: ValueNode[];
  readonly origin: Origin;
}

export interface ConcatNode {
  readonly k: 'concat';
  readonly parts: ValueNode[];
  readonly origin: Origin;
}

export type ValueNode = ScalarNode | SpaceNode | SubstNode | ObjectNode | ArrayNode | ConcatNode;
