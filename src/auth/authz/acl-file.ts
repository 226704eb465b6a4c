// acl.conf: EMQX's file of authorization rules in Erlang terms, one `{Permission, Who, Action,
// Topics}.` or `{Permission, all}.` per rule, compiled into Rules. Every problem (a syntax
// error, an unknown form, a bad CIDR, regular expression or placeholder) is reported with the
// file, line and column of the term at fault, and the whole file is refused: a half-read ACL
// would silently allow what its missing rules deny. Pure: text in, rules or problems out.
import { erlString, isAtom, isList, isTuple, parseErlangTerms, ErlangTermsError, type ErlangTermsDoc, type ErlTerm } from '../../config/erlang-terms.js';
import { parseCidr, type Cidr } from './cidr.js';
import type { ActionCond, Permission, Rule, RuleTopic, Who } from './rule.js';
import { parseTemplate } from './template.js';
import { ALL_TOPICS, filterPattern } from './topic-match.js';

export interface AclProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export class AclError extends Error {
  readonly code = 'acl_file_invalid';
  constructor(readonly problems: readonly AclProblem[]) {
    super(problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`).join('\n'));
    this.name = 'AclError';
  }
}

class Bad extends Error {
  constructor(
    readonly at: ErlTerm | undefined,
    message: string,
  ) {
    super(message);
  }
}

function text(t: ErlTerm | undefined): string | undefined {
  const s = erlString(t);
  if (s !== undefined) return s;
  if (typeof t === 'object' && t !== null && 'binary' in t && t.bitLength === undefined) return Buffer.from(t.binary).toString('utf8');
  return undefined;
}

/** The elements of a list term (`""` is the empty list too). */
const items = (t: ErlTerm | undefined): readonly ErlTerm[] => (Array.isArray(t) ? (t as readonly ErlTerm[]) : []);

function show(t: ErlTerm | undefined): string {
  if (t === undefined) return 'nothing';
  const s = text(t);
  if (s !== undefined) return JSON.stringify(s);
  if (isAtom(t)) return t.atom;
  if (isTuple(t)) return `{${t.tuple.map(show).join(', ')}}`;
  if (Array.isArray(t)) return `[${(t as readonly ErlTerm[]).map(show).join(', ')}]`;
  return String(t as unknown);
}

/** A regular expression of a rule; PCRE's common syntax is JavaScript's too. */
export function compileRegex(src: string, at?: ErlTerm): RegExp {
  try {
    return new RegExp(src);
  } catch (err) {
    throw new Bad(at, `bad regular expression ${JSON.stringify(src)}: ${(err as Error).message}`);
  }
}

function matchValue(t: ErlTerm | undefined, what: string, at: ErlTerm): { eq?: string; re?: RegExp } {
  if (isTuple(t) && t.tuple.length === 2 && isAtom(t.tuple[0], 're')) {
    const src = text(t.tuple[1]);
    if (src === undefined) throw new Bad(t, `{re, ...} needs a string, not ${show(t.tuple[1])}`);
    return { re: compileRegex(src, t) };
  }
  const s = text(t);
  if (s === undefined) throw new Bad(at, `${what} needs a string or {re, "..."}, not ${show(t)}`);
  return { eq: s };
}

function cidrOf(t: ErlTerm | undefined, at: ErlTerm): Cidr {
  const s = text(t);
  if (s === undefined) throw new Bad(at, `ipaddr needs a string such as "10.0.0.0/8", not ${show(t)}`);
  const c = parseCidr(s);
  if (typeof c === 'string') throw new Bad(at, c);
  return c;
}

const WHO_FORMS = "all, {user|username, ...}, {client|clientid, ...}, {ipaddr, \"cidr\"}, {ipaddrs, [...]}, {client_attr, Name, Value}, {'and', [...]}, {'or', [...]}";

export function compileWho(t: ErlTerm | undefined): Who {
  if (isAtom(t, 'all')) return { k: 'all' };
  if (isTuple(t) && t.tuple.length >= 2 && isAtom(t.tuple[0])) {
    const [head, a, b] = t.tuple;
    const kind = (head as { atom: string }).atom;
    if ((kind === 'user' || kind === 'username') && t.tuple.length === 2) return { k: 'username', ...matchValue(a, kind, t) };
    if ((kind === 'client' || kind === 'clientid') && t.tuple.length === 2) return { k: 'clientid', ...matchValue(a, kind, t) };
    if (kind === 'client_attr' && t.tuple.length === 3) {
      const name = text(a);
      if (name === undefined) throw new Bad(t, `client_attr needs an attribute name string, not ${show(a)}`);
      return { k: 'attr', name, ...matchValue(b, 'client_attr', t) };
    }
    if (kind === 'ipaddr' && t.tuple.length === 2) return { k: 'ipaddr', cidrs: [cidrOf(a, t)] };
    if (kind === 'ipaddrs' && t.tuple.length === 2 && isList(a)) return { k: 'ipaddr', cidrs: items(a).map((x) => cidrOf(x, t)) };
    if ((kind === 'and' || kind === 'or') && t.tuple.length === 2 && isList(a)) {
      return { k: kind, of: items(a).map(compileWho) };
    }
  }
  throw new Bad(t, `unknown client condition ${show(t)} (expected ${WHO_FORMS})`);
}

function qosList(v: ErlTerm, at: ErlTerm): number[] {
  const qs = isList(v) ? items(v) : [v];
  return qs.map((q) => {
    if (typeof q !== 'number' || !Number.isInteger(q) || q < 0 || q > 2) throw new Bad(at, `qos must be 0, 1 or 2 (or a list of them), not ${show(q)}`);
    return q;
  });
}

export function compileAction(t: ErlTerm | undefined): ActionCond {
  if (isAtom(t, 'publish') || isAtom(t, 'subscribe') || isAtom(t, 'all')) return { type: t.atom as ActionCond['type'] };
  // EMQX 4's name for both.
  if (isAtom(t, 'pubsub')) return { type: 'all' };
  if (isTuple(t) && t.tuple.length === 2 && isList(t.tuple[1]) && (isAtom(t.tuple[0], 'publish') || isAtom(t.tuple[0], 'subscribe') || isAtom(t.tuple[0], 'all'))) {
    const type = (t.tuple[0] as { atom: string }).atom as ActionCond['type'];
    let qos: number[] | undefined;
    let retain: boolean | 'all' | undefined;
    for (const opt of items(t.tuple[1])) {
      if (isTuple(opt) && opt.tuple.length === 2 && isAtom(opt.tuple[0], 'qos')) qos = [...(qos ?? []), ...qosList(opt.tuple[1]!, t)];
      else if (isTuple(opt) && opt.tuple.length === 2 && isAtom(opt.tuple[0], 'retain') && type !== 'subscribe') {
        const r = opt.tuple[1];
        if (isAtom(r, 'true')) retain = true;
        else if (isAtom(r, 'false')) retain = false;
        else if (isAtom(r, 'all')) retain = 'all';
        else throw new Bad(t, `retain must be true, false or all, not ${show(r)}`);
      } else throw new Bad(t, `unknown action option ${show(opt)} (expected {qos, 0..2} or {retain, true|false|all})`);
    }
    return { type, ...(qos !== undefined ? { qos } : {}), ...(retain !== undefined ? { retain } : {}) };
  }
  throw new Bad(t, `unknown action ${show(t)} (expected publish, subscribe, all, or {publish|subscribe|all, [{qos, ...}, {retain, ...}]})`);
}

/** One topic of a rule: a filter (placeholders allowed), `{eq, Topic}`, or "eq Topic". */
export function compileTopic(t: ErlTerm | undefined, at?: ErlTerm): RuleTopic {
  if (isTuple(t) && t.tuple.length === 2 && isAtom(t.tuple[0], 'eq')) {
    const s = text(t.tuple[1]);
    if (s === undefined || s === '') throw new Bad(t, `{eq, ...} needs a topic string, not ${show(t.tuple[1])}`);
    return { kind: 'eq', text: s };
  }
  if (isAtom(t, 'all')) return ALL_TOPICS;
  const s = text(t);
  if (s === undefined || s === '') throw new Bad(at ?? t, `a topic must be a non-empty string or {eq, "..."}, not ${show(t)}`);
  return topicFromText(s, at ?? t);
}

export function topicFromText(s: string, at?: ErlTerm): RuleTopic {
  if (s.startsWith('eq ')) return { kind: 'eq', text: s.slice(3) };
  const tpl = parseTemplate(s);
  if (typeof tpl === 'string') throw new Bad(at, tpl);
  return tpl === undefined ? filterPattern(s) : { kind: 'template', parts: tpl };
}

function permission(t: ErlTerm | undefined): Permission {
  if (isAtom(t, 'allow') || isAtom(t, 'deny')) return t.atom as Permission;
  throw new Bad(t, `the permission must be allow or deny, not ${show(t)}`);
}

export function compileRuleTerm(t: ErlTerm): Rule {
  if (!isTuple(t)) throw new Bad(t, `a rule must be a tuple {allow|deny, Who, Action, Topics} or {allow|deny, all}, not ${show(t)}`);
  const parts = t.tuple;
  if (parts.length === 2 && isAtom(parts[1], 'all')) return { perm: permission(parts[0]), who: { k: 'all' }, action: { type: 'all' }, topics: [ALL_TOPICS] };
  if (parts.length !== 4) throw new Bad(t, `a rule must be {allow|deny, Who, Action, Topics} or {allow|deny, all}; this one has ${parts.length} elements`);
  const perm = permission(parts[0]);
  const who = compileWho(parts[1]);
  const action = compileAction(parts[2]);
  const topicsTerm = parts[3];
  let topics: RuleTopic[];
  if (isAtom(topicsTerm, 'all')) topics = [ALL_TOPICS];
  else if (isList(topicsTerm)) topics = items(topicsTerm).map((x) => compileTopic(x, isTuple(x) || Array.isArray(x) ? x : topicsTerm));
  else if (text(topicsTerm) !== undefined) throw new Bad(t, `the topics must be a list: [${show(topicsTerm)}]`);
  else throw new Bad(t, `the topics must be a list of topics or all, not ${show(topicsTerm)}`);
  return { perm, who, action, topics };
}

/** Compiles a whole acl.conf; throws AclError with every problem found. */
export function compileAclFile(source: string, file: string): Rule[] {
  let doc: ErlangTermsDoc;
  try {
    doc = parseErlangTerms(source, file);
  } catch (err) {
    if (err instanceof ErlangTermsError) throw new AclError([{ file, line: err.line, column: err.column, message: err.detail }]);
    throw err;
  }
  const rules: Rule[] = [];
  const problems: AclProblem[] = [];
  for (const term of doc.terms) {
    try {
      rules.push(compileRuleTerm(term));
    } catch (err) {
      if (!(err instanceof Bad)) throw err;
      const pos = (err.at !== undefined ? doc.position(err.at) : undefined) ?? doc.position(term) ?? { line: 1, column: 1 };
      problems.push({ file, line: pos.line, column: pos.column, message: err.message });
    }
  }
  if (problems.length > 0) throw new AclError(problems);
  return rules;
}
