import { test } from 'node:test';
import assert from 'node:assert/strict';
import { discoveryDisabledNotice, runDiscoveryCommand } from '../../src/discovery/ctl.js';

test('cluster discovery enable re-enables the loop and prints EMQX\'s line', () => {
  let enabled = 0;
  const r = runDiscoveryCommand({ enable: () => void enabled++ }, ['discovery', 'enable']);
  assert.deepEqual(r, { code: 0, output: 'Automatic cluster discovery enabled.\n' });
  assert.equal(enabled, 1);
});

test('other cluster verbs are not ours; a wrong discovery verb prints usage and fails', () => {
  assert.equal(runDiscoveryCommand(undefined, ['join', 'emqx@h.example']), undefined);
  const r = runDiscoveryCommand(undefined, ['discovery', 'disable']);
  assert.equal(r?.code, 1);
  assert.match(r!.output, /^cluster discovery enable\s+# Enable and run automatic cluster discovery \(if configured\)\n$/);
});

test('the leave notice names the node as EMQX does', () => {
  assert.match(discoveryDisabledNotice('emqx@127.0.0.1'), /^Automatic cluster discovery is disabled on this node: 'emqx@127\.0\.0\.1' to avoid re-joining the same cluster again, if the node is not stopped soon\. To enable it run: 'emqx ctl cluster discovery enable' or restart the node\.\n$/);
});
