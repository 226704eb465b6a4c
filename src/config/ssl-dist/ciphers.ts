// Cipher suite names as Erlang's ssl accepts them (OpenSSL names or IANA names) turned into the
// OpenSSL cipher string node:tls takes.
import { getCiphers } from 'node:tls';

// IANA names of the TLS 1.2 suites worth configuring, with their OpenSSL names. TLS 1.3 suites
// have the same name in both (TLS_AES_128_GCM_SHA256, ...).
const IANA_TO_OPENSSL: Readonly<Record<string, string>> = {
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_DHE_RSA_WITH_AES_256_GCM_SHA384: 'DHE-RSA-AES256-GCM-SHA384',
  TLS_DHE_RSA_WITH_AES_128_GCM_SHA256: 'DHE-RSA-AES128-GCM-SHA256',
  TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'DHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384: 'ECDHE-ECDSA-AES256-SHA384',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384: 'ECDHE-RSA-AES256-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
};

export interface CipherList {
  /** For node:tls `ciphers`; undefined when no name was usable. */
  readonly ciphers?: string;
  /** Names this OpenSSL does not know. */
  readonly unknown: readonly string[];
}

/** `names` as written in ssl_dist.conf: each may itself be a `:`-separated list. */
export function toOpenSslCiphers(names: readonly string[]): CipherList {
  const known = new Set(getCiphers());
  const usable: string[] = [];
  const unknown: string[] = [];
  for (const name of names.flatMap((n) => n.split(':')).map((n) => n.trim()).filter((n) => n !== '')) {
    const openssl = IANA_TO_OPENSSL[name.toUpperCase()] ?? name;
    if (known.has(openssl.toLowerCase())) usable.push(openssl);
    else unknown.push(name);
  }
  return usable.length > 0 ? { ciphers: usable.join(':'), unknown } : { unknown };
}
