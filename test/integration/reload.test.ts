// Hot reload with real processes (SPEC §8): files edited under running nodes, the change applied
// without a restart. Node addresses 127.0.97.x.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { allocDistBase, createTestNode, type TestNode } from '../helpers/launcher.js';
import { makeCa, makeNodeCert, writeSslDistConf, type TestCa } from '../helpers/certs.js';
import { statusText } from '../helpers/cluster-status.js';

const statusLine = (names: readonly string[]): string => statusText(names);

async function status(n: TestNode): Promise<string> {
  return (await n.ctl(['cluster', 'status'])).stdout;
}

/** Polls until every node prints the status line of exactly `names`; bounded. */
async function converge(nodes: readonly TestNode[], names: readonly string[], timeoutMs = 20_000): Promise<void> {
  const want = statusLine(names);
  const end = Date.now() + timeoutMs;
  for (const n of nodes) {
    let out = await status(n);
    while (out !== want && Date.now() < end) {
      await sleep(100);
      out = await status(n);
    }
    assert.equal(out, want, `${n.name} after ${timeoutMs} ms\n${n.logText().split('\n').slice(-15).join('\n')}`);
  }
}

/** As editors save: a temporary file renamed over the old one. */
async function atomicWrite(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/** Polls `conf show <key>` until it prints `value`; bounded. */
async function waitConf(n: TestNode, key: string, value: unknown, timeoutMs = 10_000): Promise<void> {
  const want = `${key} = ${JSON.stringify(value, null, 2)}\n`;
  const end = Date.now() + timeoutMs;
  let out = '';
  while (Date.now() < end) {
    out = (await n.ctl(['conf', 'show', key])).stdout;
    if (out === want) return;
    await sleep(50);
  }
  assert.equal(out, want, `${n.name}: ${key} not applied within ${timeoutMs} ms`);
}

test('hot reload: discovery, a broken edit, TCP to TLS, new certificates', async (t) => {
  const names = [1, 2, 3].map((i) => `r${i}@127.0.97.${i}`);
  const extra = 'r4@127.0.97.4';
  const base = await allocDistBase([...names, extra]);
  const conf = (body: string): string => `node.dist_net_ticktime = 2s\n${body}\n`;
  const staticConf = (proto = 'inet_tcp'): string =>
    conf(`cluster.discovery_strategy = static\ncluster.static.seeds = [${names.map((n) => `"${n}"`).join(', ')}]\ncluster.proto_dist = ${proto}`);
  const nodes: TestNode[] = [];
  for (const name of names) nodes.push(await createTestNode(t, { name, distBasePort: base, conf: conf('cluster.discovery_strategy = manual') }));
  await Promise.all(nodes.map((n) => n.startOk()));
  for (const n of nodes) assert.equal(await status(n), statusLine([n.name]));

  await t.test('manual → static by editing the files: one cluster, no restart', async () => {
    const pids = nodes.map((n) => n.pid);
    await Promise.all(nodes.map((n) => atomicWrite(n.confFile, staticConf())));
    await converge(nodes, names);
    assert.deepEqual(nodes.map((n) => n.pid), pids);
    await waitConf(nodes[0]!, 'cluster.discovery_strategy', 'static');
  });

  await t.test('a left node stays out across a discovery reload, until `cluster discovery enable`', async () => {
    const n = nodes[2]!;
    const left = await n.ctl(['cluster', 'leave']);
    assert.equal(left.code, 0, left.stdout);
    assert.match(left.stdout, /^Automatic cluster discovery is disabled on this node/);
    // New discovery settings (the seeds reordered) restart discovery on the node that left.
    const reordered = conf(`cluster.discovery_strategy = static\ncluster.static.seeds = [${[...names].reverse().map((x) => `"${x}"`).join(', ')}]\ncluster.proto_dist = inet_tcp`);
    await atomicWrite(n.confFile, reordered);
    await waitConf(n, 'cluster.static.seeds', [...names].reverse());
    // Absence of a rejoin shows only over time: more than two loop periods.
    await sleep(4500);
    assert.equal(await status(n), statusLine([n.name]));
    const en = await n.ctl(['cluster', 'discovery', 'enable']);
    assert.deepEqual([en.code, en.stdout], [0, 'Automatic cluster discovery enabled.\n']);
    await converge(nodes, names);
    await atomicWrite(n.confFile, staticConf());
    await waitConf(n, 'cluster.static.seeds', names);
  });

  await t.test('a broken edit is rejected whole; the cluster keeps running', async () => {
    const n = nodes[1]!;
    await atomicWrite(n.confFile, `${staticConf()}cluster.autoheal = false\ncluster {\n`);
    const r = await n.ctl(['conf', 'reload']);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /^Config reload failed; the node keeps running with its current configuration:\n/);
    assert.match(r.stdout, new RegExp(`${n.confFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+`));
    assert.equal((await n.ctl(['conf', 'show', 'cluster.autoheal'])).stdout, 'cluster.autoheal = true\n');
    assert.equal(await status(n), statusLine(names));
    assert.match(n.logText(), /config reload rejected/);
    await atomicWrite(n.confFile, staticConf());
    const ok = await n.ctl(['conf', 'reload']);
    assert.equal(ok.code, 0, ok.stdout);
  });

  await t.test('SIGHUP applies a change at once, and the watcher does not apply it again', async () => {
    const n = nodes[2]!;
    const reloads = (): string[] => n.logText().split('\n').filter((l) => l.includes('"msg":"config reloaded"'));
    const before = reloads().length;
    await writeFile(n.confFile, `${staticConf()}cluster.autoheal = false\n`);
    n.kill('SIGHUP');
    await waitConf(n, 'cluster.autoheal', false);
    // Past the watcher's debounce: a second application would have shown by now.
    await sleep(600);
    const fresh = reloads().slice(before);
    assert.equal(fresh.length, 1, fresh.join('\n'));
    assert.match(fresh[0]!, /"trigger":"SIGHUP"[^\n]*"applied":\["cluster.autoheal"\]/);
    const again = await n.ctl(['conf', 'reload']);
    assert.deepEqual([again.code, again.stdout], [0, 'Config reloaded: no change.\n']);
    await atomicWrite(n.confFile, staticConf());
    await waitConf(n, 'cluster.autoheal', true);
  });

  let dir = '';
  let ca2: TestCa | undefined;
  await t.test('inet_tcp → inet_tls by editing the files: still one cluster, nobody left', async () => {
    dir = await mkdtemp(join(tmpdir(), 'emqx-reload-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const ca = await makeCa(join(dir, 'ca1'), 'Reload CA 1');
    for (const n of nodes) {
      const cert = await makeNodeCert(ca, join(dir, 'ca1'), n.name);
      await writeSslDistConf(join(n.etcDir, 'ssl_dist.conf'), { certfile: cert.certFile, keyfile: cert.keyFile, cacertfile: ca.certFile });
    }
    const mark = nodes.map((n) => n.logText().length);
    await Promise.all(nodes.map((n) => atomicWrite(n.confFile, staticConf('inet_tls'))));
    for (const n of nodes) await waitConf(n, 'cluster.proto_dist', 'inet_tls');
    await converge(nodes, names);
    for (const [i, n] of nodes.entries()) {
      const log = n.logText().slice(mark[i]);
      assert.match(log, /"transport":"tls"[^\n]*"msg":"listening for links \(reconfigured\)"|"msg":"listening for links \(reconfigured\)"[^\n]*"transport":"tls"/);
      assert.match(log, /"transport":"tls"[^\n]*link up|link up[^\n]*"transport":"tls"/);
      assert.doesNotMatch(log, /"msg":"[^"]*\bleft the cluster/);
    }
    ca2 = await makeCa(join(dir, 'ca2'), 'Reload CA 2');
  });

  await t.test('certificates replaced: the links are made again with them; the old CA no longer admits', async () => {
    assert.ok(ca2);
    // New certificates from CA 2 at new paths; ssl_dist.conf names them.
    for (const n of nodes) {
      const cert = await makeNodeCert(ca2, join(dir, 'ca2'), n.name);
      await atomicWrite(
        join(n.etcDir, 'ssl_dist.conf'),
        `[{server, [{certfile, "${cert.certFile}"}, {keyfile, "${cert.keyFile}"}, {cacertfile, "${ca2.certFile}"}, {verify, verify_peer}, {fail_if_no_peer_cert, true}]},\n {client, [{certfile, "${cert.certFile}"}, {keyfile, "${cert.keyFile}"}, {cacertfile, "${ca2.certFile}"}, {verify, verify_peer}]}].\n`,
      );
    }
    for (const n of nodes) {
      const end = Date.now() + 10_000;
      while (!/"applied":\[[^\]]*"ssl_dist"/.test(n.logText()) && Date.now() < end) await sleep(50);
      assert.match(n.logText(), /"applied":\[[^\]]*"ssl_dist"/, `${n.name} did not apply the new certificates`);
    }
    // The links are made again with the new certificates; nobody is left out.
    await converge(nodes, names);
    // A node holding a CA 1 certificate is refused now...
    const caOld = await makeCa(join(dir, 'ca1b'), 'Reload CA 1b');
    const oldCert = await makeNodeCert(caOld, join(dir, 'ca1b'), extra);
    const r4 = await createTestNode(t, { name: extra, distBasePort: base, conf: conf('cluster.discovery_strategy = manual\ncluster.proto_dist = inet_tls') });
    await writeSslDistConf(join(r4.etcDir, 'ssl_dist.conf'), { certfile: oldCert.certFile, keyfile: oldCert.keyFile, cacertfile: ca2.certFile });
    await r4.startOk();
    const refused = await r4.ctl(['cluster', 'join', names[0]!]);
    assert.notEqual(refused.code, 0, refused.stdout);
    assert.match(refused.stdout + refused.stderr, /tls|certificate/i);
    // ...and, its files replaced by CA 2 ones (applied live on r4 too), admitted.
    const good = await makeNodeCert(ca2, join(dir, 'ca2'), extra);
    await writeSslDistConf(join(r4.etcDir, 'ssl_dist.conf.new'), { certfile: good.certFile, keyfile: good.keyFile, cacertfile: ca2.certFile });
    await rename(join(r4.etcDir, 'ssl_dist.conf.new'), join(r4.etcDir, 'ssl_dist.conf'));
    const end = Date.now() + 10_000;
    while (!/"applied":\[[^\]]*"ssl_dist"/.test(r4.logText()) && Date.now() < end) await sleep(50);
    const joined = await r4.ctl(['cluster', 'join', names[0]!]);
    assert.equal(joined.code, 0, joined.stdout + joined.stderr);
    await converge([...nodes, r4], [...names, extra]);
  });
});

test('node.name cannot change live: refused with the reason, the rest applied', async (t) => {
  const name = 'r20@127.0.97.20';
  const fileConf = (n: string, cookie: string, autoheal: boolean): string =>
    `node.name = "${n}"\nnode.cookie = "${cookie}"\ncluster.autoheal = ${String(autoheal)}\n`;
  // Name and cookie from the file, not the environment (which would win over any edit).
  const n = await createTestNode(t, { name, conf: fileConf(name, 'cookie-one', true), env: { EMQX_NODE__NAME: undefined, EMQX_NODE__COOKIE: undefined } });
  await n.startOk();
  await atomicWrite(n.confFile, fileConf('r21@127.0.97.20', 'cookie-two', false));
  const r = await n.ctl(['conf', 'reload']);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stdout, /^Config reloaded\.\n/);
  assert.match(r.stdout, /\n {2}applied: cluster\.autoheal\n/);
  assert.match(r.stdout, /\n {2}applied: node\.cookie\n/);
  assert.match(r.stdout, /\n {2}refused: node\.name: the node name cannot change while the node runs: restart the node; a node under a new name starts with a new, empty data directory/);
  assert.equal((await n.ctl(['conf', 'show', 'node.name'])).stdout, `node.name = "${name}"\n`);
  assert.equal((await n.ctl(['conf', 'show', 'node.cookie'])).stdout, 'node.cookie = "******"\n');
  assert.equal((await n.ctl(['conf', 'show', 'cluster.autoheal'])).stdout, 'cluster.autoheal = false\n');
  assert.equal(await status(n), statusLine([name]));
});
