// EMQX's Redis authorization source (emqx_authz_redis): `HGETALL mqtt_acl:${username}` gives the
// client's rules, each field a topic filter (placeholders allowed) and its value the action
// (`publish`, `subscribe`, `all`) or JSON `{"action", "qos", "retain"}`; every rule allows. The
// first rule that covers the request allows it; none: no match (the next source decides). A
// value that is neither is skipped (logged), as EMQX skips it. Redis down: no match.
import { clientVar, fillTemplate } from '../placeholders.js';
import { openRedis, type RedisConn } from '../redis/client.js';
import type { RedisConnConfig } from '../../config/types.js';
import { checkRawRule, compileRawRule, type RawRule } from './builtin-rules.js';
import { decide, rulesForClient, type AuthzRequest, type Permission, type RuleClient } from './rule.js';

/** HGETALL's reply as allow rules (pure); the fields whose value is not a rule, as problems. */
export function rowsToRules(reply: unknown): { rules: RawRule[]; bad: string[] } {
  const flat = Array.isArray(reply) ? reply.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v))) : [];
  const rules: RawRule[] = [];
  const bad: string[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const topic = flat[i]!;
    const value = flat[i + 1]!;
    let rule: RawRule;
    if (value === 'publish' || value === 'subscribe' || value === 'all') rule = { topic, permission: 'allow', action: value };
    else {
      let v: unknown;
      try {
        v = JSON.parse(value);
      } catch {
        bad.push(`${topic}: '${value.slice(0, 100)}' is not an action nor JSON`);
        continue;
      }
      if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        bad.push(`${topic}: '${value.slice(0, 100)}' is not a JSON object`);
        continue;
      }
      const o = v as { action?: unknown; qos?: unknown; retain?: unknown };
      rule = { topic, permission: 'allow', action: (o.action ?? 'all') as RawRule['action'], ...(o.qos !== undefined ? { qos: o.qos as number[] } : {}), ...(o.retain !== undefined ? { retain: o.retain as RawRule['retain'] } : {}) };
    }
    try {
      checkRawRule(rule);
      rules.push(rule);
    } catch (err) {
      bad.push(`${topic}: ${(err as Error).message}`);
    }
  }
  return { rules, bad };
}

export class RedisAuthzSource {
  readonly type = 'redis';
  readonly #conn: RedisConn;
  /** A check the source could not make (Redis down, a rule it skipped), and why. */
  onIgnored: (why: string) => void = () => undefined;

  /** Connects in the background; throws only when the CA file cannot be read. */
  constructor(readonly cfg: RedisConnConfig & { readonly cmd: readonly string[] }) {
    this.#conn = openRedis(cfg);
  }

  close(): void {
    this.#conn.close();
  }

  /** Never rejects: a failed query is no match. */
  async check(c: RuleClient, req: AuthzRequest, topic: string): Promise<Permission | undefined> {
    const [name, key] = this.cfg.cmd as [string, string];
    let reply: unknown;
    try {
      reply = await this.#conn.call([name, fillTemplate(key, (name) => clientVar(c, name))]);
    } catch (err) {
      this.onIgnored(`the query failed: ${(err as Error).message}`);
      return undefined;
    }
    const { rules, bad } = rowsToRules(reply);
    if (bad.length > 0) this.onIgnored(`rules skipped: ${bad.join('; ')}`);
    const compiled = rulesForClient(rules.map((r) => compileRawRule({ kind: 'all' }, r)), c);
    return decide(compiled, req, topic, topic.split('/'));
  }
}
