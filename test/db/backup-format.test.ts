// The pieces of a data export, without a node: the tar format against GNU tar both ways, and the
// rows' JSON lines (every value comes back the same, or the export is refused naming the row).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readTar, TarError, writeTar } from '../../src/base/tar.js';
import { decodeRow, encodeRow, RowCodecError } from '../../src/db/backup/row-codec.js';
import { BACKUP_TABLES, exportName, readArchive, BackupError } from '../../src/db/backup/backup.js';
import { ADMINS_TABLE } from '../../src/db/admins.js';
import { API_KEYS_TABLE } from '../../src/api/auth/api-keys.js';
import { BANNED_RANGES_TABLE, BANNED_TABLE } from '../../src/auth/banned/banned.js';
import { AUTHN_USERS_TABLE, SCRAM_USERS_TABLE } from '../../src/auth/authn/users.js';
import { AUTHZ_RULES_TABLE } from '../../src/auth/authz/builtin-rules.js';
import { TOPIC_METRICS_TABLE } from '../../src/router/topic-metrics-store.js';
import { RETAINED_TABLE } from '../../src/router/retained-store.js';
import { skipOrFail } from '../helpers/prerequisite.js';

const hasTar = spawnSync('tar', ['--version']).status === 0;

test('tar: what we write, GNU tar lists and extracts byte for byte (long names too)', (t) => {
  if (!hasTar) return skipOrFail(t, 'tar');
  const dir = mkdtempSync(join(tmpdir(), 'tar-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const long = `top/${'d'.repeat(120)}/${'f'.repeat(90)}.jsonl`;
  const entries = [
    { name: 'top/META.hocon', data: Buffer.from('format = 1\n') },
    { name: 'top/empty', data: Buffer.alloc(0) },
    { name: 'top/block', data: Buffer.alloc(512, 7) },
    { name: long, data: Buffer.from('x'.repeat(1000)) },
  ];
  writeFileSync(join(dir, 'a.tar'), writeTar(entries));
  const list = spawnSync('tar', ['-tf', join(dir, 'a.tar')], { encoding: 'utf8' });
  assert.equal(list.status, 0, list.stderr);
  assert.deepEqual(list.stdout.trim().split('\n'), entries.map((e) => e.name));
  const out = join(dir, 'out');
  mkdirSync(out);
  assert.equal(spawnSync('tar', ['-xf', join(dir, 'a.tar'), '-C', out]).status, 0);
  for (const e of entries) assert.deepEqual(readFileSync(join(out, e.name)), e.data);
});

test('tar: what GNU tar writes (directories, a GNU long name) we read back', (t) => {
  if (!hasTar) return skipOrFail(t, 'tar');
  const dir = mkdtempSync(join(tmpdir(), 'tar-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const deep = join('top', 'x'.repeat(150));
  mkdirSync(join(dir, deep), { recursive: true });
  writeFileSync(join(dir, 'top', 'a.txt'), 'alpha');
  writeFileSync(join(dir, deep, 'b.txt'), 'beta');
  const r = spawnSync('tar', ['--format=gnu', '-cf', join(dir, 'g.tar'), '-C', dir, 'top']);
  assert.equal(r.status, 0, String(r.stderr));
  const got = new Map(readTar(readFileSync(join(dir, 'g.tar'))).map((e) => [e.name, e.data.toString()]));
  assert.deepEqual(got, new Map([['top/a.txt', 'alpha'], [`${deep}/b.txt`, 'beta']]));
});

test('tar: a damaged archive is a TarError, not a wrong read', () => {
  const good = writeTar([{ name: 'a', data: Buffer.from('hello') }]);
  const flipped = Buffer.from(good);
  flipped[10] = flipped[10]! ^ 1;
  assert.throws(() => readTar(flipped), TarError);
  assert.throws(() => readTar(good.subarray(0, 512 + 2)), /cut short/);
  assert.throws(() => readTar(Buffer.alloc(512, 0x41)), /not a tar archive/);
  assert.deepEqual(readTar(Buffer.alloc(1024)), []);
});

test('rows: every stored kind of value comes back the same', () => {
  const values: unknown[] = [
    { payload: Buffer.from([0, 255, 1]), qos: 1, from: 'c', ts: 1, exp: null, props: { userProperties: { a: ['1', '2'] } } },
    { until: Number.POSITIVE_INFINITY, n: -0.5, s: 'é\n"', b: true, list: [1, 'two', { three: Buffer.alloc(0) }] },
    'plain',
    7,
  ];
  for (const v of values) {
    const line = encodeRow('t', 'k', v);
    assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'));
    assert.deepEqual(decodeRow('f', 1, line.trim()), ['k', v]);
  }
  // A property holding undefined is not stored at all: the same after the trip.
  assert.deepEqual(decodeRow('f', 1, encodeRow('t', 'k', { a: 1, b: undefined }).trim()), ['k', { a: 1 }]);
});

test('rows: a value that would not come back the same is refused, naming its table and key', () => {
  for (const v of [new Map([['a', 1]]), { when: new Date(0) }, { $base64: 'not really' }, { n: 10n }]) {
    assert.throws(
      () => encodeRow('authz_rules', 'user:x', v),
      (e: unknown) => (e instanceof RowCodecError && /authz_rules, key "user:x"/.test(e.message)) || e instanceof TypeError,
    );
  }
  assert.throws(() => decodeRow('tables/a.jsonl', 3, '{"key": 1, "value": 2}'), /tables\/a\.jsonl:3: not a row/);
  assert.throws(() => decodeRow('tables/a.jsonl', 4, '{"key": "k", "value": null}'), /:4: not a row/);
  assert.throws(() => decodeRow('tables/a.jsonl', 5, '{"key": "k",'), /:5: not JSON/);
  assert.equal(decodeRow('f', 6, '   '), undefined);
});

test('the exported tables are the stores’ own table names', () => {
  assert.deepEqual([...BACKUP_TABLES], [ADMINS_TABLE, API_KEYS_TABLE, BANNED_TABLE, BANNED_RANGES_TABLE, AUTHN_USERS_TABLE, SCRAM_USERS_TABLE, AUTHZ_RULES_TABLE, TOPIC_METRICS_TABLE, RETAINED_TABLE]);
  assert.equal(exportName(new Date(Date.UTC(2026, 11, 7, 8, 5, 3, 42))), 'emqx-export-2026-12-07-08-05-03.042');
});

test('an archive is checked whole: wrong format, unknown table, bad row, not an archive', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'backup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const archive = (files: Record<string, string>): string => {
    const f = join(dir, `a${Math.random()}.tar.gz`);
    writeFileSync(f, gzipSync(writeTar(Object.entries(files).map(([name, text]) => ({ name, data: Buffer.from(text) })))));
    return f;
  };
  const meta = 'format = 1\nversion = "0.1.0"\n';
  const ok = await readArchive(archive({ 'x/META.hocon': meta, 'x/tables/admins.jsonl': '{"key":"a","value":{"username":"a"}}\n', 'x/emqx.conf': 'ignored' }));
  assert.deepEqual(ok.tables.map((t) => [t.table, t.rows.length]), [['admins', 1]]);
  const cases: Array<[Record<string, string> | Buffer, RegExp]> = [
    [{ 'x/META.hocon': 'format = 2\n' }, /has format 2; this node reads format 1/],
    [{ 'x/META.hocon': meta, 'x/tables/routes.jsonl': '' }, /unknown table routes/],
    [{ 'x/META.hocon': meta, 'x/tables/admins.jsonl': '{"key":"a","value":1}\nnope\n' }, /x\/tables\/admins\.jsonl:2: not JSON/],
    [{ 'x/tables/admins.jsonl': '' }, /needs one top directory holding META\.hocon/],
    [{ 'x/META.hocon': meta, 'y/other': '' }, /needs one top directory/],
    [{ 'x/META.hocon': 'format = ' }, /META\.hocon/],
    [Buffer.from('not gzip at all'), /not a gzip-compressed tar archive/],
    [gzipSync(Buffer.alloc(512, 0x41)), /not a data export: .*not a tar archive/],
  ];
  for (const [content, want] of cases) {
    const f = Buffer.isBuffer(content) ? join(dir, `raw${Math.random()}`) : archive(content);
    if (Buffer.isBuffer(content)) writeFileSync(f, content);
    await assert.rejects(readArchive(f), (e: unknown) => e instanceof BackupError && want.test(e.message), String(want));
  }
  await assert.rejects(readArchive(join(dir, 'missing.tar.gz')), /cannot read .*ENOENT/);
  // A device would be read forever: refused before a byte is read.
  await assert.rejects(readArchive('/dev/zero'), /\/dev\/zero is not a regular file/);
  await assert.rejects(readArchive(dir), /is not a regular file/);
});
