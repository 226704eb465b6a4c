// Mutual TLS links and every way a TLS peer can be wrong, against live listeners.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DistTlsOptions } from '../../src/config/types.js';
import { LinkError, type LinkRefusal } from '../../src/link/index.js';
import { makeCa, makeIntermediateCa, makeNodeCert, type TestCa } from '../helpers/certs.js';
import { randomBasePort, startNode, waitEvent } from './fixtures.js';

const base = randomBasePort();

function tlsOptions(ca: TestCa, cert: { certFile: string; keyFile: string }): DistTlsOptions {
  const files = { ca: readFileSync(ca.certFile), cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) };
  return { server: { ...files, requestCert: true, rejectUnauthorized: true }, client: { ...files, rejectUnauthorized: true }, warnings: [] };
}

test('TLS links: mutual verification, and every wrong peer refused with its reason', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dist-tls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [ca, otherCa] = await Promise.all([makeCa(join(dir, 'ca')), makeCa(join(dir, 'other'), 'Other CA')]);
  const names = { a: 'a1@127.0.42.1', b: 'b2@127.0.42.2', m: 'm3@127.0.42.3', x: 'x4@127.0.42.4', v6: 'v6@::1', w6: 'w7@::1' };
  const [ca_, cb, cmOther, cmExpired, c6, c7] = await Promise.all([
    makeNodeCert(ca, join(dir, 'n'), names.a),
    makeNodeCert(ca, join(dir, 'n'), names.b),
    makeNodeCert(otherCa, join(dir, 'o'), names.m),
    makeNodeCert(ca, join(dir, 'e'), names.x, { expired: true }),
    makeNodeCert(ca, join(dir, 'n'), names.v6),
    makeNodeCert(ca, join(dir, 'n'), names.w6),
  ]);
  const a = await startNode(t, names.a, { basePort: base, protoDist: 'inet_tls', tls: tlsOptions(ca, ca_) });
  const b = await startNode(t, names.b, { basePort: base, protoDist: 'inet_tls', tls: tlsOptions(ca, cb) });
  a.handle('e', (_f, p) => p);
  await b.connect(a.self);
  assert.equal(b.linkInfo(a.self)?.transport, 'tls');
  assert.deepEqual(await b.call(a.self, 'e', Buffer.from('over tls')), Buffer.from('over tls'));
  const stillServes = async (): Promise<void> => assert.equal(await b.call(a.self, 'e', 'ok'), 'ok');
  const listenerRefusal = (): Promise<[string | undefined, LinkRefusal, string]> =>
    waitEvent<[string | undefined, LinkRefusal, string]>(a, 'refused', undefined, 5000);

  const dialFails = async (p: Promise<void>, code: LinkRefusal, detail: RegExp): Promise<void> => {
    await assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof LinkError, String(e));
      assert.equal(e.code, code, e.message);
      assert.match(e.message, detail);
      return true;
    });
  };

  await t.test('a peer certificate from another CA', async (t) => {
    // m trusts our CA (so it would accept a), but its own certificate is signed by another CA.
    const tls = tlsOptions(ca, cmOther);
    const m = await startNode(t, names.m, { basePort: base, protoDist: 'inet_tls', tls });
    const refused = listenerRefusal();
    await dialFails(m.connect(a.self), 'tls_handshake_failed', /.+/);
    const [, reason, detail] = await refused;
    assert.equal(reason, 'tls_handshake_failed');
    assert.match(detail, /unknown CA|unable to verify|self.signed/i);
    t.diagnostic(detail);
    await stillServes();
  });

  await t.test('a dialer that does not trust our CA', async (t) => {
    const files = { ca: readFileSync(otherCa.certFile), cert: readFileSync(cmOther.certFile), key: readFileSync(cmOther.keyFile) };
    const m = await startNode(t, names.m, {
      basePort: base, protoDist: 'inet_tls', tls: { server: files, client: { ...files, rejectUnauthorized: true }, warnings: [] },
    });
    await dialFails(m.connect(a.self), 'tls_handshake_failed', /unknown CA/);
    await stillServes();
  });

  await t.test('an expired certificate', async (t) => {
    const x = await startNode(t, names.x, { basePort: base, protoDist: 'inet_tls', tls: tlsOptions(ca, cmExpired) });
    const refused = listenerRefusal();
    await dialFails(x.connect(a.self), 'tls_handshake_failed', /.+/);
    const [, reason, detail] = await refused;
    assert.equal(reason, 'tls_handshake_failed');
    assert.match(detail, /certificate has expired/);
    await stillServes();
  });

  await t.test('plaintext dialer to the TLS port', async (t) => {
    const p = await startNode(t, 'p5@127.0.42.5', { basePort: base });
    const refused = listenerRefusal();
    await dialFails(p.connect(a.self), 'tls_handshake_failed', /TLS/);
    const [, reason, detail] = await refused;
    assert.equal(reason, 'tls_handshake_failed');
    assert.match(detail, /plaintext/);
    await stillServes();
  });

  await t.test('TLS dialer to a plaintext port', async (t) => {
    const p = await startNode(t, 'p6@127.0.42.6', { basePort: base });
    const refused = waitEvent<[string | undefined, LinkRefusal, string]>(p, 'refused');
    await dialFails(a.connect(p.self), 'tls_handshake_failed', /plaintext|does not speak TLS/);
    const [, reason, detail] = await refused;
    assert.equal(reason, 'tls_handshake_failed');
    assert.match(detail, /spoke TLS on a plaintext port/);
    await stillServes();
  });

  await t.test('a wrong cookie inside TLS', async (t) => {
    const m = await startNode(t, 'b12@127.0.42.2', { basePort: base, protoDist: 'inet_tls', tls: tlsOptions(ca, cb), cookie: 'bad' });
    await dialFails(m.connect(a.self), 'authentication_failed', /cookie/);
    await stillServes();
  });

  await t.test('a dialer whose chain is deeper than the server\'s {depth, N}', async (t) => {
    // The dialer's certificate comes from an intermediate CA under the root: one intermediate.
    const [chained, c7, c8] = await Promise.all([
      makeIntermediateCa(ca, join(dir, 'inter')).then((inter) => makeNodeCert(inter, join(dir, 'c'), 'c9@127.0.42.9')),
      makeNodeCert(ca, join(dir, 'n'), 'd7@127.0.42.7'),
      makeNodeCert(ca, join(dir, 'n'), 'd8@127.0.42.8'),
    ]);
    const strict = await startNode(t, 'd7@127.0.42.7', { basePort: base, protoDist: 'inet_tls', tls: { ...tlsOptions(ca, c7), serverDepth: 0 } });
    const lenient = await startNode(t, 'd8@127.0.42.8', { basePort: base, protoDist: 'inet_tls', tls: { ...tlsOptions(ca, c8), serverDepth: 1 } });
    const c = await startNode(t, 'c9@127.0.42.9', { basePort: base, protoDist: 'inet_tls', tls: tlsOptions(ca, chained) });
    const refused = waitEvent<[string | undefined, LinkRefusal, string]>(strict, 'refused', undefined, 5000);
    await dialFails(c.connect(strict.self), 'tls_handshake_failed', /.+/);
    const [, reason, detail] = await refused;
    assert.equal(reason, 'tls_handshake_failed');
    assert.match(detail, /1 intermediate CA certificates, more than \{depth, 0\} allows/);
    await c.connect(lenient.self);
    assert.deepEqual(c.nodes(), [lenient.self]);
  });

  await t.test('inet6_tls on ::1', async (t) => {
    const v = await startNode(t, names.v6, { basePort: base, protoDist: 'inet6_tls', tls: tlsOptions(ca, c6) });
    const w = await startNode(t, names.w6, { basePort: base, protoDist: 'inet6_tls', tls: tlsOptions(ca, c7) });
    w.handle('e', (_f, p) => p);
    await v.connect(w.self);
    assert.equal(v.linkInfo(w.self)?.transport, 'tls6');
    assert.match(v.linkInfo(w.self)!.address, /^\[::1\]:\d+$/);
    assert.equal(await v.call(w.self, 'e', 6), 6);
  });
});
