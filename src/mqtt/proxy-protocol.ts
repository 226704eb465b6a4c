// The PROXY protocol header a load balancer (HAProxy, AWS NLB, nginx, Envoy) writes before the
// client's bytes, versions 1 (text) and 2 (binary), as HAProxy's specification defines them:
// the client's real address, and with v2 the common name of the certificate a TLS-terminating
// balancer verified (PP2_SUBTYPE_SSL_CN). EMQX's `listeners.*.*.proxy_protocol`. Pure: bytes in.
import { isIPv4, isIPv6 } from 'node:net';

export interface ProxyHeader {
  /** Bytes the header took: what follows is the client's. */
  readonly length: number;
  /** The client as the balancer saw it; absent for v1 UNKNOWN and v2 LOCAL (a health check). */
  readonly source?: { readonly address: string; readonly port: number };
  /** v2: the common name of the client certificate the balancer verified. */
  readonly sslCn?: string;
}

export type ProxyParse = ProxyHeader | { readonly need: true } | { readonly error: string };

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ');
/** The longest v1 line, CRLF included (the specification's figure). */
const V1_MAX = 107;
/** The longest v2 header accepted: addresses and the TLVs balancers send fit easily. */
export const V2_MAX = 4096;

const PP2_TYPE_SSL = 0x20;
const PP2_SUBTYPE_SSL_CN = 0x22;

/** Whether `buf` could still become `prefix` (or starts with it). */
function startsLike(buf: Buffer, prefix: Buffer): boolean {
  const n = Math.min(buf.length, prefix.length);
  return buf.subarray(0, n).equals(prefix.subarray(0, n));
}

/** The header at the start of `buf`: parsed, more bytes needed, or why it is not one. */
export function parseProxyHeader(buf: Buffer): ProxyParse {
  if (buf.length === 0) return { need: true };
  if (startsLike(buf, V2_SIGNATURE)) return buf.length < 16 ? { need: true } : parseV2(buf);
  if (startsLike(buf, V1_PREFIX)) return parseV1(buf);
  return { error: 'the connection does not start with a PROXY protocol header' };
}

function port(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

function parseV1(buf: Buffer): ProxyParse {
  const end = buf.indexOf('\r\n');
  if (end < 0) return buf.length >= V1_MAX ? { error: `PROXY v1 line longer than ${V1_MAX} bytes` } : { need: true };
  if (end + 2 > V1_MAX) return { error: `PROXY v1 line longer than ${V1_MAX} bytes` };
  const parts = buf.toString('latin1', 0, end).split(' ');
  const length = end + 2;
  if (parts[1] === 'UNKNOWN') return { length };
  if (parts.length !== 6 || (parts[1] !== 'TCP4' && parts[1] !== 'TCP6')) return { error: `malformed PROXY v1 line: ${JSON.stringify(buf.toString('latin1', 0, end))}` };
  const [, family, src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  const isIp = family === 'TCP4' ? isIPv4 : isIPv6;
  const p = port(sport);
  if (!isIp(src) || !isIp(dst) || p === undefined || port(dport) === undefined) return { error: `malformed PROXY v1 line: ${JSON.stringify(buf.toString('latin1', 0, end))}` };
  return { length, source: { address: src, port: p } };
}

function parseV2(buf: Buffer): ProxyParse {
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) return { error: `PROXY v2 header of version ${verCmd >> 4}` };
  const command = verCmd & 0x0f;
  if (command > 1) return { error: `PROXY v2 header with command ${command}` };
  const body = buf.readUInt16BE(14);
  const length = 16 + body;
  if (length > V2_MAX) return { error: `PROXY v2 header of ${length} bytes (at most ${V2_MAX})` };
  if (buf.length < length) return { need: true };
  // LOCAL: the balancer speaking for itself (a health check); the connection's own address stands.
  if (command === 0) return { length };
  const family = buf[13]! >> 4;
  let at: number;
  let source: ProxyHeader['source'];
  if (family === 1) {
    if (body < 12) return { error: 'PROXY v2 header too short for IPv4 addresses' };
    source = { address: [...buf.subarray(16, 20)].join('.'), port: buf.readUInt16BE(24) };
    at = 28;
  } else if (family === 2) {
    if (body < 36) return { error: 'PROXY v2 header too short for IPv6 addresses' };
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(16 + 2 * i).toString(16));
    source = { address: compressIPv6(groups), port: buf.readUInt16BE(48) };
    at = 52;
  } else if (family === 3) {
    // A UNIX socket: no address to give the client.
    at = 16 + Math.min(body, 216);
  } else {
    // AF_UNSPEC: no addresses, and nothing of them to skip.
    at = 16;
  }
  const sslCn = sslCommonName(buf.subarray(at, length));
  return { length, ...(source ? { source } : {}), ...(sslCn !== undefined ? { sslCn } : {}) };
}

/** The common name in a PP2_TYPE_SSL TLV, if any (malformed TLVs are skipped: they carry no address). */
function sslCommonName(tlvs: Buffer): string | undefined {
  for (let i = 0; i + 3 <= tlvs.length; ) {
    const type = tlvs[i]!;
    const len = tlvs.readUInt16BE(i + 1);
    const value = tlvs.subarray(i + 3, i + 3 + len);
    if (value.length < len) return undefined;
    // client (1 byte), verify (4 bytes), then sub-TLVs.
    if (type === PP2_TYPE_SSL && value.length >= 5) {
      for (let j = 5; j + 3 <= value.length; ) {
        const subType = value[j]!;
        const subLen = value.readUInt16BE(j + 1);
        if (j + 3 + subLen > value.length) return undefined;
        if (subType === PP2_SUBTYPE_SSL_CN) return value.toString('utf8', j + 3, j + 3 + subLen);
        j += 3 + subLen;
      }
    }
    i += 3 + len;
  }
  return undefined;
}

/** `2001:db8:0:0:0:0:0:1` → `2001:db8::1` (RFC 5952: the longest run of zero groups, leftmost). */
function compressIPv6(groups: readonly string[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}
