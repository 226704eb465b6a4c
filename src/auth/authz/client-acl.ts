// The rules a client's credentials carry (EMQX's emqx_authz_client_info source): a JWT's `acl`
// claim, the `acl` field of an HTTP authentication answer. They alone decide for that client.
import { checkRawRule, type RawRule } from './builtin-rules.js';

/**
 * An `acl` claim or field as rules (EMQX's emqx_authz_client_info): a list of `{permission, action, topic,
 * qos?, retain?}`, or the older `{pub: [...], sub: [...], all: [...]}`, whose topics are allowed.
 * undefined: no claim; 'bad': one that is neither.
 */
export function aclOf(claim: unknown): RawRule[] | undefined | 'bad' {
  if (claim === undefined) return undefined;
  if (Array.isArray(claim)) {
    try {
      for (const r of claim) checkRawRule(r as RawRule);
    } catch {
      return 'bad';
    }
    return claim as RawRule[];
  }
  if (claim === null || typeof claim !== 'object') return 'bad';
  const rules: RawRule[] = [];
  for (const [key, action] of [['pub', 'publish'], ['sub', 'subscribe'], ['all', 'all']] as const) {
    const topics = (claim as Record<string, unknown>)[key];
    if (topics === undefined) continue;
    if (!Array.isArray(topics) || !topics.every((t) => typeof t === 'string')) return 'bad';
    for (const topic of topics as string[]) {
      const r: RawRule = { topic, permission: 'allow', action };
      try {
        checkRawRule(r);
      } catch {
        return 'bad';
      }
      rules.push(r);
    }
  }
  return rules;
}
