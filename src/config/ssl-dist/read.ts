// ssl_dist.conf terms read into per-side settings, with problems and warnings located by line.
import { resolve } from 'node:path';
import type { SecureVersion } from 'node:tls';
import { erlString, isAtom, isList, isTuple, type ErlTerm, type Position } from '../erlang-terms.js';
import type { ConfigProblem } from '../types.js';
import { toOpenSslCiphers } from './ciphers.js';

export type SideName = 'server' | 'client';
export type Locate = (t: ErlTerm) => Position | undefined;

export const SHAPE = 'expected [{server, [Option, ...]}, {client, [Option, ...]}].';

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

export interface FileRef { readonly path: string; readonly at?: Position }

/** One section's options as read, before they become node:tls options. */
export interface Side {
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

export class Collector {
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

export function readSections(terms: unknown, c: Collector): Partial<Record<SideName, readonly ErlTerm[]>> | undefined {
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

export function readSide(side: SideName, opts: readonly ErlTerm[], c: Collector, base: string): Side {
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
