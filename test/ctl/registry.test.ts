import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CtlRegistry, formatUsage } from '../../src/ctl/registry.js';

const cluster = {
  name: 'cluster',
  usage: [
    ['cluster join <Node>', 'Join the cluster'],
    ['cluster status [--json]', 'Cluster status'],
  ] as const,
  run: (args: readonly string[]) => ({ code: args[0] === 'status' ? 0 : 1, output: `cluster ${args.join(' ')}\n` }),
};

test("usage lines are padded to the command's widest syntax, as emqx_ctl:format_usage does", () => {
  assert.equal(formatUsage(cluster.usage), 'cluster join <Node>     # Join the cluster\ncluster status [--json] # Cluster status\n');
});

test('help lists every command in registration order, separated by 110 dashes', () => {
  const r = new CtlRegistry();
  assert.equal(r.help(), 'No commands available.\n');
  r.register({ name: 'status', usage: [['status', 'Show broker status']], run: () => ({ code: 0, output: 'ok\n' }) });
  r.register(cluster);
  const dashes = '-'.repeat(110);
  assert.equal(r.help(), `Usage: emqx ctl\n${dashes}\nstatus # Show broker status\n${dashes}\n${formatUsage(cluster.usage)}`);
});

test('dispatch: args after the name, exit codes kept, unknown → help with exit 1', async () => {
  const r = new CtlRegistry();
  r.register(cluster);
  assert.deepEqual(await r.run(['cluster', 'status']), { code: 0, output: 'cluster status\n' });
  assert.deepEqual(await r.run(['cluster', 'bogus']), { code: 1, output: 'cluster bogus\n' });
  assert.deepEqual(await r.run([]), { code: 0, output: r.help() });
  assert.deepEqual(await r.run(['help']), { code: 0, output: r.help() });
  assert.deepEqual(await r.run(['nope']), { code: 1, output: r.help() });
});

test('a command that throws becomes an error line, and re-registering replaces in place', async () => {
  const r = new CtlRegistry();
  const crashes: string[] = [];
  r.register({ name: 'a', usage: [['a', 'A']], run: () => ({ code: 0, output: '' }) });
  r.register({ name: 'boom', usage: [['boom', 'B']], run: () => Promise.reject(new Error('disk on fire')) });
  r.register({ name: 'a', usage: [['a', 'A2']], run: () => ({ code: 0, output: 'a2\n' }) });
  assert.deepEqual(r.names(), ['a', 'boom']);
  assert.deepEqual(await r.run(['a']), { code: 0, output: 'a2\n' });
  const res = await r.run(['boom'], (cmd) => crashes.push(cmd));
  assert.deepEqual(res, { code: 1, output: "Error: command 'boom' failed: disk on fire\n" });
  assert.deepEqual(crashes, ['boom']);
  assert.throws(() => r.register({ name: 'bad name', usage: [], run: () => ({ code: 0, output: '' }) }), /invalid ctl command name/);
});
