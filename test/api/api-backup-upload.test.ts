// Uploading a backup through EMQX's POST /data/files, to the node answering or to another member:
// a form with a login token (as `curl -F filename=@x.tar.gz`), a raw body with ?filename= (the
// way for API keys: a form, which another site's page can post, is refused with one), the file
// stored only once it reads as an export and never over an existing one, then imported there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type TestNode } from '../helpers/launcher.js';
import { http, login } from './http.js';

const NAMES = ['bup1@127.0.0.1', 'bup2@127.0.0.1'];

interface FileRow {
  node: string;
  filename: string;
  size: number;
}

test('POST /data/files: a form or a raw body, checked, stored on the node named, imported there', { timeout: 120_000 }, async (t) => {
  const [n1] = (await startCluster(t, NAMES, { dashboard: true, mqtt: true })) as [TestNode, TestNode];
  const port = n1.dashboardPort!;
  const token = await login(port);
  const files = async (): Promise<FileRow[]> => ((await http(port, 'GET', '/api/v5/data/files', { token })).json as { data: FileRow[] }).data;

  // An export on node 1, downloaded.
  const exported = await http(port, 'POST', '/api/v5/data/export', { token });
  assert.equal(exported.status, 200, exported.text);
  const name = (exported.json as { filename: string }).filename;
  const res = await fetch(`http://127.0.0.1:${port}/api/v5/data/files/${name}?node=${NAMES[0]}`, { headers: { authorization: `Bearer ${token}` } });
  const bytes = Buffer.from(await res.arrayBuffer());
  assert.equal(res.status, 200);

  // A raw body to node 2; the same name again is refused, the first file stays.
  const raw = async (q: string, body: Buffer): Promise<{ status: number; json: unknown }> => {
    const r = await http(port, 'POST', `/api/v5/data/files?${q}`, { token, raw: body, headers: { 'content-type': 'application/octet-stream' } });
    return { status: r.status, json: r.json };
  };
  assert.equal((await raw(`node=${NAMES[1]}&filename=copy.tar.gz`, bytes)).status, 204);
  assert.deepEqual(await raw(`node=${NAMES[1]}&filename=copy.tar.gz`, bytes), { status: 400, json: { code: 'BAD_REQUEST', message: 'copy.tar.gz already exists' } });
  assert.deepEqual(
    (await files()).filter((f) => f.filename === 'copy.tar.gz').map((f) => [f.node, f.size]),
    [[NAMES[1], bytes.length]],
  );

  // A form with the login token, to the node answering.
  const form = (filename: string, body: Buffer): FormData => {
    const fd = new FormData();
    fd.append('filename', new Blob([body]), filename);
    return fd;
  };
  assert.equal((await http(port, 'POST', '/api/v5/data/files', { token, raw: form('up.tar.gz', bytes) })).status, 204);
  assert.ok((await files()).some((f) => f.filename === 'up.tar.gz' && f.node === NAMES[0]));

  // A form with an API key is refused; the raw body works with it.
  const key = await http(port, 'POST', '/api/v5/api_key', { token, body: { name: 'uploader', enable: true } });
  assert.equal(key.status, 200, JSON.stringify(key.json));
  const { api_key, api_secret } = key.json as { api_key: string; api_secret: string };
  const viaKey = await http(port, 'POST', '/api/v5/data/files', { basic: `${api_key}:${api_secret}`, raw: form('key.tar.gz', bytes) });
  assert.equal(viaKey.status, 415);
  const rawKey = await http(port, 'POST', '/api/v5/data/files?filename=key.tar.gz', { basic: `${api_key}:${api_secret}`, raw: bytes, headers: { 'content-type': 'application/octet-stream' } });
  assert.equal(rawKey.status, 204);

  // Not an export, a name with a path, no name, JSON: refused, and nothing left behind.
  const garbage = await raw('filename=bad.tar.gz', Buffer.from('not a backup at all'));
  assert.equal(garbage.status, 400);
  assert.match((garbage.json as { message: string }).message, /^bad\.tar\.gz is not a gzip-compressed tar archive/);
  assert.equal((await raw('filename=..%2Fx.tar.gz', bytes)).status, 400);
  assert.equal((await raw('', bytes)).status, 400);
  assert.equal((await http(port, 'POST', '/api/v5/data/files', { token, body: { filename: 'x.tar.gz' } })).status, 415);
  const names = (await files()).map((f) => f.filename);
  assert.ok(!names.includes('bad.tar.gz') && !names.some((n) => n.includes('upload')), names.join(', '));

  // Imported on node 2 from the uploaded file.
  const imported = await http(port, 'POST', '/api/v5/data/import', { token, body: { filename: 'copy.tar.gz', node: NAMES[1] } });
  assert.equal(imported.status, 204, JSON.stringify(imported.json));
});
