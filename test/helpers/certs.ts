// Real X.509 material for TLS tests, made with the openssl CLI (EC P-256, sha256).
// Certificates are signed with `openssl ca` because it is the only signer in OpenSSL 3.0 that
// accepts explicit start/end dates, which an expired certificate needs.
import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCa {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** Set on intermediate CAs: the CA certificates between this one and the root (root excluded). */
  readonly chain?: readonly string[];
}
export interface TestCert { readonly certFile: string; readonly keyFile: string }

export interface NodeCertOptions {
  /** subjectAltNames: IP addresses become `IP:`, anything else `DNS:`. Default: the host of a
   * `name@host` common name, or the common name itself. */
  readonly hosts?: readonly string[];
  /** Valid from two days ago until yesterday: rejected by every verifier. */
  readonly expired?: boolean;
  /** Validity in days from now (default 30). */
  readonly days?: number;
}

export interface SslDistConfOptions {
  readonly certfile: string;
  readonly keyfile: string;
  readonly cacertfile: string;
  /** Both sides (default verify_peer). */
  readonly verify?: 'verify_peer' | 'verify_none';
  /** Server side only (default: true with verify_peer, false with verify_none). */
  readonly failIfNoPeerCert?: boolean;
}

async function openssl(args: readonly string[], cwd?: string): Promise<void> {
  try {
    await run('openssl', [...args], { cwd, timeout: 20_000 });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`openssl ${args[0] ?? ''} failed: ${err.stderr?.trim() || err.message}`, { cause: e });
  }
}

