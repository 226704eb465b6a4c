// Five nodes started at the same moment with the etcd strategy form exactly one cluster, ten
// rounds in a row (a race in registration or in picking the node to join shows up as two
// clusters). One etcd; each round its own key prefix and fresh nodes. Node addresses 127.0.91.x.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { allocDistBase, createTestNode, type TestNode } from '../helpers/launcher.js';
import { startEtcd } from '../helpers/etcd.js';
import { statusText } from '../helpers/cluster-status.js';

const ROUNDS = 10;

const statusLine = (names: readonly string[]): string => statusText(names);

async function status(n: TestNode): Promise<string> {
  return (await n.ctl(['cluster', 'status'])).stdout;
}

test(`etcd: five nodes started at once form exactly one cluster, ${ROUNDS} rounds`, async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.stop());
  const names = [1, 2, 3, 4, 5].map((i) => `d${i}@127.0.91.${i}`);
  const base = await allocDistBase(names);
  const timings: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const conf = [
      'node.dist_net_ticktime = 2s',
      'cluster.discovery_strategy = etcd',
      `cluster.etcd.server = "${etcd.url}"`,
      `cluster.etcd.prefix = round${round}`,
      'cluster.etcd.node_ttl = 5s',
    ].join('\n');
    const nodes = await Promise.all(names.map((name) => createTestNode(t, { name, distBasePort: base, conf })));
    const started = Date.now();
    await Promise.all(nodes.map((n) => n.startOk()));
    const want = statusLine(names);
    const end = Date.now() + 20_000;
    for (const n of nodes) {
      let out = await status(n);
      while (out !== want && Date.now() < end) {
        await sleep(100);
        out = await status(n);
      }
      assert.equal(out, want, `round ${round}: ${n.name}\n${n.logText().split('\n').filter((l) => /"part":"(discovery|cluster)"/.test(l)).slice(-10).join('\n')}`);
    }
    timings.push(Date.now() - started);
    await Promise.all(nodes.map((n) => n.cleanup()));
  }
  t.diagnostic(`start to one cluster per round (ms): ${timings.join(' ')}`);
});
