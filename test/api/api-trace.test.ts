// The cluster's log trace through the API, on two real daemons with real clients: a trace
// created on one node records a client connected to the other, in that node's file; its log is
// read and downloaded (a zip that Python's zipfile opens) through the first node; a trace waits
// for its start; stop and delete act on every member, files included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { createTestNodes, type TestNode } from '../helpers/launcher.js';
import { skipOrFail } from '../helpers/prerequisite.js';
import { http, login, waitFor } from './http.js';

const NAMES = ['tr1@127.0.0.1', 'tr2@127.0.0.1'];

async function client(t: { after(fn: () => Promise<void> | void): void }, node: TestNode, clientId: string): Promise<MqttClient> {
  const c = await connectAsync(`mqtt://127.0.0.1:${node.mqttPort}`, { clientId, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000 });
  t.after(() => c.endAsync(true).catch(() => undefined));
  return c;
}

interface Trace {
  name: string;
  status: string;
  log_size: Record<string, number>;
  clientid?: string;
  topic?: string;
}

test('a trace created through one node records a client of another; log, download, stop and delete cluster-wide', { timeout: 120_000 }, async (t) => {
  const [n1, n2] = (await createTestNodes(t, NAMES, { dashboard: true, mqtt: true })) as [TestNode, TestNode];
  await n1.startOk();
  await n2.startOk();
  assert.equal((await n2.ctl(['cluster', 'join', NAMES[0]!])).code, 0);
  const port = n1.dashboardPort!;
  const token = await login(port);
  const traces = async (): Promise<Trace[]> => (await http(port, 'GET', '/api/v5/trace', { token })).json as Trace[];

  const created = await http(port, 'POST', '/api/v5/trace', { token, body: { name: 'dev1-trace', type: 'clientid', clientid: 'dev1', payload_encode: 'hex' } });
  assert.equal(created.status, 200, created.text);
  assert.equal((created.json as Trace).status, 'running');
  assert.equal((await http(port, 'POST', '/api/v5/trace', { token, body: { name: 'dev1-trace', type: 'clientid', clientid: 'x' } })).status, 409);
  const dup = await http(port, 'POST', '/api/v5/trace', { token, body: { name: 'again', type: 'clientid', clientid: 'dev1' } });
  assert.deepEqual([dup.status, (dup.json as { code: string }).code], [409, 'DUPLICATE_CONDITION']);
  assert.equal((await http(port, 'POST', '/api/v5/trace', { token, body: { name: '1bad name', type: 'clientid', clientid: 'x' } })).status, 400);
  assert.equal((await http(port, 'POST', '/api/v5/trace', { token, body: { name: 'bad-topic', type: 'topic', topic: 'a/#/b' } })).status, 400);

  // dev1 on tr2 is traced there (the row reached tr2 with the write); dev2 is not.
  const dev1 = await client(t, n2, 'dev1');
  const dev2 = await client(t, n2, 'dev2');
  await dev1.publishAsync('t/x', 'hello', { qos: 1 });
  await dev2.publishAsync('t/x', 'not traced', { qos: 1 });
  await waitFor('a log on tr2', async () => ((await traces())[0]?.log_size[NAMES[1]!] ?? 0) > 0);
  const log = await http(port, 'GET', `/api/v5/trace/dev1-trace/log?node=${NAMES[1]}&bytes=100000`, { token });
  const items = (log.json as { items: string; meta: { position: number } }).items;
  assert.match(items, /dev1@127\.0\.0\.1:\d+ msg: mqtt_packet_received, packet: CONNECT/);
  assert.match(items, /PUBLISH\(Q1, R0, D0, Topic=t\/x, PacketId=\d+, Payload=68656c6c6f\)/, 'payload_encode = hex');
  assert.doesNotMatch(items, /dev2/);
  assert.equal((log.json as { meta: { position: number } }).meta.position, Buffer.byteLength(items));
  assert.equal(((await http(port, 'GET', `/api/v5/trace/dev1-trace/log?node=${NAMES[0]}`, { token })).json as { items: string }).items, '');
  assert.equal((await http(port, 'GET', '/api/v5/trace/dev1-trace/log?node=nobody@h', { token })).status, 400);
  const detail = (await http(port, 'GET', '/api/v5/trace/dev1-trace/log_detail', { token })).json as Array<{ node: string; size: number }>;
  assert.deepEqual(detail.map((d) => d.node).sort(), NAMES);
  assert.ok(detail.find((d) => d.node === NAMES[1])!.size > 0);

  // The download: one file per node, opened by another zip implementation.
  const zip = await fetch(`http://127.0.0.1:${port}/api/v5/trace/dev1-trace/download`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(zip.status, 200);
  assert.match(zip.headers.get('content-disposition') ?? '', /dev1-trace\.zip/);
  const dir = mkdtempSync(join(tmpdir(), 'trace-zip-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 't.zip'), Buffer.from(await zip.arrayBuffer()));
  let listing: string;
  try {
    listing = execFileSync('python3', ['-c', 'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nfor i in z.infolist(): print(i.filename, len(z.read(i)))', join(dir, 't.zip')], { encoding: 'utf8' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return skipOrFail(t, 'python3');
    throw err;
  }
  const files = Object.fromEntries(listing.trim().split('\n').map((l) => l.split(' ') as [string, string]));
  const on2 = Object.keys(files).find((f) => f.startsWith(`${NAMES[1]}-trace_dev1-trace_`))!;
  assert.ok(on2, listing);
  assert.equal(Number(files[on2]), Buffer.byteLength(items));

  // A topic trace that starts in two seconds: waiting, then running, on both nodes.
  const start = Math.ceil(Date.now() / 1000) + 2;
  assert.equal((await http(port, 'POST', '/api/v5/trace', { token, body: { name: 'later', type: 'topic', topic: 'late/#', start_at: start, end_at: start + 60 } })).status, 200);
  assert.equal((await traces()).find((x) => x.name === 'later')!.status, 'waiting');
  await waitFor('the topic trace running', async () => (await traces()).find((x) => x.name === 'later')!.status === 'running', 10_000);
  await waitFor('the topic trace on tr2', async () => {
    await dev2.publishAsync('late/1', 'now', { qos: 1 });
    return ((await traces()).find((x) => x.name === 'later')!.log_size[NAMES[1]!] ?? 0) > 0;
  });

  // Stop: stopped everywhere, nothing more written; the file stays until the trace is deleted.
  assert.deepEqual((await http(port, 'PUT', '/api/v5/trace/dev1-trace/stop', { token })).json, { enable: false, name: 'dev1-trace' });
  const stopped = (await traces()).find((x) => x.name === 'dev1-trace')!;
  assert.equal(stopped.status, 'stopped');
  // Its PUBACK is written in the turn that read it, as any trace line would be: once it is
  // here, a line for this PUBLISH would be in the file.
  await dev1.publishAsync('t/x', 'after stop', { qos: 1 });
  assert.equal((await traces()).find((x) => x.name === 'dev1-trace')!.log_size[NAMES[1]!], stopped.log_size[NAMES[1]!]);
  const traceDir = join(n2.dataDir, 'trace');
  assert.ok(readdirSync(traceDir).some((f) => f.startsWith('trace_dev1-trace_')));
  assert.equal((await http(port, 'DELETE', '/api/v5/trace/dev1-trace', { token })).status, 204);
  assert.equal((await http(port, 'DELETE', '/api/v5/trace/dev1-trace', { token })).status, 404);
  await waitFor("dev1-trace's file gone on tr2", async () => !readdirSync(traceDir).some((f) => f.startsWith('trace_dev1-trace_')));
  assert.equal((await http(port, 'DELETE', '/api/v5/trace', { token })).status, 204);
  assert.deepEqual(await traces(), []);
  await waitFor('every trace file gone on tr2', async () => !existsSync(traceDir) || readdirSync(traceDir).length === 0);
});