/** Common names become file names; keep them to a safe alphabet. */
function fileStem(commonName: string): string {
  return commonName.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** `openssl ca` wants GeneralizedTime `YYYYMMDDHHMMSSZ` for dates outside UTCTime's range. */
function asn1Time(d: Date): string {
  return `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

/** The subject of a subjectAltName entry may not contain config-file metacharacters. */
function sanEntry(host: string): string {
  if (!/^[A-Za-z0-9.:_*-]+$/.test(host)) throw new Error(`makeNodeCert: unusable host ${JSON.stringify(host)}`);
  return `${isIP(host) ? 'IP' : 'DNS'}:${host}`;
}

function subject(commonName: string): string {
  // `openssl -subj` treats `/` and `\` specially.
  return `/CN=${commonName.replace(/[\\/]/g, (c) => `\\${c}`)}`;
}

export async function makeCa(dir: string, commonName = 'Test CA'): Promise<TestCa> {
  const abs = resolve(dir);
  await mkdir(abs, { recursive: true });
  const cnf = join(abs, 'ca-req.cnf');
  await writeFile(cnf, [
    '[ req ]', 'distinguished_name = dn', 'prompt = no', '[ dn ]', 'CN = unused',
    '[ v3_ca ]', 'basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash', '',
  ].join('\n'));
  const certFile = join(abs, 'ca.pem');
  const keyFile = join(abs, 'ca.key');
  await openssl(['req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '3650', '-sha256', '-subj', subject(commonName),
    '-config', cnf, '-extensions', 'v3_ca']);
  await rm(cnf, { force: true });
  return { dir: abs, certFile, keyFile };
}

export async function makeNodeCert(ca: TestCa, dir: string, commonName: string, opts: NodeCertOptions = {}): Promise<TestCert> {
  const at = commonName.lastIndexOf('@');
  const hosts = opts.hosts ?? [at >= 0 ? commonName.slice(at + 1) : commonName];
  const now = Date.now();
  const day = 86_400_000;
  // Backdate a little so that a verifier whose clock lags ours still accepts a fresh cert.
  const start = new Date(opts.expired ? now - 2 * day : now - 3_600_000);
  const end = new Date(opts.expired ? now - day : now + (opts.days ?? 30) * day);
  const stem = fileStem(commonName);
  const out = { certFile: join(resolve(dir), `${stem}.pem`), keyFile: join(resolve(dir), `${stem}.key`) };
  await issue(ca, out, commonName, 'node_ext', hosts, start, end);
  if (ca.chain) {
    // Peers trust only the root: the node presents the intermediates after its own certificate.
    const parts = await Promise.all([out.certFile, ca.certFile, ...ca.chain].map((f) => readFile(f, 'utf8')));
    await writeFile(out.certFile, parts.join(''));
  }
  return out;
}

/** A CA signed by `ca` (root or intermediate); node certificates it signs carry the chain. */
export async function makeIntermediateCa(ca: TestCa, dir: string, commonName = 'Test Intermediate CA'): Promise<TestCa> {
  const abs = resolve(dir);
  const out = { certFile: join(abs, 'ca.pem'), keyFile: join(abs, 'ca.key') };
  const now = Date.now();
  await issue(ca, out, commonName, 'ca_ext', [], new Date(now - 3_600_000), new Date(now + 365 * 86_400_000));
  return { dir: abs, ...out, chain: ca.chain ? [ca.certFile, ...ca.chain] : [] };
}

/** Makes a key and a certificate for it signed by `ca`, with the extensions of `section`. */
async function issue(ca: TestCa, out: TestCert, commonName: string, section: 'node_ext' | 'ca_ext',
  hosts: readonly string[], start: Date, end: Date): Promise<void> {
  const abs = dirname(out.certFile);
  await mkdir(abs, { recursive: true });
  // `openssl ca` keeps a database; a private one per certificate lets tests sign in parallel.
  const work = await mkdtemp(join(abs, `.ca-${fileStem(commonName)}-`));
  try {
    const cnf = await writeCaConfig(work, hosts);
    const csr = join(work, 'req.csr');
    await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', out.keyFile, '-out', csr, '-subj', subject(commonName), '-config', cnf]);
    await openssl(['ca', '-batch', '-config', cnf, '-cert', ca.certFile, '-keyfile', ca.keyFile,
      '-in', csr, '-out', out.certFile, '-notext', '-md', 'sha256',
      '-startdate', asn1Time(start), '-enddate', asn1Time(end), '-extensions', section]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Writes the private `openssl ca` configuration (also used by `req`); returns its path. */
async function writeCaConfig(work: string, hosts: readonly string[]): Promise<string> {
  const cnf = join(work, 'ca.cnf');
  const sans = hosts.map(sanEntry);
  await writeFile(join(work, 'index.txt'), '');
  // Serials must differ between certificates of one CA; a leading 1-7 keeps them positive and
  // openssl wants an even number of hex digits.
  await writeFile(join(work, 'serial'), `${1 + randomInt(7)}0${randomBytes(15).toString('hex')}\n`);
  await writeFile(cnf, [
    '[ req ]', 'distinguished_name = dn', 'prompt = no', '[ dn ]', 'CN = unused',
    '[ ca ]', 'default_ca = ca_default',
    '[ ca_default ]',
    `database = ${join(work, 'index.txt')}`,
    `new_certs_dir = ${work}`,
    `serial = ${join(work, 'serial')}`,
    'default_md = sha256', 'policy = policy_any', 'unique_subject = no', 'copy_extensions = none',
    '[ policy_any ]', 'commonName = supplied',
    '[ node_ext ]', 'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature, keyEncipherment',
    'extendedKeyUsage = serverAuth, clientAuth',
    'subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid',
    ...(sans.length > 0 ? [`subjectAltName = ${sans.join(', ')}`] : []),
    '[ ca_ext ]', 'basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid',
    '',
  ].join('\n'));
  return cnf;
}

/** An Erlang string literal for a file path. */
function erlString(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export async function writeSslDistConf(path: string, o: SslDistConfOptions): Promise<void> {
  const verify = o.verify ?? 'verify_peer';
  const failIfNoPeerCert = o.failIfNoPeerCert ?? verify === 'verify_peer';
  const files = [
    `{certfile, ${erlString(o.certfile)}}`,
    `{keyfile, ${erlString(o.keyfile)}}`,
    `{cacertfile, ${erlString(o.cacertfile)}}`,
  ];
  const server = [...files, `{verify, ${verify}}`, `{fail_if_no_peer_cert, ${failIfNoPeerCert}}`];
  const client = [...files, `{verify, ${verify}}`];
  const body = `%% Written by a test.\n[{server,\n  [${server.join(',\n   ')}]},\n {client,\n  [${client.join(',\n   ')}]}].\n`;
  await writeFile(path, body);
}

