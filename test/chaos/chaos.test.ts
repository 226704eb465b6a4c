// The chaos suite, short and seeded for CI: five real members under kills, pauses, partitions,
// force-leaves and reloads, with a writing client and a wrong-cookie rogue; every invariant must
// hold after every heal. A failure prints the seed; `npm run chaos -- --seed 7 --minutes 2` replays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { partitionUnavailable } from '../helpers/partition.js';
import { runChaos } from './run.js';
import { FAULT_KINDS } from './schedule.js';
import { skipOrFail } from '../helpers/prerequisite.js';

test('chaos, seed 7: every invariant holds after every heal', { timeout: 240_000 }, async (t) => {
  const why = await partitionUnavailable();
  if (why) return skipOrFail(t, why);
  const ac = new AbortController();
  // runChaos cleans up itself; the abort is the backstop if the test is cancelled mid-run.
  t.after(() => ac.abort());
  const lines: string[] = [];
  const r = await runChaos({ seed: 7, durationMs: 110_000, maxFaults: 15, signal: ac.signal, log: (l) => lines.push(l) });
  t.diagnostic(`seed ${r.seed}: ${r.durationMs} ms, writes acked ${r.writesAcked}, checks passed ${r.checksPassed}, rogue attempts ${r.rogueAttempts}`);
  for (const f of r.findings) t.diagnostic(`finding: ${f}`);
  if (r.protocolErrorsLogged > 0) t.diagnostic(`protocol_error link drops logged: ${r.protocolErrorsLogged}`);
  assert.deepEqual(r.violations, [], `seed ${r.seed}:\n${lines.join('\n')}`);
  for (const k of FAULT_KINDS) assert.ok(r.faults[k].injected > 0, `no ${k} fault injected`);
  assert.ok(r.writesAcked > 20, `only ${r.writesAcked} writes acknowledged`);
  assert.equal(r.writesVerified, r.writesAcked);
  assert.ok((r.rogueFailureReasons.authentication_failed ?? 0) > 0, `rogue's joins failed for: ${JSON.stringify(r.rogueFailureReasons)}`);
  assert.ok(r.rogueAttempts > 5, `the rogue tried only ${r.rogueAttempts} times`);
  for (const [node, n] of Object.entries(r.rogueRefusalsLogged)) assert.ok(n > 0, `${node} logged no refusal of the rogue`);
});
