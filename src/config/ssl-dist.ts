// ssl_dist.conf (Erlang terms, as EMQX ships it) mapped to node:tls options for the links
// between nodes. What Erlang's ssl would do is the reference; where node:tls cannot do the same,
// a warning says so instead of silently differing.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { checkServerIdentity, createSecureContext, type ConnectionOptions, type PeerCertificate, type SecureContextOptions, type SecureVersion, type TlsOptions } from 'node:tls';
import { constants as cryptoConstants, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import {
  ErlangTermsError, erlString, isAtom, isList, isTuple, parseErlangTerms,
  type ErlTerm, type Position,
} from './erlang-terms.js';
import { toOpenSslCiphers } from './ssl-dist/ciphers.js';
import { ConfigError, type ConfigProblem, type DistTlsOptions } from './types.js';

type SideName = 'server' | 'client';
type Locate = (t: ErlTerm) => Position | undefined;

const SHAPE = 'expected [{server, [Option, ...]}, {client, [Option, ...]}].';

/** Erlang ssl options this node does not implement: accepted with a warning. */
const UNSUPPORTED = new Set([
  'cert', 'key', 'cacerts', 'certs_keys', 'crl_check', 'crl_cache', 'partial_chain', 'verify_fun',
  'customize_hostname_check', 'alpn_advertised_protocols', 'alpn_preferred_protocols', 'eccs',
  'signature_algs', 'signature_algs_cert', 'supported_groups', 'padding_check', 'beast_mitigation',
  'client_renegotiation', 'keep_secrets', 'session_tickets', 'max_handshake_size', 'hibernate_after',
  'handshake', 'middlebox_comp_mode', 'ocsp_stapling', 'ocsp_nonce', 'ocsp_responder_certs',
  'reuse_session', 'user_lookup_fun', 'psk_identity', 'srp_identity', 'sni_hosts', 'sni_fun',
  'cert_policy_opts', 'early_data', 'anti_replay', 'use_ticket', 'log_alert', 'next_protocols_advertised',
  'client_preferred_next_protocols', 'fallback', 'receiver_spawn_opts', 'sender_spawn_opts',
  'use_srtp', 'max_fragment_length', 'stateless_tickets_seed', 'certificate_authorities',
  'cookie', 'recv_timeout',
]);
const LOG_LEVELS = new Set(['emergency', 'alert', 'critical', 'error', 'warning', 'notice', 'info', 'debug', 'none', 'all']);
const VERSIONS: Readonly<Record<string, SecureVersion>> = { 'tlsv1.2': 'TLSv1.2', 'tlsv1.3': 'TLSv1.3' };
const OLD_VERSIONS = new Set(['tlsv1', 'tlsv1.1', 'sslv3', 'sslv2']);

interface FileRef { readonly path: string; readonly at?: Position }

/** One section's options as read, before they become node:tls options. */
interface Side {
  certfile?: FileRef;
  keyfile?: FileRef;
  cacertfile?: FileRef;
  dhfile?: FileRef;
  password?: string;
  verify?: boolean;
  failIfNoPeerCert?: boolean;
  depth?: number;
  versions?: readonly SecureVersion[];
  ciphers?: string;
  sni?: string;
  reuseSessions?: boolean;
  honorCipherOrder?: boolean;
}

class Collector {
  readonly problems: ConfigProblem[] = [];
  readonly warnings: string[] = [];
  constructor(readonly file: string, private readonly locate: Locate) {}

  where(t: ErlTerm | undefined): Position | undefined {
    return t === undefined ? undefined : this.locate(t);
  }

  problem(message: string, at?: Position): void {
    this.problems.push({ file: this.file, message, ...(at ? { line: at.line, column: at.column } : {}) });
  }

  warn(message: string, at?: Position): void {
    this.warnings.push(at ? `line ${at.line}: ${message}` : message);
  }
}

/** Reads and maps ssl_dist.conf; throws ConfigError (src/config/types.ts) with file/line and what is wrong. */
export function loadSslDistFile(path: string): DistTlsOptions {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([{ file: path, message: `cannot read the TLS options file: ${ioReason(err)}` }]);
  }
  try {
    const doc = parseErlangTerms(text, path);
    return sslDistFromTerms(doc.terms, path, doc.position);
  } catch (err) {
    if (err instanceof ErlangTermsError) throw new ConfigError([{ file: path, line: err.line, column: err.column, message: err.detail }]);
    throw err;
  }
}

