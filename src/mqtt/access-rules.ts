// A listener's `access_rules` (EMQX's, from esockd): which client addresses the listener accepts.
// Each rule is "allow" or "deny" then "all" or addresses and CIDR ranges separated by commas
// ("deny 10.0.0.0/8, 192.168.0.0/16"); the first rule that matches the client's address decides,
// and an address no rule matches is allowed, as in esockd. IPv6 ranges too. Pure.
import { cidrContains, parseAddress, parseCidr, type Cidr } from '../auth/authz/cidr.js';

export interface AccessRule {
  readonly allow: boolean;
  readonly ranges: readonly Cidr[] | 'all';
}

/** EMQX's default: every address. */
export const ALLOW_ALL: readonly string[] = ['allow all'];

/** One rule, or why it is not one. */
export function parseAccessRule(text: string): AccessRule | string {
  const m = /^\s*(allow|deny)\s+(.+?)\s*$/.exec(text);
  if (!m) return `'${text}' is not "allow <who>" or "deny <who>" (who: all, an address or a CIDR range)`;
  const allow = m[1] === 'allow';
  if (m[2] === 'all') return { allow, ranges: 'all' };
  const ranges: Cidr[] = [];
  for (const part of m[2]!.split(',')) {
    const c = parseCidr(part.trim());
    if (typeof c === 'string') return `'${text}': ${c}`;
    ranges.push(c);
  }
  return { allow, ranges };
}

/** Whether `address` (the client's, without port) may connect. */
export function accessAllowed(rules: readonly AccessRule[], address: string | undefined): boolean {
  const addr = address === undefined ? undefined : parseAddress(address);
  for (const r of rules) {
    if (r.ranges === 'all' || r.ranges.some((c) => cidrContains(c, addr))) return r.allow;
  }
  return true;
}
