// Turns OpenSSL / Node TLS errors into the short detail an operator can act on.

const PLAINTEXT_CODES = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_HTTP_REQUEST', 'ERR_SSL_UNKNOWN_PROTOCOL',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_RECORD_LAYER_FAILURE', 'ERR_SSL_UNEXPECTED_MESSAGE',
  'ERR_SSL_UNEXPECTED_EOF_WHILE_READING',
]);
const UNKNOWN_CA_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_SIGNATURE_FAILURE',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
]);

export function tlsFailureDetail(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  const msg = e.message ?? String(err);
  if (code === 'ERR_SSL_SSLV3_ALERT_UNEXPECTED_MESSAGE') return `peer does not speak TLS on this port (is it inet_tcp?): ${msg}`;
  if (PLAINTEXT_CODES.has(code)) return `peer spoke plaintext (is it inet_tcp?): ${msg}`;
  if (code === 'CERT_HAS_EXPIRED' || code === 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED') return `certificate has expired: ${msg}`;
  if (UNKNOWN_CA_CODES.has(code)) return `unknown CA: ${msg}`;
  if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE' || code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED') {
    return `peer sent no certificate: ${msg}`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `certificate does not name the peer's host: ${msg}`;
  if (code === 'ECONNRESET' || msg.includes('socket disconnected before secure')) {
    return `peer closed during the TLS handshake (does it expect plaintext, inet_tcp?): ${msg}`;
  }
  return code ? `${code}: ${msg}` : msg;
}

/** The first bytes of a TLS record: handshake (0x16) or alert (0x15), major version 3. */
export function looksLikeTls(chunk: Buffer): boolean {
  return chunk.length >= 2 && (chunk[0] === 0x16 || chunk[0] === 0x15) && chunk[1] === 0x03;
}
