// The discovery part on top of the real membership layer and store (links in memory):
// static seeds form one cluster, leave keeps the node out until `cluster discovery enable`,
// and a reload restarts discovery only when it can.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startClusterParts, type ClusterParts } from '../../src/cluster/parts.js';
import { silentLog } from '../../src/base/log.js';
import type { ClusterConfig, Config } from '../../src/config/types.js';
import type { CtlCommand } from '../../src/ctl/types.js';
import { Store } from '../../src/db/store/index.js';
import { discoveryPart, type DiscoveryPart } from '../../src/discovery/node-part.js';
import { MemoryNet } from '../helpers/memory-dist.js';
import { clusterConfig } from '../helpers/cluster-config.js';

const logger = pino({ level: 'silent' });
const pace = { fastMs: 50, slowMs: 500, firstDelayMs: 50 };

/** The discovery part reads only the cluster section. */
const configOf = (cluster: ClusterConfig): Config => ({ cluster }) as Config;

interface Node {
  name: string;
  parts: ClusterParts;
  discovery: DiscoveryPart;
  ctl(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

async function start(net: MemoryNet, root: string, name: string, startedAt: number, cluster: ClusterConfig, log: pino.Logger = logger): Promise<Node> {
  const dist = net.create(name);
  await dist.start();
  const store = await Store.open(join(root, name));
  const parts = await startClusterParts({ dist, store, log: silentLog, config: cluster, callTimeoutMs: 2000 });
  const commands = new Map<string, CtlCommand>();
  const config = configOf(cluster);
  const discovery = discoveryPart({ config, logger: log, startedAt, dist: () => dist, cluster: () => parts, register: (c) => commands.set(c.name, c), autocluster: pace });
  await discovery.start();
  return {
    name,
    parts,
    discovery,
    ctl: async (args) => (await commands.get(args[0]!)!.run(args.slice(1))).output,
    async stop() {
      await discovery.stop();
      await parts.stop();
      await dist.stop();
      await store.close();
    },
  };
}

async function until(what: string, check: () => boolean, state: () => string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; ${state()}`);
    await sleep(20);
  }
}

test('discovery part over real membership: form, leave, stay out, enable, reload', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'discovery-part-'));
  const net = new MemoryNet();
  const names = ['n1@127.0.0.1', 'n2@127.0.0.1', 'n3@127.0.0.1'];
  const cfg = clusterConfig({ discovery_strategy: 'static', static: { seeds: names } });
  const nodes: Node[] = [];
  t.after(async () => {
    for (const n of nodes) await n.stop();
    rmSync(root, { recursive: true, force: true });
  });
  // n2 is the oldest: the others join it.
  for (const [i, name] of names.entries()) nodes.push(await start(net, root, name, [20, 10, 30][i]!, cfg));
  const [n1, n2, n3] = nodes as [Node, Node, Node];
  const sorted = (n: Node): string => [...n.parts.cluster.members()].sort().join(',');
  const views = (): string => nodes.map((n) => `${n.name}: ${sorted(n)}`).join('; ');
  await until('one cluster of three', () => nodes.every((n) => sorted(n) === names.join(',')), views);

  const out = await n1.ctl(['cluster', 'leave']);
  assert.match(out, /^Automatic cluster discovery is disabled on this node: 'n1@127\.0\.0\.1'.*\nLeave the cluster successfully\./);
  await until('n1 alone', () => sorted(n1) === 'n1@127.0.0.1' && sorted(n2) === 'n2@127.0.0.1,n3@127.0.0.1', views);
  assert.equal(n1.discovery.loop()?.enabled, false);
  // Many loop periods (50 ms) later, n1 is still out.
  await sleep(500);
  assert.equal(sorted(n1), 'n1@127.0.0.1');

  assert.equal(await n1.ctl(['cluster', 'discovery', 'enable']), 'Automatic cluster discovery enabled.\n');
  await until('n1 back', () => nodes.every((n) => sorted(n) === names.join(',')), views);

  // A reload with settings that cannot work is refused and leaves discovery running.
  const loop = n3.discovery.loop();
  const bad: ClusterConfig = { ...cfg, discovery_strategy: 'etcd', etcd: { server: [], prefix: 'p', node_ttl: 1000 } };
  await assert.rejects(n3.discovery.reconfigure(configOf(bad)), /cluster\.etcd\.server is empty/);
  assert.equal(n3.discovery.loop(), loop);
  // Unrelated keys do not restart it; a strategy change does.
  await n3.discovery.reconfigure(configOf({ ...cfg, autoheal: false }));
  assert.equal(n3.discovery.loop(), loop);
  await n3.discovery.reconfigure(configOf({ ...cfg, discovery_strategy: 'manual' }));
  assert.equal(n3.discovery.loop(), undefined);
});

test('a static node whose seed runs manual says once why it never joins it, and shows it in status --verbose', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'discovery-part-'));
  const net = new MemoryNet();
  const nodes: Node[] = [];
  t.after(async () => {
    for (const n of nodes) await n.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const seed = 'm1@127.0.0.1';
  nodes.push(await start(net, root, seed, 10, clusterConfig({ discovery_strategy: 'manual' })));
  const s = await start(net, root, 's2@127.0.0.1', 20, clusterConfig({ discovery_strategy: 'static', static: { seeds: [seed, 's2@127.0.0.1'] } }), pino({ level: 'info' }, sink));
  nodes.push(s);
  const said = (): Array<Record<string, unknown>> => lines.filter((l) => l.msg === `'${seed}' has discovery off: not a join target`);
  await until('the reason logged', () => said().length > 0, () => JSON.stringify(lines));
  // Many rounds (50 ms each) later: still one line, and still alone.
  await sleep(500);
  assert.equal(said().length, 1);
  assert.equal(said()[0]!.peer, seed);
  assert.deepEqual(s.parts.cluster.members(), ['s2@127.0.0.1']);
  assert.match(await s.ctl(['cluster', 'status', '--verbose']), /\n'm1@127\.0\.0\.1' has discovery off: not a join target \(its strategy is manual or singleton, or a leave turned it off\)\n$/);
  // Once the seed is joined by hand it is a member, not a stranger: no line any more.
  assert.doesNotMatch(await s.ctl(['cluster', 'join', seed]), /Failed/);
  await sleep(200);
  assert.doesNotMatch(await s.ctl(['cluster', 'status', '--verbose']), /not a join target/);
});
