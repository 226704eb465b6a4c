import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Store, StoreClosedError, StoreLockedError, StoreRecordError, type StoredRecord } from '../../../src/db/store/index.js';
import { captureLog, rec, tempDir, tomb } from './fixtures.js';
import { skipOrFail } from '../../helpers/prerequisite.js';

const sorted = (it: Iterable<StoredRecord>): StoredRecord[] => [...it].sort((a, b) => (a.table + '/' + a.key < b.table + '/' + b.key ? -1 : 1));

test('write, read, reopen: records, tables and sizes survive a restart', async (t) => {
  const dir = tempDir(t);
  let s = await Store.open(dir);
  await s.write([rec('admins', 'alice', { pw: 'h1' }, { hlc: 1 }), rec('admins', 'bob', { pw: 'h2' }), rec('routes', 'a/b', [1, 2])]);
  await s.write([rec('admins', 'alice', { pw: 'h3' }, { hlc: 2 })]);
  assert.deepEqual(s.get('admins', 'alice'), { table: 'admins', key: 'alice', value: { pw: 'h3' }, meta: { hlc: 2 } });
  assert.equal(s.size(), 3);
  assert.equal(s.size('admins'), 2);
  assert.equal(s.size('nope'), 0);
  assert.deepEqual(s.tables().sort(), ['admins', 'routes']);
  const before = sorted(s.entries());
  await s.close();
  s = await Store.open(dir);
  t.after(() => s.close());
  assert.deepEqual(sorted(s.entries()), before);
  assert.deepEqual(sorted(s.entries('routes')), [rec('routes', 'a/b', [1, 2])]);
  assert.equal(s.get('admins', 'carol'), undefined);
});

test('tombstones are kept (with their meta, without a value) and survive a restart', async (t) => {
  const dir = tempDir(t);
  let s = await Store.open(dir);
  await s.write([rec('admins', 'alice', 'x', 1)]);
  await s.write([{ table: 'admins', key: 'alice', value: 'ignored', deleted: true, meta: 5 }]);
  const expected = { table: 'admins', key: 'alice', value: undefined, deleted: true, meta: 5 };
  assert.deepEqual(s.get('admins', 'alice'), expected);
  assert.equal(s.size('admins'), 1, 'entries() and size() include tombstones');
  await s.close();
  s = await Store.open(dir);
  t.after(() => s.close());
  assert.deepEqual(s.get('admins', 'alice'), expected);
});

test('a write is visible only once durable, and a batch is all or nothing', async (t) => {
  const s = await Store.open(tempDir(t));
  t.after(() => s.close());
  const p = s.write([rec('t', 'a', 1), rec('t', 'b', 2)]);
  assert.equal(s.get('t', 'a'), undefined, 'not applied before the fsync');
  await p;
  assert.equal(s.get('t', 'a')?.value, 1);
  await assert.rejects(s.write([rec('t', 'c', 3), rec('t', 'd', () => 0)]), (e: unknown) => e instanceof StoreRecordError && /'t'\/'d'/.test(e.message));
  assert.equal(s.get('t', 'c'), undefined, 'no part of a refused batch is applied');
  await s.write([rec('t', 'k', 'first'), rec('t', 'k', 'second')]);
  assert.equal(s.get('t', 'k')?.value, 'second', 'within a batch the later record wins');
  await s.write([]);
  assert.equal(s.size(), 3);
});

test('concurrent writes are group-committed: fewer fsyncs than batches, all durable', async (t) => {
  const dir = tempDir(t);
  let s = await Store.open(dir);
  const n = 300;
  await Promise.all(Array.from({ length: n }, (_, i) => s.write([rec('t', `k${i}`, i)])));
  const st = s.stats();
  assert.equal(st.batches, n);
  assert.ok(st.groups < n / 2, `expected sharing of fsyncs, got ${st.groups} groups for ${n} batches`);
  await s.close();
  s = await Store.open(dir);
  t.after(() => s.close());
  assert.equal(s.size('t'), n);
  for (let i = 0; i < n; i++) assert.equal(s.get('t', `k${i}`)?.value, i);
});

test('writes resolve in call order', async (t) => {
  const s = await Store.open(tempDir(t));
  t.after(() => s.close());
  const order: number[] = [];
  await Promise.all(Array.from({ length: 50 }, (_, i) => s.write([rec('t', 'same', i)]).then(() => order.push(i))));
  assert.deepEqual(order, Array.from({ length: 50 }, (_, i) => i));
  assert.equal(s.get('t', 'same')?.value, 49);
});

