// The built_in_database authorization source (EMQX's emqx_authz_mnesia): rules per user name,
// per client id and for all clients, kept in a replicated table (written on one node, in force
// on all). A client is checked against its client id's rules, then its user name's, then the
// rules for all, as EMQX does.
import type { Db } from '../../db/db.js';
import { topicFromText } from './acl-file.js';
import type { ActionCond, Rule, RuleClient } from './rule.js';

export const AUTHZ_RULES_TABLE = 'authz_rules';

export type RuleOwner = { readonly kind: 'username' | 'clientid'; readonly who: string } | { readonly kind: 'all' };

/** A rule as the API and the table hold it (EMQX's rule_item). */
export interface RawRule {
  readonly topic: string;
  readonly permission: 'allow' | 'deny';
  readonly action: 'publish' | 'subscribe' | 'all';
  readonly qos?: readonly number[];
  readonly retain?: boolean | 'all';
}

export class RuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuleError';
  }
}

const keyOf = (o: RuleOwner): string => (o.kind === 'all' ? 'all' : `${o.kind}\u0000${o.who}`);

function isRawRules(v: unknown): v is { rules: RawRule[] } {
  return typeof v === 'object' && v !== null && Array.isArray((v as { rules?: unknown }).rules);
}

/** Checks one rule as given to the API; throws RuleError saying what is wrong. */
export function checkRawRule(r: RawRule): void {
  if (typeof r.topic !== 'string' || r.topic === '') throw new RuleError('topic: must be a non-empty string');
  if (r.permission !== 'allow' && r.permission !== 'deny') throw new RuleError(`permission: '${String(r.permission)}' is not allow or deny`);
  if (r.action !== 'publish' && r.action !== 'subscribe' && r.action !== 'all') throw new RuleError(`action: '${String(r.action)}' is not publish, subscribe or all`);
  if (r.qos !== undefined && (!Array.isArray(r.qos) || r.qos.some((q) => q !== 0 && q !== 1 && q !== 2))) throw new RuleError('qos: must be a list of 0, 1, 2');
  if (r.retain !== undefined && r.retain !== true && r.retain !== false && r.retain !== 'all') throw new RuleError('retain: must be true, false or all');
  try {
    topicFromText(r.topic);
  } catch (err) {
    throw new RuleError(`topic: ${(err as Error).message}`);
  }
}

export function compileRawRule(owner: RuleOwner, r: RawRule): Rule {
  const who: Rule['who'] = owner.kind === 'all' ? { k: 'all' } : { k: owner.kind, eq: owner.who };
  const action: ActionCond = { type: r.action, ...(r.qos !== undefined ? { qos: [...r.qos] } : {}), ...(r.retain !== undefined ? { retain: r.retain } : {}) };
  return { perm: r.permission, who, action, topics: [topicFromText(r.topic)] };
}

export class BuiltinRules {
  /** Compiled rules per table row, reused while the row is the same object. */
  readonly #compiled = new WeakMap<object, Rule[]>();

  constructor(
    private readonly db: () => Db | undefined,
    public maxRules: number,
  ) {}

  get(owner: RuleOwner): RawRule[] | undefined {
    const v = this.db()?.get(AUTHZ_RULES_TABLE, keyOf(owner));
    return isRawRules(v) ? v.rules : undefined;
  }

  list(kind: 'username' | 'clientid'): Array<{ who: string; rules: RawRule[] }> {
    const d = this.db();
    if (!d) return [];
    const prefix = `${kind}\u0000`;
    const out: Array<{ who: string; rules: RawRule[] }> = [];
    for (const [k, v] of d.list(AUTHZ_RULES_TABLE)) if (k.startsWith(prefix) && isRawRules(v)) out.push({ who: k.slice(prefix.length), rules: v.rules });
    return out;
  }

  async set(owner: RuleOwner, rules: readonly RawRule[]): Promise<void> {
    const d = this.db();
    if (!d) throw new RuleError('the database is not open yet');
    if (rules.length > this.maxRules) throw new RuleError(`too many rules: ${rules.length} (max_rules is ${this.maxRules})`);
    for (const r of rules) checkRawRule(r);
    await d.write(AUTHZ_RULES_TABLE, keyOf(owner), { rules: rules.map((r) => ({ ...r })) });
  }

  async del(owner: RuleOwner): Promise<boolean> {
    const d = this.db();
    if (!d || this.get(owner) === undefined) return false;
    await d.write(AUTHZ_RULES_TABLE, keyOf(owner), undefined);
    return true;
  }

  async clear(kind: 'username' | 'clientid' | 'all'): Promise<void> {
    const d = this.db();
    if (!d) return;
    const rows = kind === 'all' ? [['all']] : this.list(kind).map((r) => [`${kind}\u0000${r.who}`]);
    await d.writeMany(rows.map(([key]) => ({ table: AUTHZ_RULES_TABLE, key: key!, value: undefined })));
  }

  /** The rules for one client in checking order, compiled (from a per-row cache). */
  rulesFor(c: RuleClient): Rule[] {
    const d = this.db();
    if (!d) return [];
    const out: Rule[] = [];
    const rows: Array<[RuleOwner, unknown]> = [[{ kind: 'clientid', who: c.clientid }, d.get(AUTHZ_RULES_TABLE, `clientid\u0000${c.clientid}`)]];
    if (c.username !== undefined) rows.push([{ kind: 'username', who: c.username }, d.get(AUTHZ_RULES_TABLE, `username\u0000${c.username}`)]);
    rows.push([{ kind: 'all' }, d.get(AUTHZ_RULES_TABLE, 'all')]);
    for (const [owner, row] of rows) {
      if (!isRawRules(row)) continue;
      let compiled = this.#compiled.get(row);
      if (compiled === undefined) {
        compiled = [];
        for (const r of row.rules) {
          try {
            compiled.push(compileRawRule(owner, r));
          } catch {
            // A rule written by a newer node this one cannot read: skipped, never a crash.
          }
        }
        this.#compiled.set(row, compiled);
      }
      out.push(...compiled);
    }
    return out;
  }
}
