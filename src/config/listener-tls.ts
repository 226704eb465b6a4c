// The certificate files of the ssl and wss listeners, read and checked together when the config
// is loaded, so `check_config`, a start and a reload all refuse the same unusable files (with
// the key's position), and a listener is never half-started on a bad key. The material rides
// in the Config, so a rotated certificate shows up as a changed listener on reload.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureVersion, type TlsOptions } from 'node:tls';
import type { ConfigProblem, DashboardListenerConfig, ListenerConfig, ListenerType, ListenersConfig } from './types.js';
import { ioReason } from './ssl-dist/build.js';

type Where = (path: readonly string[]) => Pick<ConfigProblem, 'file' | 'line' | 'column' | 'env'>;

const VERSION: Readonly<Record<string, SecureVersion>> = { tlsv1: 'TLSv1', 'tlsv1.1': 'TLSv1.1', 'tlsv1.2': 'TLSv1.2', 'tlsv1.3': 'TLSv1.3' };
const ORDER: readonly SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** node:tls server options for one listener, with the files' contents. */
export type ListenerTls = TlsOptions;

interface Result {
  readonly listeners: ListenersConfig;
  readonly problems: ConfigProblem[];
}

/**
 * Adds `tls` (node:tls server options) to every enabled ssl/wss listener. A listener that is
 * only there by default (not in the file) and whose default files are missing is turned off with
 * `off_reason` instead: a fresh install has no certificates.
 */
export function withListenerTls(listeners: ListenersConfig, where: Where): Result {
  const problems: ConfigProblem[] = [];
  const out: Record<string, Record<string, ListenerConfig>> = {};
  for (const type of Object.keys(listeners) as ListenerType[]) {
    out[type] = {};
    for (const [name, l] of Object.entries(listeners[type])) {
      if (!l.enable || !l.ssl_options) {
        out[type][name] = l;
        continue;
      }
      const path = ['listeners', type, name, 'ssl_options'];
      const local: ConfigProblem[] = [];
      const tls = build(l, path, where, local);
      if (local.length > 0 && l.implicit) {
        // Not worth a warning at every start of a fresh install: `emqx ctl listeners` and the
        // log say why it is off.
        const why = local.map((p) => p.message.replace(/^[^:]+: /, '')).join('; ');
        out[type][name] = { ...l, enable: false, off_reason: `${why} (put a certificate there, or configure listeners.${type}.${name})` };
        continue;
      }
      problems.push(...local);
      out[type][name] = tls ? { ...l, tls } : l;
    }
  }
  return { listeners: out as unknown as ListenersConfig, problems };
}

function build(l: ListenerConfig, path: readonly string[], where: Where, problems: ConfigProblem[]): ListenerTls | undefined {
  const o = l.ssl_options!;
  const key = (k: string): string => [...path, k].join('.');
  const problem = (k: string, message: string): void => {
    problems.push({ ...where([...path, k]), key: key(k), message: `${key(k)}: ${message}` });
  };
  const read = (k: 'certfile' | 'keyfile' | 'cacertfile', file: string, marker: RegExp, what: string): Buffer | undefined => {
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch (err) {
      problem(k, `${file}: ${ioReason(err)}`);
      return undefined;
    }
    if (!marker.test(data.toString('latin1'))) {
      problem(k, `${file} is not a PEM file holding ${what}`);
      return undefined;
    }
    return data;
  };
  const verify = o.verify === 'verify_peer';
  const cert = read('certfile', o.certfile, /-----BEGIN CERTIFICATE-----/, 'a certificate');
  const keyPem = read('keyfile', o.keyfile, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a private key');
  // Without verify_peer the CA file is not needed: EMQX's default points at one anyway.
  const ca = verify ? read('cacertfile', o.cacertfile, /-----BEGIN CERTIFICATE-----/, 'CA certificates') : undefined;
  if (!cert || !keyPem || (verify && !ca)) return undefined;
  const versions = o.versions.map((v) => VERSION[v]!).sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b));
  const tls: ListenerTls = {
    cert,
    key: keyPem,
    ...(ca ? { ca } : {}),
    ...(o.password !== undefined ? { passphrase: o.password } : {}),
    ...(o.ciphers.length > 0 ? { ciphers: o.ciphers.join(':') } : {}),
    minVersion: versions[0] ?? 'TLSv1.2',
    maxVersion: versions[versions.length - 1] ?? 'TLSv1.3',
    honorCipherOrder: o.honor_cipher_order,
    requestCert: verify,
    // verify_peer without fail_if_no_peer_cert lets in a client offering no certificate; the
    // listener checks that case itself (node:tls rejects both or neither).
    rejectUnauthorized: false,
    handshakeTimeout: o.handshake_timeout,
  };
  try {
    createSecureContext(tls);
  } catch (err) {
    const msg = (err as Error).message;
    if (/key values mismatch/i.test(msg)) problem('keyfile', `${o.keyfile} is not the private key of ${o.certfile}`);
    else if (/bad decrypt|bad password|passphrase|DECODER routines/i.test(msg)) problem('keyfile', `cannot decrypt ${o.keyfile}: ${o.password === undefined ? 'it is encrypted and no password is set' : 'wrong password'}`);
    else if (/cipher/i.test(msg)) problem('ciphers', msg);
    else problem('certfile', `the certificate files cannot be used together: ${msg}`);
    return undefined;
  }
  return tls;
}

/**
 * The dashboard's https listener with a digest of its certificate files (`tls`): the listener
 * reads the files itself when it opens or reloads, and the digest makes a renewal on disk a change
 * the reload hands it. An unreadable file digests as its error, which the listener reports.
 */
export function withDashboardTlsDigest<T extends { readonly listeners: { readonly https: DashboardListenerConfig } }>(dashboard: T): T {
  const https = dashboard.listeners.https;
  const o = https.ssl_options;
  if (!https.enable || !o) return dashboard;
  const h = createHash('sha256');
  for (const f of [o.certfile, o.keyfile, o.cacertfile]) {
    if (f === undefined) continue;
    h.update(f).update('\0');
    try {
      h.update(readFileSync(f));
    } catch (err) {
      h.update(`!${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  return { ...dashboard, listeners: { ...dashboard.listeners, https: { ...https, tls: h.digest('hex') } } };
}