test('replace: the old data is served until commit, then exactly the new data, also after restart', async (t) => {
  const dir = tempDir(t);
  let s = await Store.open(dir);
  await s.write([rec('admins', 'old', 1), rec('routes', 'r', 1)]);
  const r = s.beginReplace();
  await r.add([rec('admins', 'new1', 'a')]);
  await r.add([rec('admins', 'new2', 'b'), tomb('admins', 'gone')]);
  assert.deepEqual(s.get('admins', 'old')?.value, 1, 'old data served while staging');
  assert.equal(s.get('admins', 'new1'), undefined);
  await s.write([rec('admins', 'during', 1)]);
  await r.commit();
  assert.deepEqual(sorted(s.entries()).map((x) => x.key), ['gone', 'new1', 'new2']);
  assert.equal(s.get('routes', 'r'), undefined, 'tables absent from the replacement are gone');
  await s.write([rec('admins', 'after', 2)]);
  await s.close();
  s = await Store.open(dir);
  t.after(() => s.close());
  assert.deepEqual(sorted(s.entries()).map((x) => x.key), ['after', 'gone', 'new1', 'new2']);
  assert.equal(s.get('admins', 'gone')?.deleted, true);
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
});

test('replace abort leaves the store exactly as it was, with no staged file behind', async (t) => {
  const dir = tempDir(t);
  let s = await Store.open(dir);
  await s.write([rec('t', 'keep', 1)]);
  const filesBefore = readdirSync(dir).sort();
  const r = s.beginReplace();
  await r.add(Array.from({ length: 2000 }, (_, i) => rec('t', `n${i}`, i)));
  await r.abort();
  await assert.rejects(r.commit(), /finished/);
  assert.deepEqual(readdirSync(dir).sort(), filesBefore);
  await s.close();
  s = await Store.open(dir);
  t.after(() => s.close());
  assert.deepEqual([...s.entries()], [rec('t', 'keep', 1)]);
});

test('an uncommitted replace is dropped when the store closes; restart serves the old data', async (t) => {
  const dir = tempDir(t);
  let s = await Store.open(dir);
  await s.write([rec('t', 'keep', 1)]);
  const r = s.beginReplace();
  await r.add([rec('t', 'staged', 1)]);
  await s.close();
  s = await Store.open(dir);
  t.after(() => s.close());
  assert.deepEqual([...s.entries()], [rec('t', 'keep', 1)]);
});

test('replace with an empty staging and a large one (20k records)', async (t) => {
  const dir = tempDir(t);
  let s = await Store.open(dir);
  await s.write([rec('t', 'x', 1)]);
  const empty = s.beginReplace();
  await empty.commit();
  assert.equal(s.size(), 0);
  const big = s.beginReplace();
  for (let i = 0; i < 20_000; i += 1000) await big.add(Array.from({ length: 1000 }, (_, j) => rec('big', `k${i + j}`, { n: i + j, pad: 'p'.repeat(100) })));
  await big.commit();
  assert.equal(s.size('big'), 20_000);
  await s.close();
  s = await Store.open(dir);
  t.after(() => s.close());
  assert.equal(s.size('big'), 20_000);
  assert.deepEqual(s.get('big', 'k12345')?.value, { n: 12345, pad: 'p'.repeat(100) });
});

test('clear empties the tables atomically and durably; state documents stay', async (t) => {
  const dir = tempDir(t);
  let s = await Store.open(dir);
  await s.write([rec('a', '1', 1), rec('b', '2', 2)]);
  await s.writeState('membership', { members: ['n1@127.0.0.1'] });
  await s.clear();
  assert.equal(s.size(), 0);
  assert.deepEqual([...s.entries()], []);
  await s.write([rec('a', '3', 3)]);
  await s.close();
  s = await Store.open(dir);
  t.after(() => s.close());
  assert.deepEqual([...s.entries()], [rec('a', '3', 3)]);
  assert.deepEqual(await s.readState('membership'), { members: ['n1@127.0.0.1'] });
});

test('state documents: write, overwrite in call order, missing, bad names', async (t) => {
  const dir = tempDir(t);
  let s = await Store.open(dir);
  assert.equal(await s.readState('view'), undefined);
  await s.writeState('view', { epoch: 1, nodes: new Set(['a']) });
  await Promise.all(Array.from({ length: 20 }, (_, i) => s.writeState('view', { epoch: i + 2 })));
  assert.deepEqual(await s.readState('view'), { epoch: 21 });
  await assert.rejects(s.writeState('../etc/passwd', 1), (e: unknown) => e instanceof StoreRecordError && /state document name/.test(e.message));
  await assert.rejects(s.readState(''), StoreRecordError);
  await assert.rejects(s.writeState('fn', () => 1), StoreRecordError);
  await s.close();
  s = await Store.open(dir);
  t.after(() => s.close());
  assert.deepEqual(await s.readState<{ epoch: number }>('view'), { epoch: 21 });
});

