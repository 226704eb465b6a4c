// `emqx ctl vm`: EMQX's layout for the load, the process's memory and its open files, from given
// readings; `vm` alone is `vm all`; anything else prints the usage and fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { vmCommand, vmLines } from '../../src/ctl/vm.js';

const readings = {
  load: () => [0.484, 1.5, 2],
  memory: () => ({ rss: 80_000_000, heapTotal: 30_000_000, heapUsed: 20_000_000, external: 3_000_000, arrayBuffers: 1_000_000 }),
  files: () => ({ max: 20_000, active: 42 }),
};

test('vm: EMQX padding and names, sections alone and together', async () => {
  assert.equal(vmLines('load', readings), 'cpu/load1               : 0.48\ncpu/load5               : 1.5\ncpu/load15              : 2\n');
  assert.equal(vmLines('memory', readings).split('\n')[0], 'memory/total            : 80000000');
  assert.equal(vmLines('io', readings), 'io/max_fds              : 20000\nio/active_fds           : 42\n');
  const cmd = vmCommand(readings);
  const all = await cmd.run([]);
  assert.equal(all.code, 0);
  assert.equal(all.output, vmLines('load', readings) + vmLines('memory', readings) + vmLines('io', readings));
  assert.deepEqual(await cmd.run(['all']), all);
  const bad = await cmd.run(['process']);
  assert.equal(bad.code, 1);
  assert.match(bad.output, /^vm all +# /);
});

test('vm: real readings of this process', async () => {
  const out = (await vmCommand().run(['io'])).output;
  assert.match(out, /^io\/max_fds +: \d+\nio\/active_fds +: \d+\n$/);
});
