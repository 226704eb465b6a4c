// kill -9 during writes: every `admins add` that printed `ok` survives the crash of either node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { allocDistBase, createTestNode, type TestNode } from '../helpers/launcher.js';
import { userAdmins } from '../helpers/admins.js';

async function reaped(n: TestNode): Promise<void> {
  await n.waitExit();
  const end = Date.now() + 10_000;
  while (n.pid !== undefined && existsSync(`/proc/${n.pid}`) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

test('acknowledged admins survive kill -9 of either member during writes', async (t) => {
  const names = ['k1@127.0.75.2', 'k2@127.0.75.3'];
  const base = await allocDistBase(names);
  const [k1, k2] = (await Promise.all(names.map((name) => createTestNode(t, { name, distBasePort: base, conf: 'node.dist_net_ticktime = 2s\n' })))) as [TestNode, TestNode];
  await Promise.all([k1.startOk(), k2.startOk()]);
  assert.equal((await k2.ctl(['cluster', 'join', k1.name])).code, 0);

  const acked = new Set<string>();
  let stop = false;
  let seq = 0;
  const writer = async (): Promise<void> => {
    while (!stop) {
      const u = `u${seq++}`;
      const r = await k1.ctl(['admins', 'add', u, 'passw0rd!'], { timeoutMs: 15_000 });
      if (r.code === 0 && r.stdout === 'ok\n') acked.add(u);
      else await new Promise((res) => setTimeout(res, 50));
    }
  };
  const writers = [writer(), writer(), writer()];
  const waitAcked = async (n: number): Promise<void> => {
    const end = Date.now() + 20_000;
    while (acked.size < n && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.ok(acked.size >= n, `only ${acked.size} writes acknowledged`);
  };
  await waitAcked(15);
  k2.kill('SIGKILL'); // the replica dies mid-stream
  await reaped(k2);
  await waitAcked(acked.size + 10);
  await k2.startOk();
  await waitAcked(acked.size + 10);
  k1.kill('SIGKILL'); // the writer's node dies mid-stream
  stop = true;
  await Promise.all(writers);
  await reaped(k1);
  await k1.startOk();

  const listed = async (n: TestNode): Promise<Set<string>> =>
    new Set(
      userAdmins((await n.ctl(['admins', 'list'])).stdout)
        .split('\n')
        .filter(Boolean)
        .map((l) => /^Username: (\w+),/.exec(l)![1]!),
    );
  const end = Date.now() + 15_000;
  for (const n of [k1, k2]) {
    let missing: string[];
    do {
      const have = await listed(n);
      missing = [...acked].filter((u) => !have.has(u));
      if (missing.length === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    } while (Date.now() < end);
    assert.deepEqual(missing, [], `${n.name} lost acknowledged writes`);
  }
  t.diagnostic(`${acked.size} acknowledged writes, all present on both nodes after two kill -9`);
});
