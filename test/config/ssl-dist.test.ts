import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { connect, createServer, type ConnectionOptions, type TLSSocket, type TlsOptions } from 'node:tls';
import { promisify } from 'node:util';
import { loadSslDistFile, sslDistFromTerms } from '../../src/config/ssl-dist.js';
import type { ErlTerm } from '../../src/config/erlang-terms.js';
import { ConfigError, type DistTlsOptions } from '../../src/config/types.js';
import { makeCa, makeIntermediateCa, makeNodeCert, writeSslDistConf, type TestCa, type TestCert } from '../helpers/certs.js';

const ROOT = resolve(fileURLToPath(new URL('../../', import.meta.url)));
const run = promisify(execFile);

let dir: string;
let ca: TestCa;
let node1: TestCert;
let node2: TestCert;
let expired: TestCert;
let elsewhere: TestCert;
let otherCa: TestCa;
let stranger: TestCert;
let chained: TestCert;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ssl-dist-'));
  ca = await makeCa(join(dir, 'ca'));
  otherCa = await makeCa(join(dir, 'other-ca'), 'Other CA');
  [node1, node2, expired, elsewhere, stranger] = await Promise.all([
    makeNodeCert(ca, join(dir, 'n1'), 'emqx1@127.0.0.1'),
    makeNodeCert(ca, join(dir, 'n2'), 'emqx2@127.0.0.1'),
    makeNodeCert(ca, join(dir, 'old'), 'old@127.0.0.1', { expired: true }),
    makeNodeCert(ca, join(dir, 'far'), 'far@127.0.0.9'),
    makeNodeCert(otherCa, join(dir, 'stranger'), 'stranger@127.0.0.1'),
  ]);
  chained = await makeNodeCert(await makeIntermediateCa(ca, join(dir, 'inter')), join(dir, 'chained'), 'chained@127.0.0.1');
});
after(() => rm(dir, { recursive: true, force: true }));

let seq = 0;
async function confFile(text: string): Promise<string> {
  const f = join(dir, `ssl_dist_${++seq}.conf`);
  await writeFile(f, text);
  return f;
}

function sideOpts(c: TestCert, extra = ''): string {
  return `{certfile, "${c.certFile}"}, {keyfile, "${c.keyFile}"}, {cacertfile, "${ca.certFile}"}${extra}`;
}

/** The ConfigError loadSslDistFile throws, as the operator would read it. */
function failure(file: string): ConfigError {
  try {
    loadSslDistFile(file);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail(`${file} was accepted`);
}

/** One real TLS connection over loopback; resolves with what each side saw. */
async function handshake(serverTls: DistTlsOptions, clientTls: DistTlsOptions, clientExtra: ConnectionOptions = {}): Promise<{ ok: boolean; clientError?: string; serverAuthorized?: boolean }> {
  const serverOpts: TlsOptions = { ...serverTls.server };
  const server = createServer(serverOpts, (s: TLSSocket) => {
    s.end('hello');
  });
  const serverErrors: string[] = [];
  server.on('tlsClientError', (e) => serverErrors.push(e.message));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as AddressInfo).port;
    return await new Promise((resolvePromise) => {
      const timer = setTimeout(() => {
        sock.destroy();
        resolvePromise({ ok: false, clientError: 'timeout' });
      }, 5000);
      const sock = connect({ ...clientTls.client, host: '127.0.0.1', port, ...clientExtra });
      let data = '';
      sock.on('data', (d: Buffer) => { data += d.toString(); });
      sock.on('error', (e) => {
        clearTimeout(timer);
        resolvePromise({ ok: false, clientError: `${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}` });
      });
      sock.on('close', () => {
        clearTimeout(timer);
        resolvePromise(data === 'hello' ? { ok: true } : { ok: false, clientError: `closed: ${serverErrors.join('; ')}` });
      });
    });
  } finally {
    server.close();
  }
}