test('writeState stores the value as it was at the call', async (t) => {
  const s = await Store.open(tempDir(t));
  t.after(() => s.close());
  const view = { members: ['a'] };
  const p = s.writeState('view', view);
  view.members.push('b');
  await p;
  assert.deepEqual(await s.readState('view'), { members: ['a'] });
});

test('compaction folds the logs into a snapshot, removes old files, keeps every record', async (t) => {
  const dir = tempDir(t);
  const log = captureLog();
  let s = await Store.open(dir, { compactLogBytes: 16 * 1024, logger: log.logger });
  for (let round = 0; round < 40; round++) {
    await Promise.all(Array.from({ length: 20 }, (_, i) => s.write([rec('t', `k${(round * 20 + i) % 300}`, { round, pad: 'x'.repeat(80) })])));
    if (round % 10 === 9) await s.write([tomb('t', `k${round}`)]);
  }
  await s.compact();
  const st = s.stats();
  assert.ok(st.compactions >= 2, `expected automatic compactions, got ${st.compactions}`);
  assert.ok(st.logBytes < 16 * 1024, 'the logs were folded');
  const files = readdirSync(dir);
  assert.equal(files.filter((f) => f.endsWith('.snap')).length, 1, `one snapshot in ${files.join(' ')}`);
  assert.equal(files.filter((f) => f.endsWith('.wal')).length, 1, `one log in ${files.join(' ')}`);
  assert.ok(log.lines.some((l) => /compaction done/.test(l.msg)));
  const before = sorted(s.entries());
  assert.equal(before.length, 300);
  await s.close();
  s = await Store.open(dir);
  t.after(() => s.close());
  assert.deepEqual(sorted(s.entries()), before);
});

test('writes made while a compaction runs are kept', async (t) => {
  const dir = tempDir(t);
  let s = await Store.open(dir);
  await s.write(Array.from({ length: 20_000 }, (_, i) => rec('bulk', `k${i}`, 'v'.repeat(50))));
  const compaction = s.compact();
  const during = Array.from({ length: 100 }, (_, i) => s.write([rec('live', `k${i}`, i)]));
  await Promise.all([compaction, ...during]);
  await s.close();
  s = await Store.open(dir);
  t.after(() => s.close());
  assert.equal(s.size('bulk'), 20_000);
  assert.equal(s.size('live'), 100);
});

test('a replace that commits during a compaction wins; the stale compaction does not resurrect old data', async (t) => {
  const dir = tempDir(t);
  let s = await Store.open(dir);
  await s.write(Array.from({ length: 20_000 }, (_, i) => rec('old', `k${i}`, 'v'.repeat(50))));
  const r = s.beginReplace();
  await r.add([rec('new', 'only', 1)]);
  const compaction = s.compact();
  await r.commit();
  await compaction;
  assert.deepEqual([...s.entries()], [rec('new', 'only', 1)]);
  await s.close();
  s = await Store.open(dir);
  t.after(() => s.close());
  assert.deepEqual([...s.entries()], [rec('new', 'only', 1)]);
});

test('a directory is used by one store at a time; a dead owner\'s lock is taken over', async (t) => {
  const dir = tempDir(t);
  const s = await Store.open(dir);
  await assert.rejects(Store.open(dir), (e: unknown) => e instanceof StoreLockedError && e.message.includes(String(process.pid)));
  await s.close();
  // A pid that cannot be running (above the kernel's pid_max).
  writeFileSync(join(dir, 'LOCK'), '99999999\n');
  const s2 = await Store.open(dir);
  await s2.close();
  assert.equal(existsSync(join(dir, 'LOCK')), false, 'close releases the lock');
});

test('operations after close fail with StoreClosedError; close is idempotent and waits for writes', async (t) => {
  const dir = tempDir(t);
  const s = await Store.open(dir);
  const pending = s.write([rec('t', 'last', 1)]);
  await s.close();
  await pending;
  await s.close();
  await assert.rejects(s.write([rec('t', 'x', 1)]), StoreClosedError);
  assert.throws(() => s.beginReplace(), StoreClosedError);
  await assert.rejects(s.clear(), StoreClosedError);
  await assert.rejects(s.writeState('a', 1), StoreClosedError);
  const again = await Store.open(dir);
  t.after(() => again.close());
  assert.equal(again.get('t', 'last')?.value, 1);
});

