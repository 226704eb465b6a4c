// How an ACL rule's topic matches the topic of a PUBLISH or the filter of a SUBSCRIBE, as EMQX's
// emqx_topic:match does for authorization: level by level, where the rule's `+` takes any one
// level and a trailing `#` the rest; the client's own `+` and `#` are matched literally (a
// subscription to `#` is not covered by a rule for `a/#`); a `$`-topic is never matched by a
// rule starting with a wildcard. `{eq, T}` compares the levels exactly.

/** A rule's topic, split once when the rule is compiled (or rendered for a client). */
export type TopicPattern =
  /** `all`: every topic, `$`-topics included. */
  | { readonly kind: 'all' }
  | { readonly kind: 'eq'; readonly text: string }
  | { readonly kind: 'filter'; readonly words: readonly string[] };

export const ALL_TOPICS: TopicPattern = { kind: 'all' };

export function filterPattern(text: string): TopicPattern {
  return { kind: 'filter', words: text.split('/') };
}

/** `words` are the client's topic (or filter) split on '/'. */
export function matchPattern(p: TopicPattern, topic: string, words: readonly string[]): boolean {
  if (p.kind === 'all') return true;
  if (p.kind === 'eq') return p.text === topic;
  const f = p.words;
  const first = f[0]!;
  if (words[0]!.startsWith('$') && (first === '+' || first === '#')) return false;
  const n = f.length;
  for (let i = 0; i < n; i++) {
    const w = f[i]!;
    if (w === '#' && i === n - 1) return true;
    if (i >= words.length) return false;
    if (w !== '+' && w !== words[i]) return false;
  }
  return words.length === n;
}