describe('ssl_dist.conf with verify_peer on both sides', () => {
  test('maps files, verification and versions to node:tls options, without warnings', async () => {
    const f = join(dir, 'peer.conf');
    await writeSslDistConf(f, { certfile: node1.certFile, keyfile: node1.keyFile, cacertfile: ca.certFile });
    const o = loadSslDistFile(f);
    assert.deepEqual(o.warnings, []);
    assert.deepEqual(o.verifyPeer, { server: true, client: true });
    assert.equal(o.failIfNoPeerCert, true);
    assert.equal(o.server.requestCert, true);
    assert.equal(o.server.rejectUnauthorized, true);
    assert.equal(o.client.rejectUnauthorized, true);
    assert.equal(o.server.minVersion, 'TLSv1.2');
    assert.deepEqual(o.server.cert, await readFile(node1.certFile));
    assert.deepEqual(o.client.key, await readFile(node1.keyFile));
    assert.deepEqual(o.client.ca, await readFile(ca.certFile));
  });

  test('two nodes with certificates from the CA connect; expired, foreign and absent client certs are refused', async () => {
    const f1 = join(dir, 'n1.conf');
    const f2 = join(dir, 'n2.conf');
    const fOld = join(dir, 'old.conf');
    const fStranger = join(dir, 'stranger.conf');
    await writeSslDistConf(f1, { certfile: node1.certFile, keyfile: node1.keyFile, cacertfile: ca.certFile });
    await writeSslDistConf(f2, { certfile: node2.certFile, keyfile: node2.keyFile, cacertfile: ca.certFile });
    await writeSslDistConf(fOld, { certfile: expired.certFile, keyfile: expired.keyFile, cacertfile: ca.certFile });
    await writeSslDistConf(fStranger, { certfile: stranger.certFile, keyfile: stranger.keyFile, cacertfile: ca.certFile });
    const n1 = loadSslDistFile(f1);
    assert.deepEqual(await handshake(n1, loadSslDistFile(f2)), { ok: true });
    for (const [name, f] of [['expired', fOld], ['other CA', fStranger]] as const) {
      const r = await handshake(n1, loadSslDistFile(f));
      assert.equal(r.ok, false, `${name} client certificate accepted`);
    }
    const anonymous = await handshake(n1, n1, { cert: undefined, key: undefined });
    assert.equal(anonymous.ok, false, 'a client without a certificate was accepted');
  });

  test('the dialled node must name the host it is dialled at, unless server_name_indication says otherwise', async () => {
    // `far` is a good certificate for 127.0.0.9, served here from 127.0.0.1.
    const serverConf = await confFile(`[{server, [${sideOpts(elsewhere, ', {verify, verify_peer}, {fail_if_no_peer_cert, true}')}]}, {client, [${sideOpts(elsewhere)}]}].`);
    const server = loadSslDistFile(serverConf);
    const strict = loadSslDistFile(await confFile(`[{server, [${sideOpts(node1, ', {verify, verify_peer}')}]}, {client, [${sideOpts(node1)}]}].`));
    const mismatch = await handshake(server, strict);
    assert.equal(mismatch.ok, false);
    assert.match(mismatch.clientError ?? '', /ERR_TLS_CERT_ALTNAME_INVALID/);

    const named = loadSslDistFile(await confFile(`[{server, [${sideOpts(node1, ', {verify, verify_peer}')}]}, {client, [${sideOpts(node1, ', {server_name_indication, "127.0.0.9"}')}]}].`));
    assert.equal(named.serverNameIndication, '127.0.0.9');
    assert.deepEqual(await handshake(server, named), { ok: true });

    const disabled = loadSslDistFile(await confFile(`[{server, [${sideOpts(node1, ', {verify, verify_peer}')}]}, {client, [${sideOpts(node1, ', {server_name_indication, disable}')}]}].`));
    assert.equal(disabled.serverNameIndication, 'disable');
    assert.deepEqual(await handshake(server, disabled), { ok: true });
    // The chain is still checked with SNI disabled.
    const foreign = loadSslDistFile(await confFile(`[{server, [{certfile, "${stranger.certFile}"}, {keyfile, "${stranger.keyFile}"}, {cacertfile, "${otherCa.certFile}"}]}].`));
    assert.equal((await handshake(foreign, disabled)).ok, false);
  });
});

