// `emqx ctl data export | import` on a real two-node cluster: an export holds the users, bans and
// retained messages (GNU tar reads it); after they are removed, an import on the other node brings
// them back on both (a user logs in, a ban refuses its client, a subscriber gets the retained
// payload byte for byte); a bad archive is refused whole, with nothing written. Then the same
// through the API, across members.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { connectAsync } from 'mqtt';
import { readTar, writeTar } from '../../src/base/tar.js';
import { startCluster } from '../helpers/launcher.js';
import { http, login } from '../api/http.js';

test('data export and import across a two-node cluster', { timeout: 120_000 }, async (t) => {
  const [n1, n2] = await startCluster(t, ['emqx1@127.0.0.1', 'emqx2@127.0.0.2'], { mqtt: true });

  const payload = Buffer.from([0, 1, 2, 250, 255]);
  assert.equal((await n1!.ctl(['admins', 'add', 'ops', 'g00d-passw0rd', 'on call'])).code, 0);
  assert.equal((await n1!.ctl(['banned', 'add', 'clientid', 'bad-client', 'infinity'])).code, 0);
  const pub = await connectAsync(`mqtt://127.0.0.1:${n1!.mqttPort}`, { clientId: 'keeper', reconnectPeriod: 0 });
  await pub.publishAsync('keep/t', payload, { qos: 1, retain: true });
  await pub.endAsync();

  // Export on emqx1, into <data_dir>/backup.
  const ex = await n1!.ctl(['data', 'export']);
  assert.equal(ex.code, 0, ex.stdout + ex.stderr);
  const lines = ex.stdout.trim().split('\n');
  assert.match(lines[0]!, /^Exporting data to ".*\/backup\/emqx-export-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.\d{3}\.tar\.gz"\.\.\.$/);
  assert.ok(lines.includes('Exporting built-in database...') && lines.includes('Exporting admins database table...'));
  const file = /^Data has been successfully exported to (.*)\.$/.exec(lines.at(-1)!)![1]!;
  assert.equal(join(n1!.dataDir, 'backup', basename(file)), file);
  const listed = spawnSync('tar', ['-tzf', file], { encoding: 'utf8' });
  assert.equal(listed.status, 0, listed.stderr);
  const name = basename(file, '.tar.gz');
  for (const f of ['META.hocon', 'emqx.conf', 'tables/admins.jsonl', 'tables/banned.jsonl', 'tables/retained.jsonl']) assert.ok(listed.stdout.includes(`${name}/${f}\n`), f);
  const entries = new Map(readTar(gunzipSync(readFileSync(file))).map((e) => [e.name.slice(name.length + 1), e.data.toString()]));
  assert.match(entries.get('tables/retained.jsonl')!, /"key":"keep\/t"/);
  assert.doesNotMatch(entries.get('tables/retained.jsonl')!, /\$SYS/, "the node's $SYS facts stay out");
  assert.match(entries.get('tables/admins.jsonl')!, /"key":"ops"/);

  // Gone from the cluster...
  assert.equal((await n1!.ctl(['admins', 'del', 'ops'])).code, 0);
  assert.equal((await n1!.ctl(['banned', 'del', 'clientid', 'bad-client'])).code, 0);
  assert.equal((await n1!.ctl(['retainer', 'clean', 'keep/#'])).code, 0);
  assert.equal((await n2!.ctl(['admins', 'list'])).stdout.includes('ops'), false);

  // ...and back, imported on the other node, seen on both.
  const im = await n2!.ctl(['data', 'import', file]);
  assert.equal(im.code, 0, im.stdout + im.stderr);
  assert.equal(im.stdout.split('\n')[0], `Importing data from "${file}"...`);
  assert.match(im.stdout, /Importing retained database table\.\.\.\nData has been imported successfully\.\n$/);
  assert.match((await n1!.ctl(['admins', 'list'])).stdout, /Username: ops, Description: on call/);
  const banned = await connectAsync(`mqtt://127.0.0.1:${n1!.mqttPort}`, { clientId: 'bad-client', reconnectPeriod: 0, connectTimeout: 5000 }).then(
    (c) => (c.end(true), 'connected'),
    (e: Error) => e.message,
  );
  assert.match(banned, /Not authorized|Connection refused/i);
  const sub = await connectAsync(`mqtt://127.0.0.1:${n1!.mqttPort}`, { clientId: 'reader', reconnectPeriod: 0 });
  t.after(() => sub.end(true));
  const got = new Promise<Buffer>((resolve) => sub.on('message', (topic, p) => topic === 'keep/t' && resolve(p)));
  await sub.subscribeAsync('keep/#', { qos: 1 });
  assert.deepEqual(await got, payload);

  // A name alone is a file in <data_dir>/backup of the node asked; a relative path is refused.
  assert.equal((await n1!.ctl(['data', 'import', basename(file)])).code, 0);
  const rel = await n1!.ctl(['data', 'import', `backup/${basename(file)}`]);
  assert.equal(rel.code, 1);
  assert.match(rel.stdout, /give an absolute path, or the name of a file in .*backup/);

  // A bad archive changes nothing: garbage, and one good table beside an unknown one.
  const garbage = join(n1!.dataDir, 'backup', 'garbage.tar.gz');
  writeFileSync(garbage, 'not an archive');
  const g = await n1!.ctl(['data', 'import', garbage]);
  assert.equal(g.code, 1);
  assert.match(g.stdout, /Data import failed: garbage\.tar\.gz is not a gzip-compressed tar archive/);
  const mixed = join(n1!.dataDir, 'backup', 'mixed.tar.gz');
  const admin = entries.get('tables/admins.jsonl')!.replace(/"ops"/g, '"intruder"');
  writeFileSync(mixed, gzipSync(writeTar([{ name: 'm/META.hocon', data: Buffer.from('format = 1\n') }, { name: 'm/tables/admins.jsonl', data: Buffer.from(admin) }, { name: 'm/tables/sessions.jsonl', data: Buffer.from('') }])));
  const m = await n1!.ctl(['data', 'import', mixed]);
  assert.equal(m.code, 1);
  assert.match(m.stdout, /Data import failed: m\/tables\/sessions\.jsonl: unknown table sessions/);
  assert.doesNotMatch((await n1!.ctl(['admins', 'list'])).stdout, /intruder/);

  // Usage, and an export elsewhere (absolute only: the node writes it).
  assert.match((await n1!.ctl(['data'])).stdout, /data import <File>/);
  assert.match((await n1!.ctl(['data', 'export', '--dir', 'relative'])).stdout, /--dir must be an absolute path/);
  // A directory that cannot be made: the reason, and no file.
  const nowhere = await n1!.ctl(['data', 'export', '--dir', '/proc/no-such-dir']);
  assert.equal(nowhere.code, 1);
  assert.match(nowhere.stdout, /Data export failed: cannot write \/proc\/no-such-dir\/emqx-export-.*: ENOENT/);
  const other = await n1!.ctl(['data', 'export', '--dir', join(n1!.dataDir, 'elsewhere')]);
  assert.equal(other.code, 0, other.stdout);
  assert.match(other.stdout, /exported to .*\/elsewhere\/emqx-export-/);
});

