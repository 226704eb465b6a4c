// Where a node listens and whether a connection's source may claim a name.
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { ProtoDist } from '../config/types.js';
import { parseNodeName } from '../node/name.js';

export function familyOf(proto: ProtoDist): 4 | 6 {
  return proto === 'inet6_tcp' || proto === 'inet6_tls' ? 6 : 4;
}

export function isTls(proto: ProtoDist): boolean {
  return proto === 'inet_tls' || proto === 'inet6_tls';
}

/** The address a node's host stands for, in the family of the transport. */
export async function resolveHost(host: string, family: 4 | 6): Promise<string> {
  const kind = isIP(host);
  if (kind !== 0) {
    if (kind !== family) {
      throw new Error(`host ${host} is an IPv${kind} address but the transport is IPv${family}`);
    }
    return host;
  }
  const r = await lookup(host, { family });
  return r.address;
}

export async function resolveNode(node: string, family: 4 | 6): Promise<string> {
  return resolveHost(parseNodeName(node).host, family);
}

/** An IPv4-mapped IPv6 source (::ffff:a.b.c.d) compares as its IPv4 address. */
export function plainAddress(addr: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  return m ? m[1]! : addr;
}

export function sameAddress(a: string, b: string): boolean {
  const pa = plainAddress(a);
  const pb = plainAddress(b);
  const ka = isIP(pa);
  if (ka === 0 || ka !== isIP(pb)) return false;
  const bl = new BlockList();
  bl.addAddress(pa, ka === 4 ? 'ipv4' : 'ipv6');
  return bl.check(pb, ka === 4 ? 'ipv4' : 'ipv6');
}

/** Whether the host of `claimed` resolves to `source` (inbound name ownership). */
export async function ownsName(claimed: string, source: string): Promise<boolean> {
  let host: string;
  try {
    host = parseNodeName(claimed).host;
  } catch {
    return false;
  }
  if (isIP(host) !== 0) return sameAddress(host, source);
  try {
    const all = await lookup(host, { all: true });
    return all.some((a) => sameAddress(a.address, source));
  } catch {
    return false;
  }
}

export function formatAddress(ip: string | undefined, port: number | undefined): string {
  const a = plainAddress(ip ?? '?');
  return isIP(a) === 6 ? `[${a}]:${port ?? 0}` : `${a}:${port ?? 0}`;
}