describe('depth', () => {
  test('limits the intermediate CAs between a dialled node and the CA', async () => {
    // `chained` is signed by an intermediate CA under the root; it presents that intermediate.
    const server = loadSslDistFile(await confFile(`[{server, [${sideOpts(chained, ', {verify, verify_peer}, {fail_if_no_peer_cert, true}')}]}, {client, [${sideOpts(chained)}]}].`));
    const client = async (depth: string): Promise<DistTlsOptions> => loadSslDistFile(await confFile(`[{client, [${sideOpts(node1, depth)}]}, {server, [${sideOpts(node1)}]}].`));
    assert.deepEqual(await handshake(server, await client('')), { ok: true });
    assert.deepEqual(await handshake(server, await client(', {depth, 1}')), { ok: true });
    const refused = await handshake(server, await client(', {depth, 0}'));
    assert.equal(refused.ok, false);
    assert.match(refused.clientError ?? '', /1 intermediate CA certificates, more than \{depth, 0\} allows/);
  });
});

describe('ssl_dist.conf as EMQX ships it (verify_none)', () => {
  test('works, and warns loudly for each side', async () => {
    const f = await confFile(`%% EMQX's shape
[{server,
  [
  %{log_level, debug},
   {certfile, "${node1.certFile}"},
   {keyfile, "${node1.keyFile}"},
   {cacertfile, "${ca.certFile}"},
   {verify, verify_none}
  ]},
 {client,
  [
   {verify, verify_none}
  ]}].
`);
    const o = loadSslDistFile(f);
    assert.deepEqual(o.verifyPeer, { server: false, client: false });
    assert.equal(o.server.rejectUnauthorized, false);
    assert.equal(o.server.requestCert, false);
    assert.equal(o.client.rejectUnauthorized, false);
    assert.ok(o.warnings.some((w) => /accepts ANY peer.*verify_none/s.test(w)), o.warnings.join('\n'));
    assert.ok(o.warnings.some((w) => /trusts ANY node it dials.*verify_none/s.test(w)), o.warnings.join('\n'));
    assert.deepEqual(await handshake(o, o), { ok: true });
  });
});

