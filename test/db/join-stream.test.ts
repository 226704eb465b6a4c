// The copy streamed to a joining node, at the Db level over real stores: many chunks with a window
// of them in flight, and every way it can fail leaving the joiner's replica exactly as it was.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db, DB_CHANNELS } from '../../src/db/db.js';
import { HlcClock } from '../../src/base/hlc.js';
import { silentLog } from '../../src/base/log.js';
import { Store } from '../../src/db/store/index.js';
import type { DbRecord } from '../../src/db/record.js';
import { MemoryNet, type MemoryDist } from '../helpers/memory-dist.js';
import { prng } from '../helpers/prng.js';

interface Side {
  readonly dist: MemoryDist;
  readonly store: Store;
  readonly db: Db;
  readonly dir: string;
  readonly clock: HlcClock;
}

async function side(t: TestContext, net: MemoryNet, name: string, opts: { chunkBytes?: number; window?: number } = {}): Promise<Side> {
  const dist = net.create(name);
  await dist.start();
  const dir = mkdtempSync(join(tmpdir(), 'join-stream-'));
  const store = await Store.open(dir);
  const clock = new HlcClock(name);
  const db = new Db({
    dist,
    store,
    clock,
    log: silentLog,
    runningPeers: () => [],
    ...(opts.chunkBytes ? { snapshotChunkBytes: opts.chunkBytes } : {}),
    ...(opts.window ? { snapshotWindow: opts.window } : {}),
  });
  await db.open();
  t.after(async () => {
    db.close();
    await dist.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dist, store, db, dir, clock };
}

/** Rows of mixed sizes, Buffers among them, a few deleted. */
async function fill(s: Side, n: number): Promise<void> {
  const r = prng(7);
  for (let i = 0; i < n; i += 500) {
    await s.db.writeMany(
      Array.from({ length: Math.min(500, n - i) }, (_, k) => {
        const j = i + k;
        return { table: j % 3 === 0 ? 'retained' : 'users', key: `k${j}`, value: { payload: Buffer.alloc(Math.floor(r() * 20_000), j % 251), j } };
      }),
    );
  }
  for (let i = 0; i < n; i += 97) await s.db.write(i % 3 === 0 ? 'retained' : 'users', `k${i}`, undefined);
}

const rows = (s: Side): Map<string, DbRecord> => new Map([...s.store.entries()].map((r) => [`${r.table}/${r.key}`, r as DbRecord]));

test('a copy of many chunks, asked for a window ahead, arrives whole and in order', async (t) => {
  const net = new MemoryNet();
  const seed = await side(t, net, 'seed@127.0.0.1', { chunkBytes: 64 * 1024 });
  const joiner = await side(t, net, 'joiner@127.0.0.1', { window: 3 });
  await fill(seed, 3000);
  await joiner.db.write('users', 'mine', 'joiner only');
  await joiner.dist.connect(seed.dist.self);
  let asked = 0;
  const call = joiner.dist.call.bind(joiner.dist);
  joiner.dist.call = (node, channel, payload, timeoutMs) => {
    if (channel === DB_CHANNELS.snapshot) asked++;
    return call(node, channel, payload, timeoutMs);
  };
  const { records } = await joiner.db.replaceFrom(seed.dist.self, async () => {});
  const want = rows(seed);
  assert.equal(records, want.size);
  assert.ok(asked > 20, `only ${asked} chunks asked for`);
  assert.deepEqual(rows(joiner), want, "the joiner holds exactly the seed's copy");
  assert.equal(joiner.db.get('users', 'mine'), undefined);
  assert.ok(joiner.clock.now().t >= Math.max(...[...want.values()].map((r) => r.meta.hlc.t)), "the joiner's clock has seen every version");
  // The seed let go of the copy after the last chunk.
  await assert.rejects(joiner.dist.call(seed.dist.self, DB_CHANNELS.snapshot, { id: 'any', seq: 1 }, 1000), /expired/);
});

test('a merged table: the joiner keeps its rows newer than the copy, not those the copy has newer or deleted later', async (t) => {
  const net = new MemoryNet();
  const seed = await side(t, net, 'seed@127.0.0.1', { chunkBytes: 16 * 1024 });
  const joiner = await side(t, net, 'joiner@127.0.0.1');
  joiner.db.mergeOnJoin('retained');
  // The order of the writes decides which side is newer: each side's clock sees the other's
  // before it writes after it (within one millisecond, independent clocks need not agree).
  await joiner.db.write('retained', 'deleted-later', 'joiner');
  await joiner.db.write('retained', 'older-here', 'joiner');
  seed.clock.observe(joiner.clock.now());
  await seed.db.write('retained', 'deleted-later', 'seed');
  await seed.db.write('retained', 'deleted-later', undefined);
  await seed.db.write('retained', 'older-here', 'seed newer');
  await seed.db.write('retained', 'newer-here', 'seed older');
  await seed.db.write('users', 'u', 'seed');
  joiner.clock.observe(seed.clock.now());
  await joiner.db.write('retained', 'newer-here', 'joiner newer');
  await joiner.db.write('retained', 'only-here', 'joiner');
  await joiner.db.write('users', 'mine', 'not merged');
  await joiner.dist.connect(seed.dist.self);
  await joiner.db.replaceFrom(seed.dist.self, async () => {});
  assert.deepEqual(joiner.db.list('retained'), [
    ['newer-here', 'joiner newer'],
    ['older-here', 'seed newer'],
    ['only-here', 'joiner'],
  ]);
  assert.deepEqual(joiner.db.list('users'), [['u', 'seed']], 'other tables are the copy alone');
});

async function assertUntouched(t: TestContext, joiner: Side, before: Map<string, DbRecord>): Promise<void> {
  assert.deepEqual(rows(joiner), before, "the joiner's replica is as it was");
  assert.deepEqual(readdirSync(joiner.dir).filter((f) => f.endsWith('.tmp')), [], 'no staged file left behind');
  void t;
}

test('a seed that goes away mid-stream fails the join; the joiner keeps its data', async (t) => {
  const net = new MemoryNet();
  const seed = await side(t, net, 'seed@127.0.0.1', { chunkBytes: 32 * 1024 });
  const joiner = await side(t, net, 'joiner@127.0.0.1');
  await fill(seed, 2000);
  await fill(joiner, 300);
  const before = rows(joiner);
  await joiner.dist.connect(seed.dist.self);
  let chunks = 0;
  const encode = seed.store.encodeTransfer.bind(seed.store);
  seed.store.encodeTransfer = (rs) => {
    if (++chunks === 30) void seed.dist.stop();
    return encode(rs);
  };
  await assert.rejects(joiner.db.replaceFrom(seed.dist.self, async () => {}), /nodedown|no link|link/);
  await assertUntouched(t, joiner, before);
});

test('a record without a version, or a chunk out of order, fails the join; the joiner keeps its data', async (t) => {
  for (const fault of ['no version', 'out of order'] as const) {
    const net = new MemoryNet();
    const seed = await side(t, net, 'seed@127.0.0.1', { chunkBytes: 16 * 1024 });
    const joiner = await side(t, net, 'joiner@127.0.0.1');
    await fill(seed, 500);
    await fill(joiner, 50);
    const before = rows(joiner);
    await joiner.dist.connect(seed.dist.self);
    if (fault === 'no version') {
      const encode = seed.store.encodeTransfer.bind(seed.store);
      let n = 0;
      seed.store.encodeTransfer = (rs) => encode(++n >= 5 ? rs.map((r, i) => (i === 0 ? { ...r, meta: {} as DbRecord['meta'] } : r)) : rs);
    } else {
      const call = joiner.dist.call.bind(joiner.dist);
      joiner.dist.call = (node, channel, payload, timeoutMs) => {
        const p = payload as { id?: string; seq: number };
        return call(node, channel, channel === DB_CHANNELS.snapshot && p.seq === 3 ? { ...p, seq: 4 } : payload, timeoutMs);
      };
    }
    await assert.rejects(joiner.db.replaceFrom(seed.dist.self, async () => {}), fault === 'no version' ? /malformed record/ : /chunk 4 asked for, 3 expected/, fault);
    await assertUntouched(t, joiner, before);
  }
});

test('a joiner that goes down frees its copy on the seed at once', async (t) => {
  const net = new MemoryNet();
  const seed = await side(t, net, 'seed@127.0.0.1', { chunkBytes: 16 * 1024 });
  const joiner = await side(t, net, 'joiner@127.0.0.1');
  const other = await side(t, net, 'other@127.0.0.1');
  await fill(seed, 500);
  await joiner.dist.connect(seed.dist.self);
  await other.dist.connect(seed.dist.self);
  const first = (await joiner.dist.call(seed.dist.self, DB_CHANNELS.snapshot, { seq: 0 }, 1000)) as Buffer;
  const id = first.toString('utf8', 15, 15 + first[14]!);
  await joiner.dist.stop();
  await assert.rejects(other.dist.call(seed.dist.self, DB_CHANNELS.snapshot, { id, seq: 1 }, 1000), /expired/);
});
