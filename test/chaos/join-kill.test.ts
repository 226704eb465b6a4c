// kill -9 during a large join, of either side, at seeded points spread over the whole join (the
// stream, the staged writes, the commit): the killed node restarts with its old data or with the
// complete copy of the cluster's (its own retained messages merged in where newer), never a mix,
// and the other side is unharmed. What is on disk
// is checked directly: the store of a killed (or stopped) node is opened and its digest compared
// with those of the two possible contents.
//
//   JOIN_KILL_ROUNDS=n   kills per side (default 3); JOIN_KILL_SEED=s replays a run's points.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { allocDistBase, createTestNode, type TestNode } from '../helpers/launcher.js';
import { mnesiaDir } from '../../src/node/dirs.js';
import { BUSY_CLUSTER, datasetBatches, joinedDigest, storeDigest, writeDataset } from '../db/support/cluster-dataset.js';
import { makeRng } from './prng.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until the killed process is gone from /proc (its store lock is then free to take over). */
async function reaped(n: TestNode): Promise<void> {
  await n.waitExit();
  const end = Date.now() + 10_000;
  while (n.pid !== undefined && existsSync(`/proc/${n.pid}`) && Date.now() < end) await sleep(20);
}

async function members(n: TestNode): Promise<string[]> {
  const r = await n.ctl(['cluster', 'status', '--json'], { timeoutMs: 20_000 });
  if (r.code !== 0) return [];
  const s = JSON.parse(r.stdout) as { running_nodes: string[]; stopped_nodes: string[] };
  return [...s.running_nodes, ...s.stopped_nodes];
}

test('kill -9 of the joiner or the seed during a large join: old data or the complete copy, never a mix', { timeout: 900_000 }, async (t) => {
  const rounds = Number(process.env.JOIN_KILL_ROUNDS ?? 3);
  const seedNo = Number(process.env.JOIN_KILL_SEED ?? 20261206);
  const rng = makeRng(seedNo);
  const names = ['jk1@127.0.87.1', 'jk2@127.0.87.2'] as const;
  const base = await allocDistBase(names, '127.0.87.1');
  const conf = 'cluster.discovery_strategy = manual\n';
  const seed = await createTestNode(t, { name: names[0], distBasePort: base, conf });
  const joiner = await createTestNode(t, { name: names[1], distBasePort: base, conf });
  const seedDir = mnesiaDir(seed.dataDir, seed.name);
  const joinerDir = mnesiaDir(joiner.dataDir, joiner.name);

  // About 90 MB for the seed: a join of a second or more on this machine, so kills land inside it.
  const big = { retained: BUSY_CLUSTER.retained / 5, users: BUSY_CLUSTER.users / 5, banned: BUSY_CLUSTER.banned / 5, apiKeys: BUSY_CLUSTER.apiKeys, admins: BUSY_CLUSTER.admins };
  const seeded = await writeDataset(seedDir, datasetBatches({ ...big, seed: 1, node: seed.name }));
  const cluster = await storeDigest(seedDir);
  // The joiner's own data: the same tables and many of the same keys, other versions and values.
  const small = { retained: 2000, users: 300, banned: 20, apiKeys: 5, admins: 3 };
  const resetJoiner = async (): Promise<void> => {
    rmSync(joinerDir, { recursive: true, force: true });
    await writeDataset(joinerDir, datasetBatches({ ...small, seed: 2, node: joiner.name }));
  };
  await resetJoiner();
  const own = await storeDigest(joinerDir);
  assert.notEqual(own.digest, cluster.digest);
  // What a join commits: the cluster's copy with the joiner's newer retained messages. The seed
  // holds it too once a join has completed (the joiner sends them the members).
  const joined = await joinedDigest(seedDir, joinerDir);
  assert.notEqual(joined.digest, cluster.digest, "the joiner's retained messages are newer than some of the cluster's");
  const outcome = async (dir: string): Promise<'old' | 'new'> => {
    const d = await storeDigest(dir);
    if (d.digest === own.digest && d.records === own.records) return 'old';
    if (d.digest === joined.digest && d.records === joined.records) return 'new';
    assert.fail(`the joiner's store holds ${d.records} records that are neither its old ${own.records} nor the cluster's merged with its own ${joined.records}`);
  };

  await Promise.all([seed.startOk({ timeoutMs: 120_000 }), joiner.startOk({ timeoutMs: 120_000 })]);
  // How long an undisturbed join takes, to spread the kills over it (and a little past its end).
  const started = performance.now();
  const first = await joiner.ctl(['cluster', 'join', seed.name], { timeoutMs: 300_000 });
  const joinMs = performance.now() - started;
  assert.equal(first.code, 0, first.stdout + first.stderr);
  t.diagnostic(`seed holds ${seeded.records} records (${(seeded.bytes / 1048576).toFixed(0)} MB); an undisturbed join took ${joinMs.toFixed(0)} ms`);

  /** Puts the joiner back alone with its own data, and out of the seed's cluster. */
  const fresh = async (): Promise<void> => {
    await joiner.stop({ timeoutMs: 60_000 });
    await resetJoiner();
    if ((await members(seed)).includes(joiner.name)) {
      const r = await seed.ctl(['cluster', 'force-leave', joiner.name], { timeoutMs: 30_000 });
      assert.equal(r.code, 0, `force-leave: ${r.stdout}${r.stderr}`);
    }
    await joiner.startOk({ timeoutMs: 120_000 });
  };

  const seen = { joiner: { old: 0, new: 0 }, seed: { old: 0, new: 0 } };
  for (let i = 0; i < 2 * rounds; i++) {
    const victim = i % 2 === 0 ? 'joiner' : 'seed';
    await fresh();
    const delay = Math.round(rng.next() * joinMs * 1.2);
    const join = joiner.ctl(['cluster', 'join', seed.name], { timeoutMs: 300_000 });
    await sleep(delay);
    (victim === 'joiner' ? joiner : seed).kill('SIGKILL');
    const r = await join;
    await reaped(victim === 'joiner' ? joiner : seed);
    let got: 'old' | 'new';
    if (victim === 'joiner') {
      got = await outcome(joinerDir);
      await joiner.startOk({ timeoutMs: 120_000 });
    } else {
      // The seed only read its data (and took the joiner's retained messages once a join completed).
      const seedNow = await storeDigest(seedDir);
      assert.ok(seedNow.digest === joined.digest || seedNow.digest === cluster.digest, "the seed's own data changed");
      await seed.startOk({ timeoutMs: 120_000 });
      // The join failed (the joiner kept its data) or had committed before the kill.
      await joiner.stop({ timeoutMs: 60_000 });
      got = await outcome(joinerDir);
      assert.equal(got === 'new', r.code === 0, `join exit ${r.code} (${r.stdout.trim()}) but the joiner holds the ${got} data`);
      await joiner.startOk({ timeoutMs: 120_000 });
    }
    seen[victim][got]++;
    t.diagnostic(`round ${i + 1}: kill -9 of the ${victim} ${delay} ms into the join: the joiner restarts with its ${got} data (join: exit ${r.code})`);
  }
  t.diagnostic(`seed ${seedNo}: joiner killed → old ${seen.joiner.old}, new ${seen.joiner.new}; seed killed → joiner old ${seen.seed.old}, new ${seen.seed.new}`);
  // Kills that all landed after the commit would prove nothing about a join cut short.
  assert.ok(seen.joiner.old + seen.seed.old > 0, 'no kill landed before the commit');
});