describe('options', () => {
  test('versions: tlsv1.2 is the floor, older versions are dropped with a warning; none left is an error', async () => {
    const only13 = loadSslDistFile(await confFile(`[{server, [${sideOpts(node1, ", {versions, ['tlsv1.3']}")}]}, {client, [${sideOpts(node1, ", {versions, ['tlsv1.1', 'tlsv1.2']}")}]}].`));
    assert.equal(only13.server.minVersion, 'TLSv1.3');
    assert.equal(only13.server.maxVersion, 'TLSv1.3');
    assert.equal(only13.client.minVersion, 'TLSv1.2');
    assert.equal(only13.client.maxVersion, 'TLSv1.2');
    assert.ok(only13.warnings.some((w) => /line 1: client: versions: tlsv1\.1 is ignored/.test(w)), only13.warnings.join('\n'));
    const err = failure(await confFile(`[{server, [${sideOpts(node1, ", {versions, [tlsv1, 'tlsv1.1']}")}]}].`));
    assert.match(err.message, /:1:\d+: server: versions allows no version/);
  });

  test('ciphers: OpenSSL and IANA names become one OpenSSL list; unknown names warn', async () => {
    const o = loadSslDistFile(await confFile(`[{server, [${sideOpts(node1, ', {ciphers, ["TLS_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "NOT-A-CIPHER"]}')}]}].`));
    assert.equal(o.server.ciphers, 'TLS_AES_256_GCM_SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384');
    assert.ok(o.warnings.some((w) => /unknown cipher suite NOT-A-CIPHER/.test(w)));
    const err = failure(await confFile(`[{server, [${sideOpts(node1, ', {ciphers, ["NOPE"]}')}]}].`));
    assert.match(err.message, /server: ciphers names no cipher suite/);
  });

  test('unknown and unsupported options are warnings naming them and their line; the rest still applies', async () => {
    const f = await confFile(`[{server, [${sideOpts(node1)},
  {frobnicate, 3},
  {crl_check, true},
  {secure_renegotiate, false},
  {reuse_sessions, false},
  {log_level, debug},
  {depth, 2}]}].`);
    const o = loadSslDistFile(f);
    const all = o.warnings.join('\n');
    assert.match(all, /line 2: server: unknown option frobnicate is ignored/);
    assert.match(all, /line 3: server: option crl_check is not supported/);
    assert.match(all, /line 4: server: \{secure_renegotiate, false\} cannot be honoured/);
    assert.doesNotMatch(all, /depth/, 'depth is enforced on both sides, no warning');
    assert.equal(o.serverDepth, 2);
    assert.doesNotMatch(all, /log_level/);
    assert.ok(((o.server.secureOptions ?? 0) & 0x4000) !== 0, 'reuse_sessions false should turn session tickets off');
  });

  test('an encrypted key needs the right password', async () => {
    const enc = join(dir, 'enc.key');
    await run('openssl', ['pkey', '-in', node1.keyFile, '-out', enc, '-aes256', '-passout', 'pass:s3cret']);
    const withPw = (pw: string): string => `[{server, [{certfile, "${node1.certFile}"}, {keyfile, "${enc}"}, {cacertfile, "${ca.certFile}"}${pw}]}].`;
    const o = loadSslDistFile(await confFile(withPw(', {password, "s3cret"}')));
    assert.equal(o.server.passphrase, 's3cret');
    assert.match(failure(await confFile(withPw(', {password, "wrong"}'))).message, /server: cannot decrypt keyfile .*enc\.key: wrong password/);
    assert.match(failure(await confFile(withPw(''))).message, /no \{password/);
  });

  test('relative file names are taken from the directory of ssl_dist.conf (the shipped file works as is)', async () => {
    const etc = join(dir, 'etc');
    await mkdir(join(etc, 'certs'), { recursive: true });
    await copyFile(join(ROOT, 'etc/ssl_dist.conf'), join(etc, 'ssl_dist.conf'));
    await copyFile(ca.certFile, join(etc, 'certs/cacert.pem'));
    await copyFile(node1.certFile, join(etc, 'certs/cert.pem'));
    await copyFile(node1.keyFile, join(etc, 'certs/key.pem'));
    const o = loadSslDistFile(join(etc, 'ssl_dist.conf'));
    assert.deepEqual(o.warnings, []);
    assert.deepEqual(o.verifyPeer, { server: true, client: true });
    assert.equal(o.failIfNoPeerCert, true);
    assert.equal(o.client.maxVersion, 'TLSv1.3');
    assert.deepEqual(await handshake(o, o), { ok: true });
  });

  test('a one-section file uses its options for both directions, and says so', async () => {
    const o = loadSslDistFile(await confFile(`[{server, [${sideOpts(node1, ', {verify, verify_peer}, {fail_if_no_peer_cert, true}')}]}].`));
    assert.equal(o.client.rejectUnauthorized, true);
    assert.deepEqual(o.client.cert, await readFile(node1.certFile));
    assert.ok(o.warnings.some((w) => /no client section/.test(w)));
    // A client-only file verifies in both directions (verify_peer is the client's default).
    const c = loadSslDistFile(await confFile(`[{client, [${sideOpts(node1)}]}].`));
    assert.deepEqual(c.verifyPeer, { server: true, client: true });
    assert.equal(c.failIfNoPeerCert, true);
    assert.equal(c.server.requestCert, true);
    assert.ok(!c.warnings.some((w) => /ANY/.test(w)), c.warnings.join('\n'));
  });
});

describe('errors name the file, the line and what is wrong', () => {
  test('the ssl_dist.conf file itself is missing', () => {
    const err = failure(join(dir, 'nope.conf'));
    assert.match(err.message, /nope\.conf: cannot read the TLS options file: no such file/);
  });

  test('a missing certificate file names the option and the file', async () => {
    const f = await confFile(`[{server,\n  [{certfile, "${node1.certFile}"},\n   {keyfile, "${node1.keyFile}"},\n   {cacertfile, "/nonexistent/cacert.pem"}]}].`);
    const err = failure(f);
    assert.equal(err.problems[0]?.line, 4);
    assert.match(err.message, /:4:\d+: server: cacertfile \/nonexistent\/cacert\.pem: no such file/);
  });

  test('a certificate that is not PEM, and a key of another certificate', async () => {
    const junk = join(dir, 'junk.pem');
    await writeFile(junk, 'not a certificate\n');
    assert.match(failure(await confFile(`[{server, [{certfile, "${junk}"}, {keyfile, "${node1.keyFile}"}, {cacertfile, "${ca.certFile}"}]}].`)).message,
      /server: certfile .*junk\.pem is not a PEM file holding a certificate/);
    assert.match(failure(await confFile(`[{server, [{certfile, "${node1.certFile}"}, {keyfile, "${node2.keyFile}"}, {cacertfile, "${ca.certFile}"}]}].`)).message,
      /server: keyfile .* is not the private key of certfile/);
  });

  test('a syntax error reports the line as erl does', async () => {
    const f = await confFile(`%% line 1
[{server,
  [
   {certfile, "a.pem"},
   {keyfile, "b.pem"},
   {cacertfile, "c.pem"},
   {verify, verify_peer}},
  ]}].
`);
    const err = failure(f);
    assert.equal(err.problems[0]?.line, 7);
    assert.match(err.message, /ssl_dist_\d+\.conf:7:\d+: syntax error before: '}'/);
  });

  test('wrong structure: not a list, not a section, options that are not {Name, Value}, bad values', async () => {
    assert.match(failure(await confFile('{server, []}.')).message, /the term is not a list/);
    assert.match(failure(await confFile('[{server, []}].\n[{client, []}].')).message, /:2:1: more than one term/);
    assert.match(failure(await confFile('')).message, /holds no term/);
    assert.match(failure(await confFile('[{servr, []}].')).message, /:1:2: expected \{server, \[\.\.\.\]\} or \{client, \[\.\.\.\]\}, found \{servr,\[\]\}/);
    assert.match(failure(await confFile('[{server, verify_peer}].')).message, /server: the options must be a list/);
    const f = await confFile(`[{server, [${sideOpts(node1)},\n verify_peer,\n {verify, yes},\n {depth, -1},\n {certfile, 42}]}].`);
    const err = failure(f);
    assert.deepEqual(err.problems.map((p) => p.line), [2, 3, 4, 5]);
    assert.match(err.message, /server: expected an option \{Name, Value\}, found verify_peer/);
    assert.match(err.message, /server: verify must be verify_peer or verify_none, found yes/);
    assert.match(err.message, /server: depth must be a non-negative integer, found -1/);
    assert.match(err.message, /server: certfile must be a file name in double quotes, found 42/);
  });

  test('verify_peer without fail_if_no_peer_cert says that certificate-less nodes get in', async () => {
    const o = loadSslDistFile(await confFile(`[{server, [${sideOpts(node1, ', {verify, verify_peer}')}]}, {client, [${sideOpts(node1)}]}].`));
    assert.equal(o.failIfNoPeerCert, false);
    assert.deepEqual(o.verifyPeer, { server: true, client: true });
    assert.ok(o.warnings.some((w) => /without \{fail_if_no_peer_cert, true\} lets in nodes that offer no certificate/.test(w)), o.warnings.join('\n'));
  });

  test('an expired certificate of this node is a warning at load (peers refuse it)', async () => {
    const o = loadSslDistFile(await confFile(`[{server, [${sideOpts(expired)}]}, {client, [${sideOpts(node1)}]}].`));
    assert.ok(o.warnings.some((w) => /line 1: server: certfile .*old_127\.0\.0\.1\.pem expired on/.test(w)), o.warnings.join('\n'));
    assert.ok(!o.warnings.some((w) => /client: certfile .*expired/.test(w)));
  });

  test('verify_peer without a CA, and a server without a certificate', async () => {
    assert.match(failure(await confFile(`[{server, [{certfile, "${node1.certFile}"}, {keyfile, "${node1.keyFile}"}, {verify, verify_peer}]}].`)).message,
      /server: verify_peer needs a cacertfile/);
    assert.match(failure(await confFile('[{server, [{verify, verify_none}]}, {client, [{verify, verify_none}]}].')).message,
      /server: certfile is missing/);
    assert.match(failure(await confFile(`[{server, [${sideOpts(node1)}]}, {client, [{certfile, "${node1.certFile}"}, {keyfile, "${node1.keyFile}"}]}].`)).message,
      /client: verify_peer \(verify_peer is the default on the client side\) needs a cacertfile/);
  });
});

describe('docs/tls.md', () => {
  test('its openssl commands make certificates that the shipped ssl_dist.conf accepts and connects with', async () => {
    const doc = await readFile(join(ROOT, 'docs/tls.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## Making a CA and node certificates'), doc.indexOf('## The file'));
    const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    assert.ok(blocks.length >= 2, 'the CA and node command blocks are missing');
    const etc = join(dir, 'doc-etc');
    await mkdir(join(etc, 'certs'), { recursive: true });
    // The node of the example is emqx1@10.0.0.1; here it lives on loopback.
    const script = blocks.slice(0, 2).join('\n').replaceAll('10.0.0.1', '127.0.0.1');
    await run('bash', ['-euc', script], { cwd: join(etc, 'certs'), timeout: 30_000 });
    await copyFile(join(ROOT, 'etc/ssl_dist.conf'), join(etc, 'ssl_dist.conf'));
    const o = loadSslDistFile(join(etc, 'ssl_dist.conf'));
    assert.deepEqual(o.warnings, []);
    assert.deepEqual(await handshake(o, o), { ok: true });
  });
});

describe('robustness', () => {
  test('file names may be binaries, as Erlang allows', async () => {
    const o = loadSslDistFile(await confFile(`[{server, [{certfile, <<"${node1.certFile}">>}, {keyfile, <<"${node1.keyFile}">>}, {cacertfile, "${ca.certFile}"}]}].`));
    assert.deepEqual(o.server.cert, await readFile(node1.certFile));
  });

  test('any term structure maps or fails with a ConfigError, never another exception (seeded)', () => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const names = ['server', 'client', 'certfile', 'keyfile', 'cacertfile', 'verify', 'verify_peer', 'verify_none', 'depth',
      'versions', 'tlsv1.2', 'ciphers', 'server_name_indication', 'disable', 'password', 'true', 'false', 'log_level', 'x'];
    const leaf = (): ErlTerm => [
      () => ({ atom: names[rnd(names.length)] ?? 'x' }), () => rnd(20) - 5, () => ['', 'a', node1.certFile, ca.certFile, node1.keyFile][rnd(5)] ?? '',
      () => ({ float: 1.5 }), () => ({ binary: Uint8Array.from([0xff, 0x41]) }), () => 10n ** 30n,
      () => ({ list: [1], tail: { atom: 'b' } }), () => ({ map: [] }),
    ][rnd(8)]?.() ?? 0;
    const term = (d: number): ErlTerm => {
      if (d <= 0 || rnd(3) === 0) return leaf();
      const kids = Array.from({ length: rnd(4) }, () => term(d - 1));
      return rnd(2) === 0 ? kids : { tuple: rnd(2) === 0 ? [{ atom: names[rnd(names.length)] ?? 'x' }, term(d - 1)] : kids };
    };
    let mapped = 0;
    for (let i = 0; i < 2000; i++) {
      const terms = rnd(10) === 0 ? [term(3)] : [[{ tuple: [{ atom: rnd(2) ? 'server' : 'client' }, Array.from({ length: rnd(6) }, () => term(2))] }]];
      try {
        sslDistFromTerms(terms, join(dir, 'fuzz.conf'));
        mapped++;
      } catch (err) {
        assert.ok(err instanceof ConfigError, `${String(err)} for ${JSON.stringify(terms, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
        assert.ok(err.problems.length > 0 && err.problems.every((p) => p.message.length > 0));
      }
    }
    assert.ok(mapped < 2000);
  });
});
