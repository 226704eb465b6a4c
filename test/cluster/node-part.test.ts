// The node part refuses a database it cannot use, naming the directory and what to do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { Config } from '../../src/config/types.js';
import { clusterPart } from '../../src/cluster/node-part.js';
import { Store } from '../../src/db/store/index.js';
import { MemoryNet } from '../helpers/memory-dist.js';
import { clusterConfig } from '../helpers/cluster-config.js';

test('a membership state of the wrong shape stops the start with the directory named', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'node-part-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const s = await Store.open(dir);
  await s.writeState('membership', { view: { clusterId: 'c', members: { 'a@127.0.0.1': { state: 'zombie' } } } });
  await s.close();
  const dist = new MemoryNet().create('a@127.0.0.1');
  await dist.start();
  t.after(() => dist.stop());
  const config = { node: { name: 'a@127.0.0.1' }, cluster: clusterConfig() } as unknown as Config;
  const part = clusterPart({ config, logger: pino({ level: 'silent' }), mnesiaDir: dir, version: '0.1.0', dist: () => dist, register: () => {} });
  await assert.rejects(part.start(), (err: unknown) => {
    const m = (err as Error).message;
    assert.match(m, new RegExp(`the database in ${dir} is not usable: membership state of a@127\\.0\\.0\\.1: bad membership entry for 'a@127\\.0\\.0\\.1'`));
    assert.match(m, /Move that directory aside/);
    return true;
  });
  // The store was released: it can be opened again.
  const again = await Store.open(dir);
  await again.close();
});
