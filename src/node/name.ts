// Node names (`name@host`) and the distribution port derived from them (SPEC §1).
// Pure functions: every node computes a peer's port from the peer's name the same way.
import { isIP } from 'node:net';

export const NAME_PART_RE = /^[0-9A-Za-z_-]+$/;
export const DEFAULT_DIST_BASE_PORT = 4370;

export interface NodeName {
  /** The whole name, e.g. `emqx@127.0.0.1`. */
  readonly full: string;
  /** The part before `@`. */
  readonly name: string;
  /** The part after `@`: an IPv4 or IPv6 address or an FQDN (or `localhost`). */
  readonly host: string;
  readonly hostKind: 'ipv4' | 'ipv6' | 'fqdn';
}

export class NodeNameError extends Error {
  readonly code = 'invalid_node_name';
  constructor(message: string) {
    super(message);
    this.name = 'NodeNameError';
  }
}

const FQDN_LABEL_RE = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

function hostKind(host: string): NodeName['hostKind'] | undefined {
  const ip = isIP(host);
  if (ip === 4) return 'ipv4';
  if (ip === 6) return 'ipv6';
  if (host === 'localhost') return 'fqdn';
  if (host.length > 253 || !host.includes('.')) return undefined;
  const labels = host.replace(/\.$/, '').split('.');
  // An all-numeric dotted host that is not a valid IPv4 address (e.g. 127.0.0.256) is a typo, not a name.
  if (labels.every((l) => /^\d+$/.test(l))) return undefined;
  return labels.every((l) => FQDN_LABEL_RE.test(l)) ? 'fqdn' : undefined;
}

/** Parses and validates a node name; throws NodeNameError with EMQX's wording. */
export function parseNodeName(full: string): NodeName {
  const at = full.indexOf('@');
  if (at < 0 || at !== full.lastIndexOf('@')) {
    throw new NodeNameError(`Invalid node name '${full}', should be of format 'name@host'.`);
  }
  const name = full.slice(0, at);
  const host = full.slice(at + 1);
  if (!NAME_PART_RE.test(name)) {
    throw new NodeNameError(`Invalid node name, should be of format '^[0-9A-Za-z_-]+$'.`);
  }
  const kind = hostKind(host);
  if (kind === undefined) {
    throw new NodeNameError(
      `Invalid node name '${full}': host '${host}' must be an IPv4 address, an IPv6 address, or a fully qualified domain name (a dotless host is only allowed as 'localhost').`,
    );
  }
  return { full, name, host, hostKind: kind };
}

export function isValidNodeName(full: string): boolean {
  try {
    parseNodeName(full);
    return true;
  } catch {
    return false;
  }
}

/**
 * The distribution port of a node: base + the integer at the end of the name part (mod 60000),
 * or base when there is none. `emqx@h` → 4370, `emqx1@h` → 4371, `node07@h` → 4377.
 */
export function distPort(nodeName: string, base: number = DEFAULT_DIST_BASE_PORT): number {
  const namePart = nodeName.includes('@') ? nodeName.slice(0, nodeName.indexOf('@')) : nodeName;
  const m = /(\d+)$/.exec(namePart);
  if (!m) return base;
  // BigInt so a long run of digits does not lose precision before the modulo.
  const offset = Number(BigInt(m[1]!) % 60000n);
  return base + offset;
}

/** `cluster join emqx2` → `emqx2@<this node's host>` (SPEC §5). */
export function qualifyNodeName(arg: string, selfName: string): string {
  if (arg.includes('@')) return arg;
  return `${arg}@${selfName.slice(selfName.indexOf('@') + 1)}`;
}