/**
 * Maps the terms of an ssl_dist.conf (file:consult's result) to TLS options. Reads the
 * certificate files it names, relative paths from the directory of `file`.
 */
export function sslDistFromTerms(terms: unknown, file: string, locate: Locate = () => undefined): DistTlsOptions {
  const c = new Collector(file, locate);
  const sections = readSections(terms, c);
  if (!sections) throw new ConfigError(c.problems);
  const base = dirname(resolve(file));
  const server = sections.server ? readSide('server', sections.server, c, base) : undefined;
  const client = sections.client ? readSide('client', sections.client, c, base) : undefined;
  if (!server && !client && c.problems.length === 0) c.problem(`no server or client section: ${SHAPE}`);
  if (c.problems.length > 0) throw new ConfigError(c.problems);

  // A missing section takes the node's identity and policy from the other: nodes dial and accept
  // with the same certificate, which is what a one-section file means in practice.
  const s = server ?? inherit(client as Side, true);
  const cl = client ?? inherit(server as Side, false);
  if (!server) c.warn('no server section: accepting connections with the options of the client section');
  if (!client) c.warn('no client section: dialling other nodes with the options of the server section');

  const serverVerify = s.verify ?? false;
  const clientVerify = cl.verify ?? true;
  const serverOpts = buildServer(s, serverVerify, c);
  const clientOpts = buildClient(cl, clientVerify, c);
  if (c.problems.length > 0) throw new ConfigError(c.problems);

  if (!serverVerify) {
    c.warn('TLS between nodes accepts ANY peer: the server side runs with verify_none (the default when {verify, ...} is absent), '
      + 'so whoever reaches the distribution port can join without a trusted certificate. '
      + 'Set {verify, verify_peer} and {fail_if_no_peer_cert, true} in the server section.');
  } else if (s.failIfNoPeerCert === false || s.failIfNoPeerCert === undefined) {
    c.warn('server: {verify, verify_peer} without {fail_if_no_peer_cert, true}: in Erlang this lets in nodes that offer no '
      + 'certificate at all; set {fail_if_no_peer_cert, true} to require one.');
  }
  if (!clientVerify) {
    c.warn('TLS between nodes trusts ANY node it dials: the client side runs with verify_none, so a machine in the path can '
      + 'impersonate a peer. Set {verify, verify_peer} and a cacertfile in the client section.');
  }
  return {
    server: serverOpts,
    client: clientOpts,
    warnings: c.warnings,
    verifyPeer: { server: serverVerify, client: clientVerify },
    failIfNoPeerCert: serverVerify && s.failIfNoPeerCert === true,
    ...(cl.sni !== undefined ? { serverNameIndication: cl.sni } : {}),
  };
}

/**
 * The other side's identity and policy, with that side's effective `verify` (its default is
 * `defaultVerify`). A server made from a verifying client section also requires a certificate.
 */
function inherit(from: Side, defaultVerify: boolean): Side {
  const { sni: _sni, failIfNoPeerCert: _f, dhfile: _d, honorCipherOrder: _h, ...rest } = from;
  const verify = from.verify ?? defaultVerify;
  return { ...rest, verify, failIfNoPeerCert: verify };
}

function readSections(terms: unknown, c: Collector): Partial<Record<SideName, readonly ErlTerm[]>> | undefined {
  if (!Array.isArray(terms) || terms.length === 0) {
    c.problem(`the file holds no term: ${SHAPE}`);
    return undefined;
  }
  const list = terms as readonly ErlTerm[];
  if (list.length > 1) {
    c.problem(`more than one term (a second one starts here): ${SHAPE}`, c.where(list[1]));
    return undefined;
  }
  const top = list[0];
  if (!isList(top)) {
    c.problem(`the term is not a list: ${SHAPE}`, c.where(top));
    return undefined;
  }
  const out: Partial<Record<SideName, readonly ErlTerm[]>> = {};
  for (const section of top as readonly ErlTerm[]) {
    const at = c.where(section);
    const [name, opts] = isTuple(section) && section.tuple.length === 2 ? section.tuple : [];
    if (!isAtom(name, 'server') && !isAtom(name, 'client')) {
      c.problem(`expected {server, [...]} or {client, [...]}, found ${show(section)}`, at);
      continue;
    }
    if (!isList(opts)) {
      c.problem(`${name.atom}: the options must be a list [{Option, Value}, ...], found ${show(opts)}`, c.where(opts) ?? at);
      continue;
    }
    const side = name.atom as SideName;
    if (out[side]) c.problem(`${side}: a second ${side} section`, at);
    out[side] = isList(opts) && typeof opts !== 'string' ? opts : [];
  }
  return c.problems.length > 0 ? undefined : out;
}

