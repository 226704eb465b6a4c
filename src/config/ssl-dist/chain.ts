// The length of a verified peer's certificate chain, for ssl_dist.conf's `{depth, N}` (checked
// by the client's checkServerIdentity and, having no hook in node:tls, by the link layer on the
// server side).
import type { PeerCertificate } from 'node:tls';

/** CA certificates between the peer's certificate and the self-signed root. */
export function intermediates(cert: PeerCertificate): number {
  let n = 0;
  let cur = (cert as PeerCertificate & { issuerCertificate?: PeerCertificate }).issuerCertificate;
  const seen = new Set<unknown>([cert]);
  while (cur && !seen.has(cur) && (cur as { issuerCertificate?: unknown }).issuerCertificate !== cur) {
    seen.add(cur);
    n++;
    cur = (cur as { issuerCertificate?: PeerCertificate }).issuerCertificate;
  }
  return n;
}
