// I/O errors the disk cannot be made to produce here (EIO from fsync, a failing truncate) are
// injected at the file-handle level; disk full is also tested for real on a tmpfs in
// test/integration/store-crash.test.ts.
import assert from 'node:assert/strict';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Store, StoreFailedError } from '../../../src/db/store/index.js';
import { rec, tempDir } from './fixtures.js';

type Proto = Record<'datasync' | 'write' | 'truncate' | 'sync', (...args: unknown[]) => Promise<unknown>>;

/** The FileHandle prototype, to make one method fail for the duration of a test. */
async function fileHandleProto(dir: string): Promise<Proto> {
  const fh: FileHandle = await open(join(dir, 'MANIFEST'), 'r');
  await fh.close();
  return Object.getPrototypeOf(fh) as Proto;
}

function inject(t: TestContext, proto: Proto, method: keyof Proto, impl: (orig: Proto[typeof method], self: unknown, args: unknown[]) => Promise<unknown>): { active: boolean } {
  const orig = proto[method];
  const ctl = { active: true };
  proto[method] = function (this: unknown, ...args: unknown[]) {
    return ctl.active ? impl(orig, this, args) : orig.apply(this, args);
  };
  t.after(() => {
    proto[method] = orig;
  });
  return ctl;
}

const ioError = (code: string, syscall: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: injected, ${syscall}`), { code, syscall });

test('a failed fsync stops the store: the batch and every later write fail with store_failed, reads go on', async (t) => {
  const dir = tempDir(t);
  const s = await Store.open(dir);
  await s.write([rec('t', 'before', 1)]);
  const fault = inject(t, await fileHandleProto(dir), 'datasync', () => Promise.reject(ioError('EIO', 'fdatasync')));
  const queued = [s.write([rec('t', 'failed', 1)]), s.write([rec('t', 'queued', 1)])];
  for (const p of queued) await assert.rejects(p, (e: unknown) => e instanceof StoreFailedError && e.code === 'store_failed' && /fsync of .*log-000001\.wal failed .*restart the node/.test(e.message));
  fault.active = false;
  await assert.rejects(s.write([rec('t', 'later', 1)]), StoreFailedError);
  assert.throws(() => s.beginReplace(), StoreFailedError);
  assert.equal(s.get('t', 'before')?.value, 1);
  assert.equal(s.get('t', 'failed'), undefined, 'an unacknowledged batch is not served');
  await s.close();
  const again = await Store.open(dir);
  t.after(() => again.close());
  assert.equal(again.get('t', 'before')?.value, 1, 'a restart recovers the durable state');
  await again.write([rec('t', 'later', 1)]);
});

test('a failed append is cut back: that group fails, the store goes on and the log stays clean', async (t) => {
  const dir = tempDir(t);
  const s = await Store.open(dir);
  await s.write([rec('t', 'a', 1)]);
  // Half of the batch reaches the file, then the disk is full.
  const fault = inject(t, await fileHandleProto(dir), 'write', async (orig, self, args) => {
    const [buf, off, len, pos] = args as [Buffer, number, number, number];
    if (len < 20) return orig.apply(self, args);
    await orig.call(self, buf, off, Math.floor(len / 2), pos);
    throw ioError('ENOSPC', 'write');
  });
  await assert.rejects(s.write([rec('t', 'big', 'x'.repeat(100))]), (e: NodeJS.ErrnoException) => e.code === 'ENOSPC');
  fault.active = false;
  await s.write([rec('t', 'b', 2)]);
  await s.close();
  const again = await Store.open(dir);
  t.after(() => again.close());
  assert.deepEqual([...again.entries()].map((r) => r.key).sort(), ['a', 'b']);
});

test('when a failed append cannot be cut back either, the store stops', async (t) => {
  const dir = tempDir(t);
  const s = await Store.open(dir);
  t.after(() => s.close());
  const proto = await fileHandleProto(dir);
  inject(t, proto, 'write', () => Promise.reject(ioError('EIO', 'write')));
  inject(t, proto, 'truncate', () => Promise.reject(ioError('EIO', 'ftruncate')));
  await assert.rejects(s.write([rec('t', 'x', 1)]), (e: unknown) => e instanceof StoreFailedError && /could not be removed/.test(e.message));
  await assert.rejects(s.write([rec('t', 'y', 1)]), StoreFailedError);
});

test('a replace whose staging failed cannot be committed; abort leaves the store as it was', async (t) => {
  const dir = tempDir(t);
  const s = await Store.open(dir);
  t.after(() => s.close());
  await s.write([rec('t', 'keep', 1)]);
  const r = s.beginReplace();
  await r.add([rec('t', 'staged', 1)]);
  const fault = inject(t, await fileHandleProto(dir), 'write', () => Promise.reject(ioError('ENOSPC', 'write')));
  const first: unknown = await r.add(Array.from({ length: 3000 }, (_, i) => rec('t', `n${i}`, 'x'.repeat(500)))).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (first !== undefined) assert.equal((first as NodeJS.ErrnoException).code, 'ENOSPC');
  fault.active = false;
  // Staging writes overlap the next add: a failed one is reported by the first call after it failed
  // (here the fault fails the write at once, so by the next add at the latest).
  await assert.rejects(r.add([rec('t', 'more', 1)]), (e: NodeJS.ErrnoException) => e.code === 'ENOSPC');
  await assert.rejects(r.commit(), /staging failed earlier .*abort this replace/);
  await r.abort();
  assert.deepEqual([...s.entries()].map((x) => x.key), ['keep']);
  await s.write([rec('t', 'after', 1)]);
  assert.equal(s.size(), 2);
});

/** Fails the `nth` directory fsync from now on (1 = the next one). */
async function failDirSync(t: TestContext, dir: string, nth: number): Promise<void> {
  let seen = 0;
  inject(t, await fileHandleProto(dir), 'sync', async (orig, self, args) => {
    if ((await (self as FileHandle).stat()).isDirectory() && ++seen === nth) throw ioError('EIO', 'fsync');
    return orig.apply(self, args);
  });
}

test('a MANIFEST renamed into place whose directory sync fails: the store stops and keeps what the new MANIFEST names', async (t) => {
  for (const op of ['replace', 'clear'] as const) {
    const dir = tempDir(t);
    const s = await Store.open(dir);
    await s.write([rec('t', 'old', 1)]);
    const r = op === 'replace' ? s.beginReplace() : undefined;
    await r?.add([rec('t', 'new', 1)]);
    // With the snapshot already in place, the directory syncs left are the new log's, then the MANIFEST's.
    await failDirSync(t, dir, op === 'replace' ? 3 : 2);
    await assert.rejects(op === 'replace' ? r!.commit() : s.clear(), (e: unknown) => e instanceof StoreFailedError && /MANIFEST was replaced/.test(e.message), op);
    await assert.rejects(s.write([rec('t', 'x', 1)]), StoreFailedError);
    await s.close();
    // The renamed MANIFEST is what a restart finds here: it must open, not refer to a deleted file.
    const again = await Store.open(dir);
    assert.deepEqual([...again.entries()].map((x) => x.key), op === 'replace' ? ['new'] : [], op);
    await again.close();
  }
});
