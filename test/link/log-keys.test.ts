// Log lines name the writing node once: the logger's base carries `node`, so a line about another
// node names it `peer` (a second `node` key made JSON parsers read the peer as the writer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { createDist, type Dist } from '../../src/link/index.js';
import { capturingLogger, randomBasePort, until } from './fixtures.js';

const base = randomBasePort();
const A = 'a1@127.0.44.1';
const B = 'b2@127.0.44.2';
const R = 'r3@127.0.44.3';

async function start(self: string, logger: pino.Logger, cookie = 'secret-cookie'): Promise<Dist> {
  const d = createDist({ self, cookie, clusterName: 'testcl', protoDist: 'inet_tcp', netTicktimeMs: 4000, basePort: base, logger });
  await d.start();
  return d;
}

test('link up, link down and link refused carry the other node as `peer`, the writer as the only `node`', async (t) => {
  const la = capturingLogger(A);
  const lb = capturingLogger(B);
  const a = await start(A, la.logger);
  const b = await start(B, lb.logger);
  const r = await start(R, pino({ level: 'silent' }), 'wrong-cookie');
  t.after(async () => {
    await Promise.all([a.stop(), b.stop(), r.stop()]);
  });
  await a.connect(B);
  await assert.rejects(r.connect(A));
  a.disconnect(B);
  await until(() => !b.isUp(A), 3000, 'link down on b');
  const records = (lines: string[]): Array<Record<string, unknown>> => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const find = (lines: string[], msg: string): Record<string, unknown> => {
    const rec = records(lines).find((x) => x.msg === msg);
    assert.ok(rec, `no '${msg}' line in ${lines.join('\n')}`);
    return rec;
  };
  for (const line of [...la.lines, ...lb.lines]) assert.equal(line.match(/"node":/g)?.length, 1, `node key not once: ${line}`);
  assert.equal(find(la.lines, 'link up').peer, B);
  assert.equal(find(la.lines, 'link up').node, A);
  assert.equal(find(lb.lines, 'link up').peer, A);
  assert.equal(find(lb.lines, 'link down').peer, A);
  const refused = find(la.lines, 'link refused');
  assert.equal(refused.node, A);
  assert.equal(refused.reason, 'authentication_failed');
  assert.match(String(refused.address), /^127\.0\.44\.3:\d+$/);
});