test('data export and import through the API (files of any member, from any member)', { timeout: 120_000 }, async (t) => {
  const [n1, n2] = await startCluster(t, ['emqx1@127.0.0.1', 'emqx2@127.0.0.2'], { dashboard: true });
  const p1 = n1!.dashboardPort!;
  const p2 = n2!.dashboardPort!;
  const token = await login(p1);
  assert.equal((await n1!.ctl(['admins', 'add', 'ops', 'g00d-passw0rd', 'on call'])).code, 0);

  // Exported by the node asked; listed by every member, with its node.
  const ex = await http(p1, 'POST', '/api/v5/data/export', { token });
  assert.equal(ex.status, 200, ex.text);
  const info = ex.json as { node: string; filename: string; size: number; created_at: string; created_at_sec: number };
  assert.equal(info.node, 'emqx1@127.0.0.1');
  assert.match(info.filename, /^emqx-export-.*\.tar\.gz$/);
  const onDisk = readFileSync(join(n1!.dataDir, 'backup', info.filename));
  assert.equal(info.size, onDisk.length);
  const files = (await http(p2, 'GET', '/api/v5/data/files', { token })).json as { data: Array<{ node: string; filename: string }>; meta: { count: number } };
  assert.deepEqual(files.data.map((f) => [f.node, f.filename]), [['emqx1@127.0.0.1', info.filename]]);
  assert.equal(files.meta.count, 1);
  // Downloaded through the other member, byte for byte.
  const dl = await fetch(`http://127.0.0.1:${p2}/api/v5/data/files/${info.filename}?node=emqx1@127.0.0.1`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(15_000) });
  assert.equal(dl.status, 200);
  assert.deepEqual(Buffer.from(await dl.arrayBuffer()), onDisk);

  // Imported through the other member from emqx1's file: the removed user is back.
  assert.equal((await n1!.ctl(['admins', 'del', 'ops'])).code, 0);
  const im = await http(p2, 'POST', '/api/v5/data/import', { token, body: { filename: info.filename, node: 'emqx1@127.0.0.1' } });
  assert.equal(im.status, 204, im.text);
  assert.equal((await http(p2, 'POST', '/api/v5/login', { body: { username: 'ops', password: 'g00d-passw0rd' } })).status, 200);

  // Wrong requests: a file emqx2 does not hold, a node that is not a member, a name with a path.
  const missing = await http(p2, 'POST', '/api/v5/data/import', { token, body: { filename: info.filename } });
  assert.deepEqual([missing.status, missing.json], [404, { code: 'NOT_FOUND', message: 'Backup file not found' }]);
  const stranger = await http(p1, 'POST', '/api/v5/data/import', { token, body: { filename: info.filename, node: 'nobody@127.0.0.9' } });
  assert.deepEqual([stranger.status, stranger.json], [400, { code: 'BAD_REQUEST', message: 'Unknown node: nobody@127.0.0.9' }]);
  assert.equal((await http(p1, 'GET', `/api/v5/data/files/${encodeURIComponent('../emqx.conf.tar.gz')}`, { token })).status, 404);
  // Deleted on its node through the other one; gone after.
  assert.equal((await http(p2, 'DELETE', `/api/v5/data/files/${info.filename}?node=emqx1@127.0.0.1`, { token })).status, 204);
  assert.equal((await http(p1, 'GET', `/api/v5/data/files/${info.filename}`, { token })).status, 404);
  assert.equal(((await http(p1, 'GET', '/api/v5/data/files', { token })).json as { data: unknown[] }).data.length, 0);
});
