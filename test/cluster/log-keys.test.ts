// Membership log lines name the other node `peer`: the node's logger already carries `node` (the
// writer), and a second `node` key made JSON parsers read the peer as the writer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Log } from '../../src/base/log.js';
import { Sim, until } from './support/sim.js';

const A = 'a@127.0.0.1';
const B = 'b@127.0.0.1';
const C = 'c@127.0.0.1';

function capturing(): { records: Array<{ obj: Record<string, unknown>; msg: string }>; log: Log } {
  const records: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  const put = (obj: object, msg: string): void => void records.push({ obj: obj as Record<string, unknown>, msg });
  return { records, log: { debug: put, info: put, warn: put, error: put } };
}

test('join, member running, force-leave and member down name the other node as peer, never as node', async (t) => {
  const sim = new Sim();
  t.after(() => sim.stopAll());
  const la = capturing();
  await sim.start(A, { log: la.log });
  await sim.start(B);
  await sim.start(C);
  assert.equal((await sim.run(B, 'cluster', 'join', A)).code, 0);
  assert.equal((await sim.run(C, 'cluster', 'join', A)).code, 0);
  await until('a sees b and c running', () => sim.status(A).running.length === 3);
  await sim.kill(C);
  await until('a sees c down', () => sim.status(A).stopped.includes(C));
  assert.equal((await sim.run(A, 'cluster', 'force-leave', C)).code, 0);
  for (const r of la.records) assert.ok(!('node' in r.obj), `'${r.msg}' carries a node key: ${JSON.stringify(r.obj)}`);
  const peerOf = (msg: string): unknown[] => la.records.filter((r) => r.msg === msg).map((r) => r.obj.peer);
  assert.deepEqual(peerOf('node joined the cluster').sort(), [B, C]);
  assert.ok(peerOf('member running').includes(B));
  assert.deepEqual(peerOf('member down'), [C]);
  assert.deepEqual(peerOf('removed a node from the cluster'), [C]);
});
