import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatUptime, quoteAtom, statusCommand } from '../../src/ctl/status.js';

test('uptime wording', () => {
  assert.equal(formatUptime(0), '0 seconds');
  assert.equal(formatUptime(59_999), '59 seconds');
  assert.equal(formatUptime(61_000), '1 minutes, 1 seconds');
  assert.equal(formatUptime(3600_000), '1 hours, 0 minutes, 0 seconds');
  assert.equal(formatUptime(90_061_000), '1 days, 1 hours, 1 minutes, 1 seconds');
  assert.equal(formatUptime(-5), '0 seconds');
});

test("status prints EMQX's line with the quoted node name, then the uptime", async () => {
  const cmd = statusCommand({ nodeName: 'emqx@127.0.0.1', version: '1.2.3', startedAt: 1000, now: () => 66_000 });
  assert.deepEqual(await cmd.run([]), { code: 0, output: "Node 'emqx@127.0.0.1' 1.2.3 is started\nUptime: 1 minutes, 5 seconds\n" });
  assert.equal(quoteAtom("a'b"), "'a\\'b'");
});
