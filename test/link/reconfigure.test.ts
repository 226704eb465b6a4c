// Dist.reconfigure (hot reload of the link layer), in process on 127.0.93.x.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DistTlsOptions } from '../../src/config/types.js';
import { distPort } from '../../src/node/name.js';
import { makeCa, makeNodeCert, type TestCa } from '../helpers/certs.js';
import { randomBasePort, startNode, until, waitEvent } from './fixtures.js';

const base = randomBasePort();

function tlsOptions(ca: TestCa, cert: { certFile: string; keyFile: string }): DistTlsOptions {
  const files = { ca: readFileSync(ca.certFile), cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) };
  return { server: { ...files }, client: { ...files }, warnings: [], verifyPeer: { server: true, client: true } };
}

const common = (o: { cookie?: string; protoDist?: 'inet_tcp' | 'inet_tls'; tls?: DistTlsOptions }) => ({
  cookie: o.cookie ?? 'secret-cookie',
  clusterName: 'testcl',
  protoDist: o.protoDist ?? 'inet_tcp',
  tls: o.tls,
  basePort: base,
  netTicktimeMs: 4000,
});

test('a new cookie: links up stay up, new links need it', async (t) => {
  const a = await startNode(t, 'a1@127.0.93.1', { basePort: base });
  const b = await startNode(t, 'b2@127.0.93.2', { basePort: base });
  await b.connect(a.self);
  await until(() => a.isUp(b.self));
  const r = await a.reconfigure!(common({ cookie: 'new-cookie' }));
  assert.deepEqual(r, { relistened: false, relinked: false });
  assert.ok(a.isUp(b.self) && b.isUp(a.self));
  const c = await startNode(t, 'c3@127.0.93.3', { basePort: base });
  await assert.rejects(c.connect(a.self), { code: 'authentication_failed' });
  const d = await startNode(t, 'd4@127.0.93.4', { basePort: base, cookie: 'new-cookie' });
  await d.connect(a.self);
});

test('inet_tcp → inet_tls: the links come back on TLS; new certificates apply to new links', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dist-reconf-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [ca1, ca2] = await Promise.all([makeCa(join(dir, 'ca1')), makeCa(join(dir, 'ca2'), 'CA 2')]);
  const names = { e: 'e5@127.0.93.5', f: 'f6@127.0.93.6', g: 'g7@127.0.93.7' };
  const [ce, cf, ce2, cf2, cg] = await Promise.all([
    makeNodeCert(ca1, join(dir, 'ca1'), names.e),
    makeNodeCert(ca1, join(dir, 'ca1'), names.f),
    makeNodeCert(ca2, join(dir, 'ca2'), names.e),
    makeNodeCert(ca2, join(dir, 'ca2'), names.f),
    makeNodeCert(ca1, join(dir, 'ca1'), names.g),
  ]);
  const e = await startNode(t, names.e, { basePort: base });
  const f = await startNode(t, names.f, { basePort: base });
  e.setPeers([f.self]);
  f.setPeers([e.self]);
  await until(() => e.isUp(f.self) && f.isUp(e.self));
  const up = waitEvent<[string, { transport: string }]>(e, 'nodeup', (_n, info) => info.transport === 'tls', 10_000);
  assert.deepEqual(await e.reconfigure!(common({ protoDist: 'inet_tls', tls: tlsOptions(ca1, ce) })), { relistened: true, relinked: true });
  await f.reconfigure!(common({ protoDist: 'inet_tls', tls: tlsOptions(ca1, cf) }));
  await up;
  await until(() => e.isUp(f.self) && f.isUp(e.self), 10_000, 'TLS link both ways');
  assert.equal(e.linkInfo(f.self)?.transport, 'tls');

  // CA 2 everywhere: the links are made again with the new certificates; a node certified by
  // CA 1 is refused now.
  const down = waitEvent(e, 'nodedown');
  assert.deepEqual(await e.reconfigure!(common({ protoDist: 'inet_tls', tls: tlsOptions(ca2, ce2) })), { relistened: true, relinked: true });
  await down;
  await f.reconfigure!(common({ protoDist: 'inet_tls', tls: tlsOptions(ca2, cf2) }));
  await until(() => e.isUp(f.self) && f.isUp(e.self), 10_000, 'relink with the CA 2 certificates');
  const g = await startNode(t, names.g, { basePort: base, protoDist: 'inet_tls', tls: tlsOptions(ca1, cg) });
  await assert.rejects(g.connect(e.self), { code: 'tls_handshake_failed' });
});

test('a port that cannot be opened: rejected, the previous listener is back', async (t) => {
  const h = await startNode(t, 'h8@127.0.93.8', { basePort: base });
  const blocker = createServer();
  const newBase = base + 50;
  await new Promise<void>((r) => blocker.listen(distPort('h8@127.0.93.8', newBase), '127.0.93.8', r));
  t.after(() => blocker.close());
  await assert.rejects(h.reconfigure!({ ...common({}), basePort: newBase }), /in use/);
  const i = await startNode(t, 'i9@127.0.93.9', { basePort: base });
  await i.connect(h.self);
});
