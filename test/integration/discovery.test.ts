// Automatic clustering with real processes: a real etcd, a real dnsmasq, and a Kubernetes API
// double (HTTPS, bearer token, real Endpoints JSON). Five etcd nodes started at once, ten
// rounds: discovery-etcd-rounds.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { allocDistBase, createTestNode, type TestNode } from '../helpers/launcher.js';
import { userAdmins } from '../helpers/admins.js';
import { startEtcd } from '../helpers/etcd.js';
import { startDnsmasq } from '../helpers/dnsmasq.js';
import { startK8sApi } from '../helpers/k8s-api.js';
import { makeCa, makeNodeCert } from '../helpers/certs.js';
import { statusText } from '../helpers/cluster-status.js';

const statusLine = (names: readonly string[]): string => statusText(names);

/** The status on stdout (notices membership may add go to stderr: not discovery's business). */
async function status(n: TestNode): Promise<string> {
  return (await n.ctl(['cluster', 'status'])).stdout;
}

/** Waits until every node prints the status line of exactly `names`; bounded. */
async function converge(nodes: readonly TestNode[], names: readonly string[], timeoutMs = 30_000): Promise<void> {
  const want = statusLine(names);
  const end = Date.now() + timeoutMs;
  for (const n of nodes) {
    let out = await status(n);
    while (out !== want && Date.now() < end) {
      await sleep(200);
      out = await status(n);
    }
    if (out !== want) {
      // What each node's discovery loop and membership said: the log is gone once the test ends.
      const logs = nodes.map((m) => `--- ${m.name}\n${m.logText().split('\n').filter((l) => /"part":"(discovery|cluster)"/.test(l)).slice(-12).join('\n')}`);
      assert.equal(out, want, `${n.name} after ${timeoutMs} ms\n${logs.join('\n')}`);
    }
  }
}

test('automatic clustering', async (t) => {
  await t.test('ctl help lists `cluster discovery enable` once', async (t) => {
    const n = await createTestNode(t, { name: 'probe1@127.0.0.1' });
    await n.startOk();
    const r = await n.ctl(['help']);
    assert.equal(r.stdout.split('\n').filter((l) => l.startsWith('cluster discovery enable ')).length, 1, r.stdout);
    await n.cleanup();
  });

  await t.test('etcd: five nodes form exactly one cluster; a left node stays out until enabled, then rejoins without taking the cluster\'s data', async (t) => {
    const etcd = await startEtcd();
    t.after(() => etcd.stop());
    const names = [2, 3, 4, 5, 6].map((i) => `e${i}@127.0.0.${i}`);
    const base = await allocDistBase(names);
    const conf = [
      'node.dist_net_ticktime = 2s',
      'cluster.discovery_strategy = etcd',
      `cluster.etcd.server = "${etcd.url}"`,
      'cluster.etcd.prefix = itest',
      'cluster.etcd.node_ttl = 5s',
    ].join('\n');
    const nodes = await Promise.all(names.map((name) => createTestNode(t, { name, distBasePort: base, conf })));
    // e4 boots first, so it is the oldest: the node everybody joins, and later the one that leaves.
    const leaver = nodes[2]!;
    await leaver.startOk();
    await Promise.all(nodes.filter((n) => n !== leaver).map((n) => n.startOk()));
    await converge(nodes, names);
    const add = await nodes[0]!.ctl(['admins', 'add', 'alice', 'passw0rd!', 'kept']);
    assert.equal(add.code, 0, add.stdout);

    const rest = nodes.filter((n) => n !== leaver);
    const left = await leaver.ctl(['cluster', 'leave']);
    assert.equal(left.code, 0, left.stdout);
    assert.match(left.stdout, /^Automatic cluster discovery is disabled on this node: 'e4@127\.0\.0\.4'/);
    assert.match(left.stdout, /Leave the cluster successfully\./);
    await converge(rest, names.filter((n) => n !== leaver.name));
    // Absence of a rejoin can only be shown over time: several loop periods (2 s each).
    await sleep(7000);
    assert.equal(await status(leaver), statusLine([leaver.name]));
    await converge(rest, names.filter((n) => n !== leaver.name), 1000);

    const en = await leaver.ctl(['cluster', 'discovery', 'enable']);
    assert.deepEqual([en.code, en.stdout], [0, 'Automatic cluster discovery enabled.\n']);
    await converge(nodes, names);
    // The oldest node came back alone with an empty database: it joined the cluster, not the
    // other way round, so the cluster's data is intact everywhere.
    for (const n of nodes) assert.equal(userAdmins((await n.ctl(['admins', 'list'])).stdout), 'Username: alice, Description: kept\n', n.name);
  });

  await t.test('dns: three nodes from the A records of one name form a cluster', async (t) => {
    const names = [12, 13, 14].map((i) => `emqx@127.0.0.${i}`);
    const dns = await startDnsmasq({ domain: 'itest.local', hosts: names.map((n) => [n.slice(5), 'emqx.itest.local'] as const) });
    t.after(() => dns.stop());
    const base = await allocDistBase(names.map((n) => n));
    const conf = [
      'node.dist_net_ticktime = 2s',
      'cluster.discovery_strategy = dns',
      'cluster.dns.name = "emqx.itest.local"',
      'cluster.dns.record_type = a',
      `cluster.dns.server = "${dns.server}"`,
    ].join('\n');
    const nodes = await Promise.all(names.map((name) => createTestNode(t, { name, distBasePort: base, conf })));
    await Promise.all(nodes.map((n) => n.startOk()));
    await converge(nodes, names);
  });

  await t.test('k8s: three nodes from the service endpoints form a cluster', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'k8s-itest-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const ca = await makeCa(join(dir, 'ca'));
    const cert = await makeNodeCert(ca, join(dir, 'api'), 'kubernetes', { hosts: ['127.0.0.1'] });
    await writeFile(join(dir, 'token'), 'itest-token\n');
    const api = await startK8sApi({ certFile: cert.certFile, keyFile: cert.keyFile, token: 'itest-token' });
    t.after(() => api.stop());
    const names = [22, 23, 24].map((i) => `emqx@127.0.0.${i}`);
    api.setEndpoints('itest', 'emqx-headless', names.map((n, i) => ({ ip: n.slice(5), hostname: `emqx-${i}` })));
    const base = await allocDistBase(names);
    const conf = [
      'node.dist_net_ticktime = 2s',
      'cluster.discovery_strategy = k8s',
      `cluster.k8s.apiserver = "${api.url}"`,
      'cluster.k8s.service_name = emqx-headless',
      'cluster.k8s.namespace = itest',
      'cluster.k8s.address_type = ip',
      `cluster.k8s.token_file = "${join(dir, 'token')}"`,
      `cluster.k8s.cacert_file = "${ca.certFile}"`,
    ].join('\n');
    const nodes = await Promise.all(names.map((name) => createTestNode(t, { name, distBasePort: base, conf })));
    await Promise.all(nodes.map((n) => n.startOk()));
    await converge(nodes, names);
    assert.ok(api.requests.some((r) => r.path === '/api/v1/namespaces/itest/endpoints/emqx-headless' && r.authorization === 'Bearer itest-token'));
  });
});
