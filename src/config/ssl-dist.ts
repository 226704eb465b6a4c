// ssl_dist.conf (Erlang terms, as EMQX ships it) mapped to node:tls options for the links
// between nodes. What Erlang's ssl would do is the reference; where node:tls cannot do the same,
// a warning says so instead of silently differing.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ErlangTermsError, parseErlangTerms } from './erlang-terms.js';
import { buildClient, buildServer, ioReason } from './ssl-dist/build.js';
import { Collector, readSections, readSide, SHAPE, type Locate, type Side } from './ssl-dist/read.js';
import { ConfigError, type DistTlsOptions } from './types.js';

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
    c.warn('server: {verify, verify_peer} without {fail_if_no_peer_cert, true} lets in nodes that offer no certificate at all '
      + '(as Erlang does); set {fail_if_no_peer_cert, true} to require one.');
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
    ...(s.depth !== undefined ? { serverDepth: s.depth } : {}),
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
