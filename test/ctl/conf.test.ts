import { test } from 'node:test';
import assert from 'node:assert/strict';
import { confCommand, configKeys, lookup } from '../../src/ctl/conf.js';
import { parseHocon } from '../../src/config/hocon/index.js';

const tree = { node: { name: 'a@h', cookie: '******' }, cluster: { static: { seeds: ['x'] }, autoheal: true } };
const cmd = confCommand({ reload: async () => ({ code: 0, output: 'Config reloaded: no change.\n' }), effective: () => tree });

test('conf show_keys lists dotted leaf keys', async () => {
  assert.deepEqual(configKeys(tree), ['node.name', 'node.cookie', 'cluster.static.seeds', 'cluster.autoheal']);
  assert.equal((await cmd.run(['show_keys'])).output, 'node.name\nnode.cookie\ncluster.static.seeds\ncluster.autoheal\n');
});

test('conf show [key]: the whole tree, one value, or an error naming the key', async () => {
  assert.deepEqual(JSON.parse((await cmd.run(['show'])).output), tree);
  assert.equal((await cmd.run(['show', 'cluster.autoheal'])).output, 'cluster.autoheal = true\n');
  assert.equal((await cmd.run(['show', 'node.cookie'])).output, 'node.cookie = "******"\n');
  assert.equal(lookup(tree, 'cluster.static'), tree.cluster.static);
  const r = await cmd.run(['show', 'cluster.nope']);
  assert.equal(r.code, 1);
  assert.match(r.output, /No such config key: cluster.nope/);
});

test('conf reload runs the reload; anything else prints the usage', async () => {
  assert.equal((await cmd.run(['reload'])).output, 'Config reloaded: no change.\n');
  const u = await cmd.run(['bogus']);
  assert.equal(u.code, 1);
  assert.match(u.output, /conf reload/);
});

test('conf show <section> prints HOCON that reads back to the same values', async () => {
  const out = (await cmd.run(['show', 'cluster'])).output;
  assert.equal(out, 'cluster {\n  static {\n    seeds = [\n      "x"\n    ]\n  }\n  autoheal = true\n}\n');
  assert.deepEqual(parseHocon(out).value, { cluster: tree.cluster });
  const odd = confCommand({ reload: async () => ({ code: 0, output: '' }), effective: () => ({ a: { 'with space': 1, empty: {}, list: [{ k: 'v' }] } }) });
  const text = (await odd.run(['show', 'a'])).output;
  assert.deepEqual(parseHocon(text).value, { a: { 'with space': 1, empty: {}, list: [{ k: 'v' }] } });
});
