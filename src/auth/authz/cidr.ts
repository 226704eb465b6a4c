// Address ranges in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`, or one address) and the test
// of a client's address against them, as acl.conf's `{ipaddr, ...}` and the banned table's
// peerhost use them. Pure: addresses become bigints once, at compile time.
import { isIP } from 'node:net';

export interface Cidr {
  readonly family: 4 | 6;
  /** The network address with the host bits cleared. */
  readonly network: bigint;
  readonly prefix: number;
  /** As written, for messages and listings. */
  readonly text: string;
}

function v4ToBig(a: string): bigint {
  return a.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function v6ToBig(a: string): bigint {
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes its two 16-bit groups.
  let text = a;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = v4ToBig(v4[1]!);
    text = `${text.slice(0, v4.index)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** An address as (family, value); IPv4-mapped IPv6 addresses count as IPv4. */
export function parseAddress(address: string): { family: 4 | 6; value: bigint } | undefined {
  const a = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const kind = isIP(a);
  if (kind === 4) return { family: 4, value: v4ToBig(a) };
  if (kind === 6) {
    const v = v6ToBig(a);
    if (v >> 32n === 0xffffn) return { family: 4, value: v & 0xffffffffn };
    return { family: 6, value: v };
  }
  return undefined;
}

/** Parses `addr` or `addr/prefix`; a reason string when it is not one. */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const parsed = parseAddress(addr);
  if (!parsed || addr.startsWith('[')) return `'${text}' is not an IP address or CIDR range (e.g. "192.168.0.0/16", "2001:db8::/32")`;
  const bits = parsed.family === 4 ? 32 : 128;
  let prefix = bits;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > bits) return `'${text}': the prefix length must be 0..${bits}`;
    prefix = Number(p);
  }
  // A mapped IPv4 address keeps its prefix relative to the IPv4 part.
  if (parsed.family === 4 && isIP(addr) === 6 && slash >= 0) prefix = Math.max(0, prefix - 96);
  const hostBits = BigInt((parsed.family === 4 ? 32 : 128) - prefix);
  return { family: parsed.family, network: (parsed.value >> hostBits) << hostBits, prefix, text };
}

export function cidrContains(c: Cidr, addr: { family: 4 | 6; value: bigint } | undefined): boolean {
  if (!addr || addr.family !== c.family) return false;
  const hostBits = BigInt((c.family === 4 ? 32 : 128) - c.prefix);
  return (addr.value >> hostBits) << hostBits === c.network;
}

/** The host part of `ip:port` / `[v6]:port` (the channel's peer). */
export function hostOf(peer: string): string {
  const i = peer.lastIndexOf(':');
  const host = i < 0 ? peer : peer.slice(0, i);
  return host.startsWith('[') ? host.slice(1, -1) : host;
}
