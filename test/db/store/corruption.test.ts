// Damaged files: a torn final batch is cut away (it was never acknowledged); any other damage stops
// the store from opening with a StoreCorruptError that names the file and the offset.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, readdirSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { encodeFrame } from '../../../src/db/store/frame.js';
import { MAGIC } from '../../../src/db/store/files.js';
import { encodeRecords, normalize } from '../../../src/db/store/record.js';
import { Store, StoreCorruptError } from '../../../src/db/store/index.js';
import { captureLog, rec, tempDir } from './fixtures.js';

const LOG1 = 'log-000001.wal';

/** A closed store whose only log holds `n` batches (one record each); returns the frame offsets. */
async function storeWithBatches(t: TestContext, n = 5): Promise<{ dir: string; log: string; frames: number[] }> {
  const dir = tempDir(t);
  const s = await Store.open(dir);
  for (let i = 0; i < n; i++) await s.write([rec('t', `k${i}`, { i, pad: 'x'.repeat(40) })]);
  await s.close();
  const log = join(dir, LOG1);
  const buf = readFileSync(log);
  const frames: number[] = [];
  for (let at = 8; at < buf.length; at += 12 + buf.readUInt32LE(at)) frames.push(at);
  assert.equal(frames.length, n);
  return { dir, log, frames };
}

/** A closed store with a snapshot (after compaction) and an empty log on top. */
async function storeWithSnapshot(t: TestContext): Promise<{ dir: string; snap: string }> {
  const dir = tempDir(t);
  const s = await Store.open(dir);
  await s.write(Array.from({ length: 3000 }, (_, i) => rec('t', `k${i}`, i)));
  await s.compact();
  await s.close();
  const snap = readdirSync(dir).find((f) => f.endsWith('.snap'));
  assert.ok(snap);
  return { dir, snap: join(dir, snap) };
}

function flip(file: string, offset: number): void {
  const buf = readFileSync(file);
  buf[offset] = buf[offset]! ^ 0x5a;
  writeFileSync(file, buf);
}

/** Opening must fail with StoreCorruptError naming `file` and matching `detail`, and change nothing on disk. */
async function refuses(dir: string, file: string, detail: RegExp): Promise<StoreCorruptError> {
  const before = new Map(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f))]));
  let caught: unknown;
  try {
    const s = await Store.open(dir);
    await s.close();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof StoreCorruptError, `expected StoreCorruptError, got ${String(caught)}`);
  assert.equal(caught.code, 'store_corrupt');
  assert.equal(caught.file, file);
  assert.match(caught.detail, detail);
  assert.ok(caught.message.includes(file) && caught.message.includes('docs/storage.md'), caught.message);
  const after = new Map(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f))]));
  assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort(), 'a refused store is left as found (and unlocked)');
  for (const [f, b] of before) assert.ok(b.equals(after.get(f)!), `${f} was modified`);
  return caught;
}

test('a batch cut short at the end of the log is a torn write: cut away with a warning, the rest recovered', async (t) => {
  const { dir, log, frames } = await storeWithBatches(t);
  const size = statSync(log).size;
  truncateSync(log, size - 7);
  const cap = captureLog();
  const s = await Store.open(dir, { logger: cap.logger });
  assert.equal(s.size(), 4);
  assert.equal(s.get('t', 'k4'), undefined);
  assert.equal(statSync(log).size, frames[4], 'the file is cut at the last complete batch');
  const warn = cap.lines.find((l) => l.level === 40);
  assert.ok(warn && warn.msg.includes(log) && warn.offset === frames[4], JSON.stringify(cap.lines));
  await s.write([rec('t', 'after', 1)]);
  await s.close();
  const again = await Store.open(dir);
  t.after(() => again.close());
  assert.equal(again.size(), 5);
  assert.equal(again.get('t', 'after')?.value, 1);
});

test('a log ending inside a frame header, or in a zero-filled tail, is recovered the same way', async (t) => {
  for (const damage of ['half-header', 'zeros'] as const) {
    const { dir, log, frames } = await storeWithBatches(t);
    if (damage === 'half-header') truncateSync(log, frames[4]! + 5);
    else appendFileSync(log, Buffer.alloc(4096));
    const s = await Store.open(dir);
    assert.equal(s.size(), damage === 'half-header' ? 4 : 5, damage);
    await s.close();
  }
});

test('a log cut inside its 8-byte header (crash right after creating it) is recovered as empty', async (t) => {
  const { dir, log } = await storeWithBatches(t, 1);
  truncateSync(log, 3);
  const s = await Store.open(dir);
  t.after(() => s.close());
  assert.equal(s.size(), 0);
  await s.write([rec('t', 'a', 1)]);
  assert.equal(s.size(), 1);
});

test('a flipped byte in a batch in the middle of the log: refused, naming the file and offset', async (t) => {
  const { dir, log, frames } = await storeWithBatches(t);
  flip(log, frames[2]! + 12 + 10);
  const err = await refuses(dir, log, new RegExp(`checksum mismatch .* at offset ${frames[2]}`));
  assert.match(err.message, /refuses to serve a damaged database/);
});

test('a flipped byte in a length field in the middle of the log is damage, not a torn tail', async (t) => {
  const { dir, log, frames } = await storeWithBatches(t);
  flip(log, frames[1]! + 2);
  await refuses(dir, log, new RegExp(`frame header checksum mismatch at offset ${frames[1]}`));
});

test('a complete final batch with a bad checksum is refused, with the exact truncate command in the detail', async (t) => {
  const { dir, log, frames } = await storeWithBatches(t);
  flip(log, frames[4]! + 20);
  const err = await refuses(dir, log, new RegExp(`at offset ${frames[4]}`));
  assert.ok(err.detail.includes(`truncate -s ${frames[4]} ${log}`), err.detail);
});