function readSide(side: SideName, opts: readonly ErlTerm[], c: Collector, base: string): Side {
  const s: Side = {};
  const seen = new Set<string>();
  for (const opt of opts) {
    const at = c.where(opt);
    if (!isTuple(opt) || opt.tuple.length !== 2 || !isAtom(opt.tuple[0])) {
      c.problem(`${side}: expected an option {Name, Value}, found ${show(opt)}`, at);
      continue;
    }
    const name = opt.tuple[0].atom;
    const value = opt.tuple[1] as ErlTerm;
    if (seen.has(name)) c.warn(`${side}: ${name} is given twice; the last one is used`, at);
    seen.add(name);
    const bad = (expected: string): void => c.problem(`${side}: ${name} must be ${expected}, found ${show(value)}`, at);
    const bool = (): boolean | undefined => {
      if (isAtom(value, 'true')) return true;
      if (isAtom(value, 'false')) return false;
      bad('true or false');
      return undefined;
    };
    const path = (): FileRef | undefined => {
      const p = text(value);
      if (p === undefined || p === '') {
        bad('a file name in double quotes');
        return undefined;
      }
      return { path: resolve(base, p), ...(at ? { at } : {}) };
    };
    switch (name) {
      case 'certfile': { const f = path(); if (f) s.certfile = f; break; }
      case 'keyfile': { const f = path(); if (f) s.keyfile = f; break; }
      case 'cacertfile': { const f = path(); if (f) s.cacertfile = f; break; }
      case 'dhfile':
        if (side === 'client') c.warn(`client: dhfile only applies to the server side; ignored`, at);
        else { const f = path(); if (f) s.dhfile = f; }
        break;
      case 'password': {
        const p = text(value);
        if (p === undefined) bad('a string');
        else s.password = p;
        break;
      }
      case 'verify':
        if (isAtom(value, 'verify_peer')) s.verify = true;
        else if (isAtom(value, 'verify_none')) s.verify = false;
        else bad('verify_peer or verify_none');
        break;
      case 'fail_if_no_peer_cert': {
        const b = bool();
        if (side === 'client') c.warn('client: fail_if_no_peer_cert only applies to the server side; ignored', at);
        else if (b !== undefined) s.failIfNoPeerCert = b;
        break;
      }
      case 'depth':
        if (typeof value === 'number' && Number.isInteger(value) && value >= 0) s.depth = value;
        else bad('a non-negative integer');
        break;
      case 'versions': readVersions(side, value, s, c, at); break;
      case 'ciphers': readCiphers(side, value, s, c, at); break;
      case 'server_name_indication':
        if (side === 'server') {
          c.warn('server: server_name_indication only applies to the client side; ignored', at);
        } else if (isAtom(value, 'disable')) {
          s.sni = 'disable';
        } else {
          const host = text(value);
          if (host === undefined || host === '') bad('disable or a host name in double quotes');
          else s.sni = host;
        }
        break;
      case 'secure_renegotiate':
        if (bool() === false) c.warn(`${side}: {secure_renegotiate, false} cannot be honoured: renegotiation is always the secure kind (RFC 5746)`, at);
        break;
      case 'reuse_sessions': {
        const b = bool();
        if (b !== undefined) s.reuseSessions = b;
        break;
      }
      case 'honor_cipher_order': {
        const b = bool();
        if (side === 'client') c.warn('client: honor_cipher_order only applies to the server side; ignored', at);
        else if (b !== undefined) s.honorCipherOrder = b;
        break;
      }
      case 'log_level':
        // TLS events are logged by the node's own logger at its level; the option changes nothing.
        if (!isAtom(value) || !LOG_LEVELS.has(value.atom)) bad(`one of ${[...LOG_LEVELS].join(', ')}`);
        break;
      default:
        if (UNSUPPORTED.has(name)) c.warn(`${side}: option ${name} is not supported by this node and is ignored`, at);
        else c.warn(`${side}: unknown option ${name} is ignored`, at);
    }
  }
  return s;
}

