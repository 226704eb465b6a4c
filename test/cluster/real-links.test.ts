// Membership and replication over the real link layer and storage engine, several nodes in one
// process on their own loopback addresses (real sockets; processes are the integration tests').
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DistTlsOptions } from '../../src/config/types.js';
import { makeCa, makeNodeCert } from '../helpers/certs.js';
import { until } from './support/sim.js';
import { startRealNode, tempRoot, type RealNode } from './support/real-node.js';

test('join, replicate, status without waiting on a dead member, restart catch-up, over real links', async (t) => {
  const root = tempRoot('cluster-real-');
  const basePort = 20_000 + randomInt(0, 300) * 100;
  const nodes: RealNode[] = [];
  t.after(async () => {
    for (const n of nodes) await n.stop().catch(() => {});
    root.remove();
  });
  const names = ['r1@127.0.76.2', 'r2@127.0.76.3', 'r3@127.0.76.4'];
  for (const n of names) nodes.push(await startRealNode(n, { basePort, root: root.dir }));
  const [a, b, c] = nodes as [RealNode, RealNode, RealNode];
  await a.parts.admins.add('root', 'passw0rd!');
  const wrongCookie = await startRealNode('r9@127.0.76.5', { basePort, root: root.dir, cookie: 'other' });
  nodes.push(wrongCookie);
  const auth = await wrongCookie.parts.commands[0]!.run(['join', names[0]!]);
  assert.equal(auth.code, 1);
  assert.equal(auth.output, "Failed to join the cluster: {authentication_failed,'r1@127.0.76.2'}\n");
  assert.match(auth.stderr ?? '', /^Check that node\.cookie/);
  const down = await a.parts.commands[0]!.run(['join', 'r8@127.0.76.6']);
  assert.match(down.output, /^Failed to join the cluster: \{node_down,'r8@127\.0\.76\.6'\}/);

  const j1 = await b.parts.commands[0]!.run(['join', names[0]!]);
  assert.equal(j1.output, "Join the cluster successfully.\nCluster status: #{running_nodes => ['r1@127.0.76.2','r2@127.0.76.3'],\n                  stopped_nodes => []}\n");
  assert.equal((await c.parts.commands[0]!.run(['join', names[1]!])).code, 0);
  await until('three running everywhere', () => nodes.slice(0, 3).every((n) => n.parts.cluster.status().running.length === 3), 5000);
  assert.ok(c.parts.admins.get('root'), 'snapshot carried the admin');
  await c.parts.db.write('t', 'x', 1);
  assert.equal(a.parts.db.get('t', 'x'), 1);
  assert.equal(b.parts.db.get('t', 'x'), 1);

  await c.stop();
  await until('c stopped on a', () => a.parts.cluster.status().stopped.includes(names[2]!), 5000);
  const t0 = performance.now();
  const st = await a.parts.commands[0]!.run(['status']);
  assert.ok(performance.now() - t0 < 50, 'status answers from local knowledge');
  assert.equal(st.output, "Cluster status: #{running_nodes => ['r1@127.0.76.2','r2@127.0.76.3'],\n                  stopped_nodes => ['r3@127.0.76.4']}\n");
  const v = await a.parts.commands[0]!.run(['status', '--verbose']);
  assert.match(v.output, /r2@127\.0\.76\.3\s+running\s+127\.0\.76\.3:\d+\s+tcp\s+\d{4}-/);
  assert.match(v.output, /r3@127\.0\.76\.4\s+stopped/);
  await b.parts.db.write('t', 'while-c-away', 2);
  const c2 = await startRealNode(names[2]!, { basePort, root: root.dir });
  nodes[2] = c2;
  await until('c back', () => a.parts.cluster.status().running.length === 3 && c2.parts.cluster.status().running.length === 3, 8000);
  await until('c caught up', () => c2.parts.db.get('t', 'while-c-away') === 2, 5000);
});

test('join over mutual TLS, and a peer with a certificate of another CA gets tls_handshake_failed', async (t) => {
  const root = tempRoot('cluster-tls-');
  const basePort = 20_000 + randomInt(0, 300) * 100;
  const nodes: RealNode[] = [];
  t.after(async () => {
    for (const n of nodes) await n.stop().catch(() => {});
    root.remove();
  });
  const [ca, otherCa] = await Promise.all([makeCa(join(root.dir, 'ca')), makeCa(join(root.dir, 'other'), 'Other CA')]);
  const names = ['t1@127.0.77.2', 't2@127.0.77.3', 't3@127.0.77.4'];
  const [c1, c2, c3] = await Promise.all([
    makeNodeCert(ca, join(root.dir, 'n'), names[0]!),
    makeNodeCert(ca, join(root.dir, 'n'), names[1]!),
    makeNodeCert(otherCa, join(root.dir, 'o'), names[2]!),
  ]);
  const tls = (cert: { certFile: string; keyFile: string }): DistTlsOptions => {
    const files = { ca: readFileSync(ca.certFile), cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) };
    return { server: { ...files, requestCert: true, rejectUnauthorized: true }, client: { ...files, rejectUnauthorized: true }, warnings: [] };
  };
  const a = await startRealNode(names[0]!, { basePort, root: root.dir, tls: tls(c1) });
  nodes.push(a);
  const b = await startRealNode(names[1]!, { basePort, root: root.dir, tls: tls(c2) });
  nodes.push(b);
  const m = await startRealNode(names[2]!, { basePort, root: root.dir, tls: tls(c3) });
  nodes.push(m);
  const ok = await b.parts.commands[0]!.run(['join', names[0]!]);
  assert.equal(ok.code, 0, ok.output);
  assert.match((await a.parts.commands[0]!.run(['status', '--verbose'])).output, /t2@127\.0\.77\.3\s+running\s+127\.0\.77\.3:\d+\s+tls\s/);
  const bad = await m.parts.commands[0]!.run(['join', names[0]!]);
  assert.equal(bad.code, 1);
  assert.equal(bad.output, "Failed to join the cluster: {tls_handshake_failed,'t1@127.0.77.2'}\n");
  assert.equal(
    bad.stderr,
    '(refused by peer: peer certificate rejected: unknown CA: UNABLE_TO_VERIFY_LEAF_SIGNATURE)\nCheck cluster.proto_dist and the certificates, CA and verify options in ssl_dist.conf on both nodes.\n',
  );
  assert.deepEqual(m.parts.cluster.members(), [names[2]]);
});
