// The client's address as a trusted HTTP proxy in front of a WebSocket listener names it in the
// upgrade request (EMQX's `websocket.proxy_address_header` / `proxy_port_header`, off unless set,
// as in EMQX 6.3: a header is whatever the sender wrote, so only a proxy that overwrites it may be
// believed). Pure.
import { isIPv4, isIPv6 } from 'node:net';

/**
 * The client's address from an HTTP proxy's headers on a WebSocket upgrade (EMQX's
 * `websocket.proxy_address_header` / `proxy_port_header`): the first (leftmost) entry of the
 * address header, as EMQX reads it, and the port header; undefined parts fall back to `socket`'s.
 * A header that is not an address or a port is ignored.
 */
export function forwardedPeer(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  names: { readonly address: string; readonly port: string },
  socket: { readonly address: string | undefined; readonly port: number | undefined },
): { address: string | undefined; port: number | undefined } {
  const one = (name: string): string | undefined => {
    if (name === '') return undefined;
    const v = headers[name.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  };
  const first = one(names.address)?.split(',')[0]?.trim().replace(/^\[(.*)\]$/, '$1');
  const address = first !== undefined && (isIPv4(first) || isIPv6(first)) ? first : socket.address;
  const p = one(names.port)?.trim();
  const port = p !== undefined && /^\d{1,5}$/.test(p) && Number(p) <= 65535 ? Number(p) : socket.port;
  return { address, port };
}
