import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { ConfigError, type Config } from '../../src/config/types.js';
import { formatReloadReport, reloadConfig, type ReloadHost } from '../../src/daemon/reload.js';
import type { NodePart } from '../../src/base/part.js';
import { distOptionsOf, LINK_KEYS } from '../../src/link/node-part.js';
import { MEMBERSHIP_KEYS } from '../../src/cluster/node-part.js';
import { DISCOVERY_KEYS } from '../../src/discovery/node-part.js';

const stub = (name: string): NodePart => ({ name, start: () => undefined, stop: () => undefined });

test('conf reload output: rejected config, no change, applied and refused keys', () => {
  assert.deepEqual(formatReloadReport({ ok: false, errors: ['/etc/emqx.conf:3:1: unexpected end of input'] }), {
    code: 1,
    output: 'Config reload failed; the node keeps running with its current configuration:\n  /etc/emqx.conf:3:1: unexpected end of input\n',
  });
  assert.deepEqual(formatReloadReport({ ok: true, applied: [], refused: [] }), { code: 0, output: 'Config reloaded: no change.\n' });
  assert.deepEqual(formatReloadReport({ ok: true, applied: ['cluster.autoheal', 'ssl_dist'], refused: [] }), {
    code: 0,
    output: 'Config reloaded.\n  applied: cluster.autoheal\n  applied: ssl_dist\n',
  });
  const partly = formatReloadReport({ ok: true, applied: ['cluster.autoheal'], refused: [{ key: 'node.name', reason: 'restart the node' }] });
  assert.deepEqual(partly, { code: 1, output: 'Config reloaded.\n  applied: cluster.autoheal\n  refused: node.name: restart the node\n' });
});


const running = {
  node: { name: 'a@127.0.0.1', cookie: 'c1', data_dir: '/d', role: 'core', dist_net_ticktime: 60_000, dist_base_port: 4370, dist_busy_poll: true },
  cluster: { name: 'c', discovery_strategy: 'manual', proto_dist: 'inet_tcp', autoheal: true, autoclean: 1000, static: { seeds: [] } },
  paths: { root: '/r' },
} as unknown as Config;

function fakeHost(load: () => Config, opts: { discoveryFails?: boolean; distFails?: boolean } = {}) {
  const calls: string[] = [];
  let committed: Config | undefined;
  // The daemon's three reloadable parts, with their real key groups, in boot order.
  const parts: NodePart[] = [
    {
      ...stub('dist'),
      reloadKeys: LINK_KEYS,
      refusal: { key: 'ssl_dist/proto_dist', reason: 'the links could not move to the new settings, the previous ones stay in force' },
      reconfigure: async (c: Config) => {
        const o = distOptionsOf(c);
        calls.push(`dist ${o.cookie} busyPollUs=${o.busyPollUs}`);
        if (opts.distFails) throw new Error('port 4370 is in use');
      },
    },
    { ...stub('cluster'), reloadKeys: MEMBERSHIP_KEYS, reconfigure: (c: Config) => void calls.push(`cluster autoheal=${String(c.cluster.autoheal)}`) },
    {
      ...stub('discovery'),
      reloadKeys: DISCOVERY_KEYS,
      refusal: { key: 'cluster.discovery', reason: 'the new discovery settings cannot work, discovery keeps running as before' },
      reconfigure: async (c: Config) => {
        calls.push(`discovery ${c.cluster.discovery_strategy}`);
        if (opts.discoveryFails) throw new Error('cluster.static.seeds: not a node name');
      },
    },
  ];
  const host = {
    logger: pino({ level: 'silent' }),
    running: () => running,
    load: () => ({ config: load(), warnings: [] }),
    parts: () => parts,
    commit: (c: Config) => {
      committed = c;
    },
  } as unknown as ReloadHost;
  return { host, calls, committed: () => committed };
}

test('reload: a broken config is rejected whole, nothing applied or committed', async () => {
  const f = fakeHost(() => {
    throw new ConfigError([{ file: '/r/etc/emqx.conf', line: 7, message: 'unexpected }' }]);
  });
  const r = await reloadConfig(f.host, 'ctl');
  assert.deepEqual(r, { ok: false, errors: ['/r/etc/emqx.conf:7: unexpected }'] });
  assert.deepEqual(f.calls, []);
  assert.equal(f.committed(), undefined);
});

test('reload started by the watcher: files written to while being read are not applied, read right or wrong', async () => {
  const next = { ...running, cluster: { ...running.cluster, autoheal: false } } as Config;
  for (const load of [() => next, (): Config => {
    throw new ConfigError([{ file: '/r/etc/emqx.conf', line: 1, message: 'unexpected end of input' }]);
  }]) {
    const f = fakeHost(load);
    const r = await reloadConfig({ ...f.host, unchanged: async () => false }, 'file change');
    assert.deepEqual(r, { ok: true, applied: [], refused: [], unsettled: true });
    assert.deepEqual(f.calls, []);
    assert.equal(f.committed(), undefined);
  }
  const steady = fakeHost(() => next);
  const r = await reloadConfig({ ...steady.host, unchanged: async () => true }, 'file change');
  assert.deepEqual(r, { ok: true, applied: ['cluster.autoheal'], refused: [] });
});

test('reload: each part gets its slice; a failing part is refused and keeps its settings', async () => {
  const next = { ...running, node: { ...running.node, cookie: 'c2' }, cluster: { ...running.cluster, autoheal: false, discovery_strategy: 'static', static: { seeds: ['b@127.0.0.1'] } } } as Config;
  const ok = fakeHost(() => next);
  const r1 = await reloadConfig(ok.host, 'ctl');
  assert.deepEqual(ok.calls, ['dist c2 busyPollUs=250', 'cluster autoheal=false', 'discovery static']);
  assert.deepEqual(r1, { ok: true, applied: ['cluster.autoheal', 'cluster.discovery_strategy', 'cluster.static.seeds', 'node.cookie'], refused: [] });
  assert.equal(ok.committed()?.cluster.discovery_strategy, 'static');

  const bad = fakeHost(() => next, { discoveryFails: true, distFails: true });
  const r2 = await reloadConfig(bad.host, 'ctl');
  assert.ok(r2.ok);
  assert.deepEqual(r2.applied, ['cluster.autoheal']);
  assert.deepEqual(r2.refused.map((x) => x.key), ['ssl_dist/proto_dist', 'cluster.discovery']);
  assert.match(r2.refused[1]!.reason, /discovery keeps running as before: cluster.static.seeds/);
  assert.equal(bad.committed()?.cluster.discovery_strategy, 'manual');
  assert.equal(bad.committed()?.node.cookie, 'c1');
  assert.equal(bad.committed()?.cluster.autoheal, false);
});

test('reload: node.dist_busy_poll = false reaches the link layer as a window of 0', async () => {
  const f = fakeHost(() => ({ ...running, node: { ...running.node, dist_busy_poll: false } }) as Config);
  const r = await reloadConfig(f.host, 'ctl');
  assert.deepEqual(f.calls, ['dist c1 busyPollUs=0']);
  assert.deepEqual(r, { ok: true, applied: ['node.dist_busy_poll'], refused: [] });
});
