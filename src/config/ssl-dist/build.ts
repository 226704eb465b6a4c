// Per-side settings turned into node:tls options: certificate files read and checked together.
import { constants as cryptoConstants, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import {
  checkServerIdentity, createSecureContext,
  type ConnectionOptions, type PeerCertificate, type SecureContextOptions, type SecureVersion, type TlsOptions,
} from 'node:tls';
import { intermediates } from './chain.js';
import type { Collector, FileRef, Side, SideName } from './read.js';

/** Versions as node:tls's contiguous range. */
function versionRange(v: readonly SecureVersion[] | undefined): { minVersion: SecureVersion; maxVersion?: SecureVersion } {
  if (!v) return { minVersion: 'TLSv1.2' };
  const sorted = [...v].sort();
  return { minVersion: sorted[0] as SecureVersion, maxVersion: sorted[sorted.length - 1] as SecureVersion };
}

interface Material { cert?: Buffer; key?: Buffer; ca?: Buffer; dhparam?: Buffer }

function readMaterial(side: SideName, s: Side, c: Collector): Material {
  const m: Material = {};
  const read = (option: string, ref: FileRef | undefined, marker: RegExp, what: string): Buffer | undefined => {
    if (!ref) return undefined;
    let data: Buffer;
    try {
      data = readFileSync(ref.path);
    } catch (err) {
      c.problem(`${side}: ${option} ${ref.path}: ${ioReason(err)}`, ref.at);
      return undefined;
    }
    if (!marker.test(data.toString('latin1'))) {
      c.problem(`${side}: ${option} ${ref.path} is not a PEM file holding ${what}`, ref.at);
      return undefined;
    }
    return data;
  };
  const cert = read('certfile', s.certfile, /-----BEGIN CERTIFICATE-----/, 'a certificate (-----BEGIN CERTIFICATE-----)');
  const ca = read('cacertfile', s.cacertfile, /-----BEGIN CERTIFICATE-----/, 'CA certificates (-----BEGIN CERTIFICATE-----)');
  // As in Erlang, without a keyfile the key is looked for in the certfile.
  const key = s.keyfile
    ? read('keyfile', s.keyfile, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a private key (-----BEGIN PRIVATE KEY-----)')
    : cert && /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(cert.toString('latin1')) ? cert : undefined;
  const dh = read('dhfile', s.dhfile, /-----BEGIN DH PARAMETERS-----/, 'Diffie-Hellman parameters');
  if (cert) m.cert = cert;
  if (key) m.key = key;
  if (ca) m.ca = ca;
  if (dh) m.dhparam = dh;
  if (cert && !key && !s.keyfile) c.problem(`${side}: keyfile is missing and certfile ${s.certfile?.path ?? ''} holds no private key`, s.certfile?.at);
  return m;
}

function common(side: SideName, s: Side, verify: boolean, c: Collector): SecureContextOptions & { minVersion: SecureVersion } {
  const m = readMaterial(side, s, c);
  if (verify && !s.cacertfile) {
    const why = s.verify === undefined ? ' (verify_peer is the default on the client side)' : '';
    c.problem(`${side}: verify_peer${why} needs a cacertfile: the CA that signed the other nodes' certificates`);
  }
  if (m.cert && s.certfile) warnValidity(side, m.cert, s.certfile, c);
  const opts: SecureContextOptions & { minVersion: SecureVersion } = {
    ...m,
    ...(s.password !== undefined ? { passphrase: s.password } : {}),
    ...(s.ciphers !== undefined ? { ciphers: s.ciphers } : {}),
    ...versionRange(s.versions),
  };
  if (c.problems.length === 0) checkContext(side, s, opts, c);
  return opts;
}

/** An expired certificate still loads; peers refuse it, so say so at start rather than per link. */
function warnValidity(side: SideName, pem: Buffer, ref: FileRef, c: Collector): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    return; // createSecureContext reports unusable certificates.
  }
  const now = Date.now();
  if (Date.parse(cert.validTo) < now) c.warn(`${side}: certfile ${ref.path} expired on ${cert.validTo}: other nodes will refuse it`, ref.at);
  else if (Date.parse(cert.validFrom) > now) c.warn(`${side}: certfile ${ref.path} is not valid before ${cert.validFrom}: other nodes will refuse it`, ref.at);
}

/** node:tls checks the key against the certificate, the password and the ciphers here. */
function checkContext(side: SideName, s: Side, opts: SecureContextOptions, c: Collector): void {
  try {
    createSecureContext(opts);
  } catch (err) {
    const msg = (err as Error).message;
    const cert = s.certfile?.path ?? '';
    const key = s.keyfile?.path ?? cert;
    if (/key values mismatch/i.test(msg)) c.problem(`${side}: keyfile ${key} is not the private key of certfile ${cert}`, s.keyfile?.at);
    else if (/bad decrypt|bad password|passphrase|interrupted or cancelled|DECODER routines/i.test(msg)) {
      c.problem(`${side}: cannot decrypt keyfile ${key}: ${s.password === undefined ? 'it is encrypted and no {password, "..."} is given' : 'wrong password'}`, s.keyfile?.at);
    } else if (/cipher/i.test(msg)) c.problem(`${side}: ciphers: ${msg}`);
    else c.problem(`${side}: the certificate files cannot be used together: ${msg}`, s.certfile?.at);
  }
}

export function buildServer(s: Side, verify: boolean, c: Collector): TlsOptions & SecureContextOptions {
  if (!s.certfile) c.problem('server: certfile is missing: this node needs a certificate to accept TLS connections from other nodes');
  const opts: TlsOptions & SecureContextOptions = {
    ...common('server', s, verify, c),
    requestCert: verify,
    rejectUnauthorized: verify,
  };
  if (s.honorCipherOrder !== undefined) opts.honorCipherOrder = s.honorCipherOrder;
  // Resumption on the server side is by session tickets (node:tls keeps no session cache).
  if (s.reuseSessions === false) opts.secureOptions = cryptoConstants.SSL_OP_NO_TICKET;
  return opts;
}

export function buildClient(s: Side, verify: boolean, c: Collector): ConnectionOptions {
  if (!s.certfile) c.warn('client: no certfile: nodes that require a client certificate (fail_if_no_peer_cert) will refuse this node');
  const opts: ConnectionOptions = { ...common('client', s, verify, c), rejectUnauthorized: verify };
  const sni = s.sni;
  const depth = s.depth;
  if (sni !== undefined && sni !== 'disable' && isIP(sni) === 0) opts.servername = sni;
  if (sni !== undefined || depth !== undefined) {
    opts.checkServerIdentity = (host: string, cert: PeerCertificate): Error | undefined => {
      if (depth !== undefined) {
        const n = intermediates(cert);
        if (n > depth) return new Error(`certificate chain has ${n} intermediate CA certificates, more than {depth, ${depth}} allows`);
      }
      if (sni === 'disable') return undefined;
      return checkServerIdentity(sni ?? host, cert);
    };
  }
  return opts;
}

export function ioReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory, not a file';
  return (err as Error).message;
}
