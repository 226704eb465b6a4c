// Authorization rules as EMQX's emqx_authz_rule compiles them: a permission, who it applies to,
// which action (publish, subscribe or both, optionally narrowed by QoS and retain), and topics.
// Rules are compiled once; for each client they are then narrowed to those whose `who` matches
// it, with topic placeholders filled in (ClientRules), so a check only tests action and topic.
import { cidrContains, parseAddress, type Cidr } from './cidr.js';
import { renderTemplate, type ClientVars, type TemplatePart } from './template.js';
import { matchPattern, type TopicPattern } from './topic-match.js';

export type Permission = 'allow' | 'deny';

export type Who =
  | { readonly k: 'all' }
  | { readonly k: 'username' | 'clientid'; readonly eq?: string; readonly re?: RegExp }
  | { readonly k: 'attr'; readonly name: string; readonly eq?: string; readonly re?: RegExp }
  | { readonly k: 'ipaddr'; readonly cidrs: readonly Cidr[] }
  | { readonly k: 'and' | 'or'; readonly of: readonly Who[] };

export interface ActionCond {
  readonly type: 'publish' | 'subscribe' | 'all';
  /** Absent: any QoS. */
  readonly qos?: readonly number[];
  /** Absent or 'all': either. Only publish actions carry retain. */
  readonly retain?: boolean | 'all';
}

export type RuleTopic = TopicPattern | { readonly kind: 'template'; readonly parts: readonly TemplatePart[] };

export interface Rule {
  readonly perm: Permission;
  readonly who: Who;
  readonly action: ActionCond;
  readonly topics: readonly RuleTopic[];
}

/** What a client asks to do. */
export interface AuthzRequest {
  readonly type: 'publish' | 'subscribe';
  readonly qos: number;
  /** PUBLISH only. */
  readonly retain: boolean;
}

/** The client as rules see it. */
export interface RuleClient extends ClientVars {
  /** The client's address without port. */
  readonly peerhost: string;
  /** For HTTP authorization requests: `MQTT` (`MQIsdp` for 3.1), the client's mountpoint. */
  readonly protoName?: string;
  readonly mountpoint?: string;
}

/** A rule whose `who` matched one client, its topics rendered for that client. */
export interface ClientRule {
  readonly perm: Permission;
  readonly action: ActionCond;
  readonly topics: readonly TopicPattern[];
}

export function matchWho(w: Who, c: RuleClient, addr: ReturnType<typeof parseAddress>): boolean {
  switch (w.k) {
    case 'all':
      return true;
    case 'username':
    case 'clientid': {
      const v = w.k === 'username' ? c.username : c.clientid;
      if (v === undefined) return false;
      return w.re ? w.re.test(v) : v === w.eq;
    }
    case 'attr': {
      const v = c.attrs?.[w.name];
      if (v === undefined) return false;
      return w.re ? w.re.test(v) : v === w.eq;
    }
    case 'ipaddr':
      return w.cidrs.some((cidr) => cidrContains(cidr, addr));
    case 'and':
      return w.of.every((x) => matchWho(x, c, addr));
    case 'or':
      return w.of.some((x) => matchWho(x, c, addr));
  }
}

/** The rules that apply to `c`, in order, their placeholders filled in. */
export function rulesForClient(rules: readonly Rule[], c: RuleClient): ClientRule[] {
  const addr = parseAddress(c.peerhost);
  const out: ClientRule[] = [];
  for (const r of rules) {
    if (!matchWho(r.who, c, addr)) continue;
    const topics: TopicPattern[] = [];
    for (const t of r.topics) {
      if (t.kind !== 'template') {
        topics.push(t);
        continue;
      }
      const text = renderTemplate(t.parts, c);
      if (text !== undefined) topics.push({ kind: 'filter', words: text.split('/') });
    }
    // A rule left with no topic can never match (EMQX: match_topics of [] is false).
    if (topics.length > 0) out.push({ perm: r.perm, action: r.action, topics });
  }
  return out;
}

export function matchAction(req: AuthzRequest, a: ActionCond): boolean {
  if (a.type !== 'all' && a.type !== req.type) return false;
  if (a.qos !== undefined && !a.qos.includes(req.qos)) return false;
  if (req.type === 'publish' && a.retain !== undefined && a.retain !== 'all' && a.retain !== req.retain) return false;
  return true;
}

/** The first rule matching the request decides; undefined: none matched. */
export function decide(rules: readonly ClientRule[], req: AuthzRequest, topic: string, words: readonly string[]): Permission | undefined {
  for (const r of rules) {
    if (!matchAction(req, r.action)) continue;
    for (const t of r.topics) if (matchPattern(t, topic, words)) return r.perm;
  }
  return undefined;
}
