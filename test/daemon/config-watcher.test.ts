import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { configFileSet, hashFiles, watchConfigDir, type ConfigWatcher } from '../../src/daemon/config-watcher.js';

const logger = pino({ level: 'silent' });

/** A watched dir plus promises for "next change" / "next check", each bounded. */
async function setup(t: { after(fn: () => unknown): void }, prepare: (dir: string) => Promise<string[]>) {
  const dir = await mkdtemp(join(tmpdir(), 'confwatch-'));
  const files = await prepare(dir).catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
  let changes = 0;
  const checks: boolean[] = [];
  const waiters: Array<() => void> = [];
  const watcher: ConfigWatcher = await watchConfigDir(dir, () => files, () => void changes++, logger, {
    debounceMs: 100,
    onCheck: (changed) => {
      checks.push(changed);
      waiters.splice(0).forEach((w) => w());
    },
  });
  // Close before removing the directory: a watcher that sees its directory vanish re-arms itself.
  t.after(async () => {
    await watcher.close();
    await rm(dir, { recursive: true, force: true });
  });
  const nextCheck = (timeoutMs = 5000): Promise<boolean> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no config check within ${timeoutMs} ms`)), timeoutMs);
    waiters.push(() => {
      clearTimeout(timer);
      resolve(checks.at(-1)!);
    });
  });
  return { dir, files, watcher, nextCheck, changes: () => changes, checks };
}

const plain = async (dir: string): Promise<string[]> => {
  await writeFile(join(dir, 'emqx.conf'), 'node.name = "emqx@127.0.0.1"\n');
  await writeFile(join(dir, 'ssl_dist.conf'), '[].\n');
  return [join(dir, 'emqx.conf'), join(dir, 'ssl_dist.conf')];
};

test('in-place write', async (t) => {
  const w = await setup(t, plain);
  const seen = w.nextCheck();
  await writeFile(join(w.dir, 'emqx.conf'), 'node.name = "emqx@127.0.0.2"\n');
  assert.equal(await seen, true);
  assert.equal(w.changes(), 1);
});

test('editor atomic save: write a temp file, rename it over', async (t) => {
  const w = await setup(t, plain);
  const seen = w.nextCheck();
  await writeFile(join(w.dir, '.emqx.conf.swp'), 'cluster.name = other\n');
  await rename(join(w.dir, '.emqx.conf.swp'), join(w.dir, 'emqx.conf'));
  assert.equal(await seen, true);
  assert.equal(w.changes(), 1);
});

test('delete and recreate', async (t) => {
  const w = await setup(t, plain);
  const seen = w.nextCheck();
  await unlink(join(w.dir, 'ssl_dist.conf'));
  await writeFile(join(w.dir, 'ssl_dist.conf'), '[{server, []}].\n');
  assert.equal(await seen, true);
  assert.equal(w.changes(), 1);
});

test('Kubernetes ConfigMap: ..data symlink swap', async (t) => {
  const w = await setup(t, async (dir) => {
    await mkdir(join(dir, '..2026_01_01_00_00_00.1'));
    await writeFile(join(dir, '..2026_01_01_00_00_00.1', 'emqx.conf'), 'cluster.name = one\n');
    await symlink('..2026_01_01_00_00_00.1', join(dir, '..data'));
    await symlink('..data/emqx.conf', join(dir, 'emqx.conf'));
    return [join(dir, 'emqx.conf')];
  });
  const seen = w.nextCheck();
  // What the kubelet does: new timestamped dir, new ..data_tmp link, rename over ..data, drop the old dir.
  await mkdir(join(w.dir, '..2026_01_01_00_05_00.2'));
  await writeFile(join(w.dir, '..2026_01_01_00_05_00.2', 'emqx.conf'), 'cluster.name = two\n');
  await symlink('..2026_01_01_00_05_00.2', join(w.dir, '..data_tmp'));
  await rename(join(w.dir, '..data_tmp'), join(w.dir, '..data'));
  await rm(join(w.dir, '..2026_01_01_00_00_00.1'), { recursive: true });
  assert.equal(await seen, true);
  assert.equal(w.changes(), 1);
});

test('a burst of writes is one reload, after the last one', async (t) => {
  const w = await setup(t, plain);
  const seen = w.nextCheck();
  for (let i = 0; i < 5; i++) await writeFile(join(w.dir, 'emqx.conf'), `node.name = "emqx@127.0.0.${i + 2}"\n`);
  assert.equal(await seen, true);
  assert.equal(w.changes(), 1);
  assert.deepEqual(w.checks, [true]);
});

test('files are read once their timestamps too are older than the quiet time: an in-place write is not read half done', async (t) => {
  const w = await setup(t, plain);
  const conf = join(w.dir, 'emqx.conf');
  const seen = w.nextCheck();
  const wrote = Date.now();
  // As if the file had been truncated again 80 ms later and that event had not reached the
  // watcher yet (its process busy): the file's time is what says so. Renamed into place with that
  // time already set, so no look can come between the write and the time.
  await writeFile(`${conf}.tmp`, 'node.name = "emqx@127.0.0.9"\n');
  await utimes(`${conf}.tmp`, new Date(), new Date(wrote + 80));
  await rename(`${conf}.tmp`, conf);
  assert.equal(await seen, true);
  const readAfter = Date.now() - wrote;
  assert.ok(readAfter >= 175, `read ${readAfter} ms after the write: the file changed at +80 ms, so not before +180 ms`);
  assert.equal(w.changes(), 1);
});

test('a reload that found the files written to while it read them is looked at again, the same content included', async (t) => {
  const w = await setup(t, plain);
  await w.watcher.close();
  const conf = join(w.dir, 'emqx.conf');
  const seen: Array<{ text: string; unchanged: boolean }> = [];
  let settled!: () => void;
  const twice = new Promise<void>((r) => (settled = r));
  const again = await watchConfigDir(w.dir, () => w.files, async (unchanged) => {
    // What a reload does: read, then ask whether the files stayed as the watcher read them. The
    // first time, the file is rewritten (same content, as a tool rewriting it would) in between.
    const text = await readFile(conf, 'utf8');
    if (seen.length === 0) await writeFile(conf, text);
    const still = await unchanged();
    seen.push({ text, unchanged: still });
    if (seen.length === 2) settled();
    return still;
  }, logger, { debounceMs: 100 });
  t.after(() => again.close());
  await writeFile(conf, 'node.name = "emqx@127.0.0.7"\n');
  await Promise.race([twice, new Promise((_, reject) => setTimeout(() => reject(new Error(`looked at ${seen.length} times, not twice, in 5 s`)), 5000))]);
  assert.deepEqual(seen, [
    { text: 'node.name = "emqx@127.0.0.7"\n', unchanged: false },
    { text: 'node.name = "emqx@127.0.0.7"\n', unchanged: true },
  ]);
});

test('same content rewritten, a touch, or an unrelated file: looked at, no reload', async (t) => {
  const w = await setup(t, plain);
  let seen = w.nextCheck();
  await writeFile(join(w.dir, 'emqx.conf'), 'node.name = "emqx@127.0.0.1"\n');
  assert.equal(await seen, false);
  seen = w.nextCheck();
  await utimes(join(w.dir, 'emqx.conf'), new Date(), new Date(Date.now() + 5000));
  assert.equal(await seen, false);
  seen = w.nextCheck();
  await writeFile(join(w.dir, 'notes.txt'), 'hello\n');
  assert.equal(await seen, false);
  assert.equal(w.changes(), 0);
});

test('a file named by the config outside the directory (a certificate) is watched too', async (t) => {
  const certs = await mkdtemp(join(tmpdir(), 'confwatch-certs-'));
  const cert = join(certs, 'node.pem');
  await writeFile(cert, 'CERT 1\n');
  const w = await setup(t, async (dir) => [...(await plain(dir)), cert]);
  t.after(() => rm(certs, { recursive: true, force: true }));
  const seen = w.nextCheck();
  await writeFile(cert, 'CERT 2\n');
  assert.equal(await seen, true);
  assert.equal(w.changes(), 1);
});

test('check() on demand (SIGHUP, conf reload) and sync() after an outside reload', async (t) => {
  const w = await setup(t, plain);
  assert.equal(await w.watcher.check(), false);
  // Change behind the watcher's back, then adopt it as the baseline: no reload.
  await w.watcher.close();
  await writeFile(join(w.dir, 'emqx.conf'), 'x = 1\n');
  const files = w.files;
  const again = await watchConfigDir(w.dir, () => files, () => assert.fail('no reload expected'), logger, { debounceMs: 100 });
  try {
    await writeFile(join(w.dir, 'emqx.conf'), 'x = 2\n');
    await again.sync();
    assert.equal(await again.check(), false);
  } finally {
    await again.close();
  }
});

test('hashFiles: content, not timestamps; a missing file is part of the state', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'confhash-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const f = join(dir, 'a.conf');
  const missing = await hashFiles([f]);
  await writeFile(f, 'a');
  const a = await hashFiles([f]);
  assert.notEqual(a, missing);
  await writeFile(f, 'a');
  assert.equal(await hashFiles([f, f]), a);
});

test('configFileSet: includes (recursive, relative, extensionless), ssl_dist.conf and the files it names', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'confset-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'conf.d'));
  await writeFile(join(dir, 'emqx.conf'), 'include "conf.d/cluster.conf"\ninclude required(file("extra"))\nnode.name = "a@127.0.0.1"\n');
  await writeFile(join(dir, 'conf.d', 'cluster.conf'), 'include "peers.conf"\ncluster.name = x\n');
  await writeFile(join(dir, 'conf.d', 'peers.conf'), 'include "cluster.conf"\n'); // a cycle is harmless
  await writeFile(join(dir, 'ssl_dist.conf'), '[{server, [{certfile, "certs/node.pem"}, {keyfile, "/abs/node.key"}]},\n {client, [{cacertfile, "certs/ca.pem"}]}].\n');
  const set = configFileSet(join(dir, 'emqx.conf'), join(dir, 'ssl_dist.conf'), ['/etc/etcd-ca.pem']).sort();
  assert.deepEqual(set, [
    '/abs/node.key',
    '/etc/etcd-ca.pem',
    join(dir, 'certs', 'ca.pem'),
    join(dir, 'certs', 'node.pem'),
    join(dir, 'conf.d', 'cluster.conf'),
    join(dir, 'conf.d', 'peers.conf'),
    join(dir, 'emqx.conf'),
    join(dir, 'extra.conf'),
    join(dir, 'extra.json'),
    join(dir, 'extra.properties'),
    join(dir, 'ssl_dist.conf'),
  ].sort());
});

test('a change in an included file in a subdirectory triggers a reload; a newly added include is followed', async (t) => {
  const w = await setup(t, async (dir) => {
    await mkdir(join(dir, 'conf.d'));
    await writeFile(join(dir, 'emqx.conf'), 'include "conf.d/a.conf"\n');
    await writeFile(join(dir, 'conf.d', 'a.conf'), 'x = 1\n');
    return [];
  });
  // setup() hands a fixed list; this test wants the live set, so it runs its own watcher.
  await w.watcher.close();
  let changes = 0;
  let notify: (() => void) | undefined;
  const changed = (): Promise<void> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reload within 5 s (after ${changes} reloads)`)), 5000);
    notify = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  const live = await watchConfigDir(w.dir, () => configFileSet(join(w.dir, 'emqx.conf')), () => { changes++; notify?.(); }, logger, { debounceMs: 100 });
  try {
    let seen = changed();
    await writeFile(join(w.dir, 'conf.d', 'a.conf'), 'x = 2\n');
    await seen;
    seen = changed();
    await mkdir(join(w.dir, 'more'));
    await writeFile(join(w.dir, 'more', 'b.conf'), 'y = 1\n');
    await writeFile(join(w.dir, 'emqx.conf'), 'include "conf.d/a.conf"\ninclude "more/b.conf"\n');
    await seen;
    seen = changed();
    await writeFile(join(w.dir, 'more', 'b.conf'), 'y = 2\n');
    await seen;
    assert.equal(changes, 3);
  } finally {
    await live.close();
  }
});
