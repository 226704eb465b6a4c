// EMQX's topic rewrite (`rewrite = [{action, source_topic, re, dest_topic}]`, emqx_rewrite): the
// first rule of its kind whose `source_topic` filter matches a topic decides. Its regular
// expression's groups fill `$1`, `$2`, ... in `dest_topic`, and `${clientid}` / `${username}`
// the client's; when the expression does not match, the topic stays as it is. Publish rules
// apply to PUBLISH topics (and wills), subscribe rules to SUBSCRIBE and UNSUBSCRIBE filters (of a
// shared subscription, to the part after `$share/<group>/`). Authorization sees the topic the
// client sent, as in EMQX. Pure.
import type { RewriteRuleConfig } from '../config/types.js';
import { matches, parseShared, validateFilter, validateTopicName } from '../mqtt/topic.js';

interface Compiled {
  readonly source: string;
  readonly re: RegExp;
  readonly dest: string;
}

export class TopicRewriter {
  readonly #publish: Compiled[] = [];
  readonly #subscribe: Compiled[] = [];

  /** The rules were checked when the config was read: every expression compiles. */
  constructor(rules: readonly RewriteRuleConfig[] = []) {
    for (const r of rules) {
      const c: Compiled = { source: r.source_topic, re: new RegExp(r.re), dest: r.dest_topic };
      if (r.action !== 'subscribe') this.#publish.push(c);
      if (r.action !== 'publish') this.#subscribe.push(c);
    }
  }

  get rewritesPublish(): boolean {
    return this.#publish.length > 0;
  }

  /**
   * The topic a PUBLISH goes to. A rule that would make an invalid topic name (a wildcard
   * captured into it, an empty topic) leaves the topic as it was.
   */
  publish(topic: string, clientId: string, username: string | undefined): string {
    if (this.#publish.length === 0) return topic;
    const out = apply(this.#publish, topic, clientId, username);
    return out !== topic && validateTopicName(out, Number.POSITIVE_INFINITY) === undefined ? out : topic;
  }

  /** The filter a SUBSCRIBE or UNSUBSCRIBE means; an invalid result leaves it as it was. */
  subscribe(filter: string, clientId: string, username: string | undefined): string {
    if (this.#subscribe.length === 0) return filter;
    const shared = parseShared(filter);
    const inner = shared !== undefined && typeof shared !== 'string' ? shared.filter : filter;
    const out = apply(this.#subscribe, inner, clientId, username);
    if (out === inner) return filter;
    // Checked whole: the group's prefix and what the rule made of the rest must still be a filter.
    const whole = filter.slice(0, filter.length - inner.length) + out;
    return validateFilter(whole, Number.POSITIVE_INFINITY) === undefined ? whole : filter;
  }
}

const WILD = /[+#]/;

function apply(rules: readonly Compiled[], topic: string, clientId: string, username: string | undefined): string {
  for (const r of rules) {
    if (!matches(r.source, topic)) continue;
    const m = r.re.exec(topic);
    if (!m) return topic;
    let out = r.dest;
    // A client id or username with a wildcard must not widen a filter ('inbox/${clientid}' for
    // the client '#'): such a client's topics are not rewritten.
    if (out.includes('${clientid}') && clientId !== '') {
      if (WILD.test(clientId)) return topic;
      out = out.split('${clientid}').join(clientId);
    }
    if (out.includes('${username}') && username !== undefined && username !== '') {
      if (WILD.test(username)) return topic;
      out = out.split('${username}').join(username);
    }
    for (let i = 1; i < m.length; i++) out = out.split(`$${i}`).join(m[i] ?? '');
    return out;
  }
  return topic;
}
