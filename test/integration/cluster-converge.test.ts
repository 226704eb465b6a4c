// Membership convergence between real processes: concurrent joins through different members, a
// join during a partition and force-leaves on both sides of the split (iptables), then a TLS
// cluster (cluster.proto_dist = inet_tls) including a node whose certificate another CA signed.
// Addresses: 127.0.81.x (partition test) and 127.0.82.x (TLS test), used by no other test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocDistBase, createTestNode, type TestNode } from '../helpers/launcher.js';
import { userAdmins } from '../helpers/admins.js';
import { Partition, partitionUnavailable } from '../helpers/partition.js';
import { statusOf, statusText, waitFor } from '../helpers/cluster-status.js';
import { makeCa, makeNodeCert, writeSslDistConf } from '../helpers/certs.js';
import { skipOrFail } from '../helpers/prerequisite.js';

const CONF = 'node.dist_net_ticktime = 2s\n';

/** Every node of `nodes` runs exactly `members` and sees no stopped member. */
async function showsExactly(nodes: readonly TestNode[], members: readonly string[]): Promise<boolean> {
  const want = JSON.stringify([...members].sort());
  for (const n of nodes) {
    const s = await statusOf(n);
    if (JSON.stringify(s.running_nodes) !== want || s.stopped_nodes.length !== 0) return false;
  }
  return true;
}

test('concurrent joins, a join during a partition and force-leaves on both sides converge after healing', async (t) => {
  const why = await partitionUnavailable();
  if (why) return skipOrFail(t, why);
  const names = [1, 2, 3, 4, 5].map((i) => `q${i}@127.0.81.${i + 1}`);
  const base = await allocDistBase(names);
  const nodes = await Promise.all(names.map((name) => createTestNode(t, { name, distBasePort: base, conf: CONF })));
  const [q1, q2, q3, q4, q5] = nodes as [TestNode, TestNode, TestNode, TestNode, TestNode];
  const part = new Partition();
  t.after(() => part.remove());
  await part.install();
  await Promise.all(nodes.map((n) => n.startOk()));

  // Concurrent joins through different members.
  assert.equal((await q2.ctl(['cluster', 'join', q1.name])).code, 0);
  const [r3, r4] = await Promise.all([q3.ctl(['cluster', 'join', q1.name]), q4.ctl(['cluster', 'join', q2.name])]);
  assert.equal(r3.code, 0, r3.stdout);
  assert.equal(r4.code, 0, r4.stdout);
  await waitFor('four members everywhere', () => showsExactly([q1, q2, q3, q4], [q1, q2, q3, q4].map((n) => n.name)));

  // Split {q1,q2} | {q3,q4,q5}.
  await part.split(['127.0.81.2', '127.0.81.3'], ['127.0.81.4', '127.0.81.5', '127.0.81.6']);
  await waitFor('split seen on both sides', async () => (await statusOf(q1)).stopped_nodes.length === 2 && (await statusOf(q4)).stopped_nodes.length === 2);
  // A join on one side, and each side force-leaves a member of the other.
  const j = await q5.ctl(['cluster', 'join', q3.name]);
  assert.equal(j.code, 0, j.stdout);
  assert.equal((await q1.ctl(['cluster', 'force-leave', q3.name])).code, 0);
  assert.equal((await q4.ctl(['cluster', 'force-leave', q2.name])).code, 0);

  await part.heal();
  // q3 and q2 were removed on the other side: told so, they stay out; the rest merge, and q5
  // (which joined through q3 before q3's removal was known) stays in.
  const kept = [q1.name, q4.name, q5.name];
  await waitFor('one view on every running member', async () => (await showsExactly([q1, q4, q5], kept)) && (await showsExactly([q2], [q2.name])) && (await showsExactly([q3], [q3.name])), 30_000);
  for (const n of [q2, q3]) {
    const st = await n.ctl(['cluster', 'status']);
    assert.equal(st.stdout, statusText([n.name]));
    assert.match(st.stderr, /^This node was removed from its cluster by q\d@127\.0\.81\.\d at .*; it stays out until an operator runs 'cluster join'\.\n$/);
  }
  // A write on any member reaches them all.
  assert.equal((await q5.ctl(['admins', 'add', 'after', 'passw0rd!'])).code, 0);
  for (const n of [q1, q4]) assert.equal(userAdmins((await n.ctl(['admins', 'list'])).stdout), 'Username: after, Description: \n', n.name);

  // Status shows the current state only: once the removed nodes are in a cluster again (q2 joins
  // q3), neither prints the removal line; after a voluntary leave, q2 does not either.
  const pair = statusText([q2.name, q3.name]);
  assert.equal((await q2.ctl(['cluster', 'join', q3.name])).stdout, `Join the cluster successfully.\n${pair}`);
  await waitFor('q2,q3 together', () => showsExactly([q2, q3], [q2.name, q3.name]));
  assert.equal((await q3.ctl(['cluster', 'status'])).stdout, pair);
  assert.equal((await q2.ctl(['cluster', 'leave'])).stdout, `Leave the cluster successfully.\n${statusText([q2.name])}`);
  for (const n of [q2, q3]) assert.deepEqual(await n.ctl(['cluster', 'status']).then((r) => [r.stdout, r.stderr]), [statusText([n.name]), ''], n.name);
  // The members the leaver and the removed nodes left behind are undisturbed.
  assert.ok(await showsExactly([q1, q4, q5], kept));
});

test('a TLS cluster: join and status over inet_tls; a node with a certificate from another CA is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cluster-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const names = ['s1@127.0.82.2', 's2@127.0.82.3', 's3@127.0.82.4'];
  const [ca, other] = await Promise.all([makeCa(join(dir, 'ca')), makeCa(join(dir, 'other'), 'Other CA')]);
  const base = await allocDistBase(names);
  const nodes = await Promise.all(names.map((name) => createTestNode(t, { name, distBasePort: base, conf: `${CONF}cluster.proto_dist = inet_tls\n` })));
  await Promise.all(
    nodes.map(async (n, i) => {
      const signer = i === 2 ? other : ca;
      const cert = await makeNodeCert(signer, join(dir, `certs${i}`), n.name);
      await writeSslDistConf(join(n.etcDir, 'ssl_dist.conf'), { certfile: cert.certFile, keyfile: cert.keyFile, cacertfile: signer.certFile });
    }),
  );
  await Promise.all(nodes.map((n) => n.startOk()));
  const [s1, s2, s3] = nodes as [TestNode, TestNode, TestNode];
  const j = await s2.ctl(['cluster', 'join', s1.name]);
  assert.equal(j.code, 0, j.stdout + j.stderr);
  assert.equal(j.stdout, `Join the cluster successfully.\n${statusText([s1.name, s2.name])}`);
  await waitFor('both see both', () => showsExactly([s1, s2], [s1.name, s2.name]));
  assert.match((await s1.ctl(['cluster', 'status', '--verbose'])).stdout, /s2@127\.0\.82\.3\s+running\s+\S+\s+tls\s/);
  const refused = await s3.ctl(['cluster', 'join', s1.name]);
  assert.equal(refused.code, 1);
  assert.equal(refused.stdout, `Failed to join the cluster: {tls_handshake_failed,'${s1.name}'}\n`);
  assert.equal(
    refused.stderr,
    '(unknown CA: self-signed certificate in certificate chain)\nCheck cluster.proto_dist and the certificates, CA and verify options in ssl_dist.conf on both nodes.\n',
  );
  assert.ok(await showsExactly([s1, s2], [s1.name, s2.name]));
  assert.ok(await showsExactly([s3], [s3.name]));
});
