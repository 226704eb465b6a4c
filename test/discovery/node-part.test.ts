import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterConfig } from '../../src/config/types.js';
import type { CtlCommand } from '../../src/ctl/types.js';
import { discoverySettings, withDiscovery } from '../../src/discovery/node-part.js';

const base: CtlCommand = {
  name: 'cluster',
  usage: [['cluster leave', 'Leave the cluster']],
  run: (args) => ({ code: args[0] === 'leave' ? 0 : 1, output: `base ${args.join(' ')}\n` }),
};

test('the cluster command gains discovery enable; other verbs go to the membership command', async () => {
  let enabled = 0;
  const cmd = withDiscovery(base, () => ({ enable: () => void enabled++, disable: async () => true }), 'emqx@127.0.0.1');
  assert.deepEqual(cmd.usage.map(([s]) => s), ['cluster leave', 'cluster discovery enable']);
  assert.equal((await cmd.run(['discovery', 'enable'])).output, 'Automatic cluster discovery enabled.\n');
  assert.equal(enabled, 1);
  assert.equal((await cmd.run(['status'])).output, 'base status\n');
});

test('leave disables discovery first and says so, as EMQX does', async () => {
  const calls: string[] = [];
  let on = true;
  const sw = { enable: () => void (on = true), disable: async () => { calls.push('disable'); const was = on; on = false; return was; } };
  const cmd = withDiscovery({ ...base, run: (a) => { calls.push(a.join(' ')); return { code: 0, output: 'Leave the cluster successfully.\n' }; } }, () => sw, 'emqx@127.0.0.1');
  const r = await cmd.run(['leave']);
  assert.deepEqual(calls, ['disable', 'leave']);
  assert.match(r.output, /^Automatic cluster discovery is disabled on this node: 'emqx@127\.0\.0\.1'.*\nLeave the cluster successfully\.\n$/s);
  // Already disabled: no notice the second time.
  assert.equal((await cmd.run(['leave'])).output, 'Leave the cluster successfully.\n');
  // Without automatic discovery (manual): no notice at all.
  assert.equal((await withDiscovery(base, () => undefined, 'emqx@127.0.0.1').run(['leave'])).output, 'base leave\n');
});

test('only the active strategy\'s settings decide whether a reload restarts discovery', () => {
  const c = { discovery_strategy: 'etcd', static: { seeds: [] }, dns: { name: 'a', record_type: 'a' }, etcd: { server: ['http://127.0.0.1:2379'], prefix: 'p', node_ttl: 1000 }, k8s: {} } as unknown as ClusterConfig;
  assert.equal(discoverySettings(c), discoverySettings({ ...c, dns: { name: 'b', record_type: 'a' }, autoheal: false }));
  assert.notEqual(discoverySettings(c), discoverySettings({ ...c, etcd: { ...c.etcd, prefix: 'q' } }));
  assert.notEqual(discoverySettings(c), discoverySettings({ ...c, discovery_strategy: 'dns' }));
});