function readVersions(side: SideName, value: ErlTerm, s: Side, c: Collector, at: Position | undefined): void {
  if (!isList(value) || typeof value === 'string' || value.length === 0 || !value.every((v) => isAtom(v))) {
    c.problem(`${side}: versions must be a non-empty list of atoms such as ['tlsv1.2', 'tlsv1.3'], found ${show(value)}`, at);
    return;
  }
  const kept: SecureVersion[] = [];
  for (const v of value as readonly { atom: string }[]) {
    const ours = VERSIONS[v.atom];
    if (ours) kept.push(ours);
    else if (OLD_VERSIONS.has(v.atom)) c.warn(`${side}: versions: ${v.atom} is ignored, TLS 1.2 is the oldest version this node allows`, at);
    else c.warn(`${side}: versions: unknown version ${v.atom} is ignored`, at);
  }
  if (kept.length === 0) c.problem(`${side}: versions allows no version this node speaks: list 'tlsv1.2' and/or 'tlsv1.3'`, at);
  else s.versions = kept;
}

function readCiphers(side: SideName, value: ErlTerm, s: Side, c: Collector, at: Position | undefined): void {
  const whole = text(value);
  const names: string[] = [];
  if (whole !== undefined) {
    names.push(whole);
  } else if (isList(value)) {
    for (const item of value as readonly ErlTerm[]) {
      const n = text(item);
      if (n !== undefined) names.push(n);
      else c.warn(`${side}: ciphers: ${show(item)} is ignored; give cipher suites by name, e.g. "ECDHE-ECDSA-AES256-GCM-SHA384" or "TLS_AES_256_GCM_SHA384"`, at);
    }
  } else {
    c.problem(`${side}: ciphers must be a list of cipher suite names, found ${show(value)}`, at);
    return;
  }
  const list = toOpenSslCiphers(names);
  for (const u of list.unknown) c.warn(`${side}: ciphers: unknown cipher suite ${u} is ignored`, at);
  if (list.ciphers === undefined) c.problem(`${side}: ciphers names no cipher suite this node knows`, at);
  else s.ciphers = list.ciphers;
}

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

function buildServer(s: Side, verify: boolean, c: Collector): TlsOptions & SecureContextOptions {
  if (!s.certfile) c.problem('server: certfile is missing: this node needs a certificate to accept TLS connections from other nodes');
  const opts: TlsOptions & SecureContextOptions = {
    ...common('server', s, verify, c),
    requestCert: verify,
    rejectUnauthorized: verify,
  };
  if (s.honorCipherOrder !== undefined) opts.honorCipherOrder = s.honorCipherOrder;
  // Resumption on the server side is by session tickets (node:tls keeps no session cache).
  if (s.reuseSessions === false) opts.secureOptions = cryptoConstants.SSL_OP_NO_TICKET;
  if (s.depth !== undefined) c.warn(`server: {depth, ${s.depth}} is not enforced on connections from other nodes (only on the nodes this node dials)`);
  return opts;
}

function buildClient(s: Side, verify: boolean, c: Collector): ConnectionOptions {
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

/** CA certificates between the peer's certificate and the self-signed root. */
function intermediates(cert: PeerCertificate): number {
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

/** A string option's text: Erlang takes a string or, for file names and the like, a binary. */
function text(t: ErlTerm | undefined): string | undefined {
  const s = erlString(t);
  if (s !== undefined) return s;
  if (typeof t === 'object' && t !== null && 'binary' in t) {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(t.binary);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function ioReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory, not a file';
  return (err as Error).message;
}

/** A term as Erlang would write it, shortened for messages. */
function show(t: ErlTerm | undefined): string {
  const text = write(t);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function write(t: ErlTerm | undefined): string {
  if (t === undefined) return 'nothing';
  if (typeof t === 'number' || typeof t === 'bigint') return String(t);
  if (typeof t === 'string') return JSON.stringify(t);
  if (Array.isArray(t)) return `[${(t as readonly ErlTerm[]).map(write).join(',')}]`;
  const o = t as Exclude<ErlTerm, number | bigint | string | readonly ErlTerm[]>;
  if ('atom' in o) return /^[a-z][A-Za-z0-9_@]*$/.test(o.atom) ? o.atom : `'${o.atom}'`;
  if ('tuple' in o) return `{${o.tuple.map(write).join(',')}}`;
  if ('float' in o) return String(o.float);
  if ('binary' in o) return `<<${[...o.binary].join(',')}>>`;
  if ('map' in o) return `#{${o.map.map(([k, v]) => `${write(k)} => ${write(v)}`).join(',')}}`;
  return `[${o.list.map(write).join(',')}|${write(o.tail)}]`;
}
