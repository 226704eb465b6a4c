// The acl.conf watcher: a change is handed on with the text it read, only once the file has been
// quiet (a file caught between its truncation and its write would compile to no rules at all).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchAclFiles } from '../../src/auth/authz/acl-watch.js';

async function setup(t: { after(fn: () => unknown): void }, debounceMs = 100) {
  const dir = await mkdtemp(join(tmpdir(), 'aclwatch-'));
  const file = join(dir, 'acl.conf');
  await writeFile(file, '{allow, all}.\n');
  const old = new Date(Math.floor(Date.now() / 1000) * 1000 - 5000);
  await utimes(file, old, old);
  const seen: Array<{ file: string; text: string | undefined; at: number }> = [];
  const waiters: Array<() => void> = [];
  const w = watchAclFiles([file], (f, texts) => {
    seen.push({ file: f, text: texts.get(f), at: Date.now() });
    waiters.splice(0).forEach((x) => x());
  }, debounceMs);
  t.after(async () => {
    await w.close();
    await rm(dir, { recursive: true, force: true });
  });
  await w.ready;
  const next = (): Promise<void> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no change seen within 5 s (seen ${seen.length})`)), 5000);
    waiters.push(() => {
      clearTimeout(timer);
      resolve();
    });
  });
  return { file, seen, next, old };
}

test('an acl.conf change is handed on with the text read', async (t) => {
  const w = await setup(t);
  const seen = w.next();
  await writeFile(w.file, '{deny, all}.\n');
  await seen;
  assert.deepEqual(w.seen.map((s) => [s.file, s.text]), [[w.file, '{deny, all}.\n']]);
});

test('a file whose time says it changed less than the quiet time ago is not read yet', async (t) => {
  // Quiet time 300 ms, so what the file's time asks for stands out from the event's own delays.
  const w = await setup(t, 300);
  const seen = w.next();
  const wrote = Date.now();
  // As if it had been truncated again 250 ms later, that event not here yet (the node busy);
  // renamed into place with that time already set, so no look comes between the write and the time.
  await writeFile(`${w.file}.tmp`, '{deny, all, subscribe, ["#"]}.\n');
  await utimes(`${w.file}.tmp`, new Date(), new Date(wrote + 250));
  await rename(`${w.file}.tmp`, w.file);
  await seen;
  const after = w.seen[0]!.at - wrote;
  assert.ok(after >= 540, `read ${after} ms after the write: the file changed at +250 ms, so not before +550 ms`);
  assert.equal(w.seen[0]!.text, '{deny, all, subscribe, ["#"]}.\n');
});

test('an emptied file is taken only once it stays empty for the quiet time (not in the middle of a truncation)', async (t) => {
  const w = await setup(t);
  const seen = w.next();
  const emptied = Date.now();
  // What a reader meets while the kernel truncates: no content, the time of the write before.
  await writeFile(`${w.file}.tmp`, '');
  await utimes(`${w.file}.tmp`, w.old, w.old);
  await rename(`${w.file}.tmp`, w.file);
  await seen;
  const after = w.seen[0]!.at - emptied;
  assert.equal(w.seen[0]!.text, '');
  assert.ok(after >= 195, `an empty file handed on ${after} ms after: the watcher looks at +100 ms, then once more 100 ms later`);
});