test('a log with a wrong magic is refused', async (t) => {
  const { dir, log } = await storeWithBatches(t);
  flip(log, 0);
  await refuses(dir, log, /bad magic at offset 0/);
});

test('after a crash between log switch and manifest, both logs are replayed; only the newest may be torn', async (t) => {
  const { dir, log } = await storeWithBatches(t, 3);
  // What compaction leaves when killed right after starting the next log.
  const log2 = join(dir, 'log-000002.wal');
  writeFileSync(log2, Buffer.concat([MAGIC.log, encodeFrame(encodeRecords([normalize(rec('t', 'in-log-2', 1))]))]));
  const s = await Store.open(dir);
  assert.equal(s.size(), 4);
  assert.equal(s.get('t', 'in-log-2')?.value, 1);
  await s.close();
  truncateSync(log, statSync(log).size - 3);
  await refuses(dir, log, /not the newest log/);
  // A gap in the chain of logs is refused too.
  const { dir: dir2 } = await storeWithBatches(t, 1);
  writeFileSync(join(dir2, 'log-000003.wal'), MAGIC.log);
  await refuses(dir2, join(dir2, 'log-000002.wal'), /log missing between log-000001.wal and log-000003.wal/);
});

test('a torn batch followed only by an empty log (its creation failed, appends went on) is still a torn write', async (t) => {
  const { dir, log, frames } = await storeWithBatches(t, 3);
  truncateSync(log, statSync(log).size - 3);
  writeFileSync(join(dir, 'log-000002.wal'), MAGIC.log);
  const s = await Store.open(dir);
  t.after(() => s.close());
  assert.equal(s.size(), 2);
  assert.equal(statSync(log).size, frames[2]);
  await s.write([rec('t', 'next', 1)]);
  assert.ok(statSync(join(dir, 'log-000002.wal')).size > 8, 'appends go to the newest log');
});

test('a missing first log is refused', async (t) => {
  const { dir, log } = await storeWithBatches(t, 2);
  unlinkSync(log);
  writeFileSync(join(dir, 'log-000002.wal'), MAGIC.log);
  await refuses(dir, log, /log named by the MANIFEST is missing/);
});

test('snapshot damage of any kind is refused: flipped byte, missing trailer, missing file, wrong magic', async (t) => {
  {
    const { dir, snap } = await storeWithSnapshot(t);
    flip(snap, Math.floor(statSync(snap).size / 2));
    await refuses(dir, snap, /checksum mismatch.* at offset \d+/);
  }
  {
    const { dir, snap } = await storeWithSnapshot(t);
    const size = statSync(snap).size;
    truncateSync(snap, size - 20);
    await refuses(dir, snap, /ends inside a frame at offset \d+/);
  }
  {
    // Cut exactly at a frame boundary: only the trailer proves the snapshot complete.
    const { dir, snap } = await storeWithSnapshot(t);
    const buf = readFileSync(snap);
    let at = 8;
    let last = 8;
    while (at < buf.length) {
      last = at;
      at += 12 + buf.readUInt32LE(at);
    }
    truncateSync(snap, last);
    await refuses(dir, snap, new RegExp(`ends at offset ${last} without its trailer`));
  }
  {
    const { dir, snap } = await storeWithSnapshot(t);
    unlinkSync(snap);
    await refuses(dir, snap, /snapshot named by the MANIFEST is missing/);
  }
  {
    const { dir, snap } = await storeWithSnapshot(t);
    flip(snap, 3);
    await refuses(dir, snap, /bad magic/);
  }
});

test('an intact snapshot plus log recovers exactly', async (t) => {
  const { dir } = await storeWithSnapshot(t);
  let s = await Store.open(dir);
  await s.write([rec('t', 'k7', 'changed')]);
  await s.close();
  s = await Store.open(dir);
  t.after(() => s.close());
  assert.equal(s.size(), 3000);
  assert.equal(s.get('t', 'k7')?.value, 'changed');
  assert.equal(s.get('t', 'k8')?.value, 8);
});

test('manifest damage is refused: flipped byte, truncation, missing with data present', async (t) => {
  for (const damage of ['flip', 'truncate', 'delete'] as const) {
    const { dir } = await storeWithBatches(t, 2);
    const manifest = join(dir, 'MANIFEST');
    if (damage === 'flip') flip(manifest, 25);
    if (damage === 'truncate') truncateSync(manifest, 10);
    if (damage === 'delete') unlinkSync(manifest);
    await refuses(dir, manifest, damage === 'delete' ? /MANIFEST is missing but the directory holds data files \(log-000001.wal\)/ : /checksum|too short|length mismatch/);
  }
});

test('a damaged state document fails readState with StoreCorruptError; the store itself still opens', async (t) => {
  for (const damage of ['flip', 'truncate'] as const) {
    const dir = tempDir(t);
    let s = await Store.open(dir);
    await s.writeState('membership', { members: ['a@127.0.0.1', 'b@127.0.0.1'], epoch: 3 });
    await s.close();
    const file = join(dir, 'membership.state');
    if (damage === 'flip') flip(file, statSync(file).size - 4);
    else truncateSync(file, statSync(file).size - 4);
    s = await Store.open(dir);
    await assert.rejects(s.readState('membership'), (e: unknown) => e instanceof StoreCorruptError && e.file === file && /checksum|length mismatch/.test(e.detail));
    // Writing a fresh document is how the owner repairs it.
    await s.writeState('membership', { epoch: 4 });
    assert.deepEqual(await s.readState('membership'), { epoch: 4 });
    await s.close();
  }
});