test('leftovers of interrupted compactions and replaces are removed at open', async (t) => {
  const dir = tempDir(t);
  let s = await Store.open(dir);
  await s.write([rec('t', 'a', 1)]);
  await s.close();
  for (const f of ['snap-000042.snap.tmp', 'snap-000043.snap', 'MANIFEST.tmp', 'view.state.tmp']) writeFileSync(join(dir, f), 'partial');
  const log = captureLog();
  s = await Store.open(dir, { logger: log.logger });
  t.after(() => s.close());
  assert.deepEqual(readdirSync(dir).filter((f) => /tmp|snap-00004/.test(f)), []);
  assert.ok(log.lines.some((l) => /leftovers/.test(l.msg)));
  assert.equal(s.get('t', 'a')?.value, 1);
});

test('a directory with only the first, empty log (crash while creating) is initialised afresh', async (t) => {
  const dir = tempDir(t);
  let s = await Store.open(dir);
  await s.close();
  const { unlinkSync } = await import('node:fs');
  unlinkSync(join(dir, 'MANIFEST'));
  s = await Store.open(dir);
  t.after(() => s.close());
  await s.write([rec('t', 'a', 1)]);
  assert.equal(s.size(), 1);
});

test('a write issued the moment earlier ones resolve is committed too (no lost wake-up)', async (t) => {
  const s = await Store.open(tempDir(t));
  t.after(() => s.close());
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('a write never resolved')), 5000);
  });
  try {
    for (let round = 0; round < 30; round++) {
      await Promise.race([stuck, Promise.all([0, 1, 2].map((i) => s.write([rec('t', `${round}.${i}`, i)])))]);
    }
  } finally {
    clearTimeout(timer);
  }
  assert.equal(s.size(), 90);
});

test('a lock left by an earlier process that had the same pid (container restart) is stale', async (t) => {
  const dir = tempDir(t);
  const s = await Store.open(dir);
  await s.close();
  // Same pid as ours, but a start time that is not ours.
  writeFileSync(join(dir, 'LOCK'), `${process.pid} 1\n`);
  const s2 = await Store.open(dir);
  t.after(() => s2.close());
  assert.match(readFileSync(join(dir, 'LOCK'), 'utf8'), new RegExp(`^${process.pid} \\d+\\n$`));
});

test('a group never exceeds maxGroupBytes (one oversized batch goes alone)', async (t) => {
  const s = await Store.open(tempDir(t), { maxGroupBytes: 2 << 20 });
  t.after(() => s.close());
  const mb = 'x'.repeat(1 << 20);
  await Promise.all(Array.from({ length: 10 }, (_, i) => s.write([rec('t', `k${i}`, mb)])));
  await s.write([rec('t', 'huge', 'y'.repeat(3 << 20))]);
  const st = s.stats();
  assert.equal(st.batches, 11);
  assert.ok(st.groups >= 6, `10 batches of 1 MiB need at least 5 groups of 2 MiB, plus the oversized one; got ${st.groups}`);
  assert.equal(s.get('t', 'huge')?.value, 'y'.repeat(3 << 20));
});

test('a lock held by a killed process that was never reaped (a zombie) is stale', async (t) => {
  if (process.platform !== 'linux') return skipOrFail(t, 'zombie processes are read from Linux /proc');
  const { spawn } = await import('node:child_process');
  const { readFile } = await import('node:fs/promises');
  const dir = tempDir(t);
  // `sleep 30` becomes the parent of the inner sleep and never reaps it: after SIGKILL the inner
  // process stays a zombie, as a killed daemon does under a PID 1 that does not reap.
  const parent = spawn('sh', ['-c', 'sleep 30 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => parent.kill('SIGKILL'));
  const pid = await new Promise<number>((resolve, reject) => {
    parent.stdout.once('data', (d: Buffer) => resolve(Number.parseInt(d.toString(), 10)));
    parent.once('error', reject);
  });
  const statOf = async () => {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'LOCK'), `${pid} ${(await statOf())[19]}\n`);
  await assert.rejects(Store.open(dir), StoreLockedError, 'a live owner holds the lock');
  process.kill(pid, 'SIGKILL');
  const deadline = Date.now() + 5_000;
  while ((await statOf())[0] !== 'Z') {
    assert.ok(Date.now() < deadline, 'the killed process did not become a zombie');
    await new Promise((r) => setTimeout(r, 10));
  }
  const s = await Store.open(dir);
  await s.close();
});
