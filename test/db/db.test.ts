// The replicated tables over the real storage engine: durability across a reopen, a join
// replacing the store only on commit, and a damaged file refusing to load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, StoreCorruptError } from '../../src/db/store/index.js';
import { startClusterParts } from '../../src/cluster/parts.js';
import { silentLog } from '../../src/base/log.js';
import { MemoryNet } from '../helpers/memory-dist.js';
import { clusterConfig } from '../helpers/cluster-config.js';

async function node(net: MemoryNet, name: string, dir: string) {
  const dist = net.create(name);
  await dist.start();
  const store = await Store.open(dir);
  const parts = await startClusterParts({ dist, store, log: silentLog, config: clusterConfig(), callTimeoutMs: 2000 });
  return {
    dist,
    store,
    parts,
    async stop() {
      await parts.stop();
      await dist.stop();
      await store.close();
    },
  };
}

test('writes, tombstones and membership survive a reopen of the real store; join replaces on commit', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'db-test-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const net = new MemoryNet();
  const a = await node(net, 'a@127.0.0.1', join(root, 'a'));
  let b = await node(net, 'b@127.0.0.1', join(root, 'b'));
  t.after(async () => {
    await a.stop();
    await b.stop();
  });
  await b.parts.db.write('t', 'own', 'b-only');
  await a.parts.db.writeMany(Array.from({ length: 3000 }, (_, i) => ({ table: 't', key: `k${i}`, value: { i } })));
  await a.parts.db.write('t', 'k5', undefined);
  await b.parts.cluster.join('a@127.0.0.1');
  assert.equal(b.parts.db.get('t', 'own'), undefined, "the joiner's old data is replaced");
  assert.deepEqual(b.parts.db.get('t', 'k7'), { i: 7 });
  assert.equal(b.parts.db.get('t', 'k5'), undefined);
  await a.parts.db.write('t', 'after', 1);
  assert.equal(b.parts.db.get('t', 'after'), 1, 'acknowledged only once applied on the running member');
  await b.stop();
  b = await node(net, 'b@127.0.0.1', join(root, 'b'));
  assert.deepEqual(b.parts.cluster.members(), ['a@127.0.0.1', 'b@127.0.0.1']);
  assert.equal(b.parts.db.get('t', 'after'), 1);
  assert.equal(b.parts.db.list('t').length, 3000);
});

test('a damaged store file refuses to open, naming the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'db-corrupt-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const s = await Store.open(dir);
  await s.write([{ table: 't', key: 'k', value: 'v'.repeat(100), meta: { hlc: { t: 1, c: 0, n: 'a' } } }]);
  await s.close();
  const files = readdirSync(dir).filter((f) => statSync(join(dir, f)).isFile() && statSync(join(dir, f)).size > 50);
  assert.ok(files.length > 0, `some data file in ${readdirSync(dir).join(',')}`);
  for (const f of files) writeFileSync(join(dir, f), Buffer.alloc(statSync(join(dir, f)).size, 0x5a));
  await assert.rejects(Store.open(dir), (err: unknown) => err instanceof StoreCorruptError && err.message.includes(dir));
});
