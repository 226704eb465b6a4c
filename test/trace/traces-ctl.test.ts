// `emqx ctl traces` on two real daemons: a trace started from one node's command line runs on
// both (a client of the other is recorded), is listed by the other with EMQX's line and each
// member's file size, is seen by the API, stops and is deleted from the command line; EMQX's
// error lines and usage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectAsync } from 'mqtt';
import { createTestNodes, type TestNode } from '../helpers/launcher.js';
import { http, login, waitFor } from '../api/http.js';

test('traces from the command line run on every member and are listed with each member\'s file size', { timeout: 120_000 }, async (t) => {
  const names = ['tc1@127.0.0.1', 'tc2@127.0.0.1'];
  const [n1, n2] = (await createTestNodes(t, names, { dashboard: true, mqtt: true })) as [TestNode, TestNode];
  await n1.startOk();
  await n2.startOk();
  assert.equal((await n2.ctl(['cluster', 'join', names[0]!])).code, 0);

  assert.deepEqual(await n1.ctl(['traces', 'list']).then((r) => [r.code, r.stdout]), [0, 'Cluster Trace is empty\n']);
  const started = await n1.ctl(['traces', 'start', 'cli1', 'client', 'traced-1', '600']);
  assert.deepEqual([started.code, started.stdout], [0, 'cluster_trace clientid traced-1 cli1 successfully\n']);
  const again = await n2.ctl(['traces', 'start', 'cli1', 'client', 'other']);
  assert.equal(again.code, 1);
  assert.match(again.stdout, /^\[error\] cluster_trace cli1 clientid=other /);

  // The client is on tc2: its packets go to tc2's file.
  const c = await connectAsync(`mqtt://127.0.0.1:${n2.mqttPort}`, { clientId: 'traced-1', reconnectPeriod: 0 });
  t.after(() => c.endAsync(true).catch(() => undefined));
  await waitFor('the trace running on tc2', async () => (await n2.ctl(['traces', 'list'])).stdout.includes('running'));
  await c.publishAsync('t/x', 'seen', { qos: 1 });
  const line = /^Trace\(cli1: clientid=traced-1, running, LogSize:#\{'tc1@127\.0\.0\.1' => 0,'tc2@127\.0\.0\.1' => (\d+)\}\)\n$/;
  await waitFor('tc2 file grown', async () => Number(line.exec((await n1.ctl(['traces', 'list'])).stdout)?.[1] ?? 0) > 0);

  const token = await login(n1.dashboardPort!);
  const api = await http(n1.dashboardPort!, 'GET', '/api/v5/trace', { token });
  assert.deepEqual((api.json as Array<{ name: string; type: string; clientid: string }>).map((r) => [r.name, r.type, r.clientid]), [['cli1', 'clientid', 'traced-1']]);

  assert.deepEqual(await n2.ctl(['traces', 'stop', 'cli1']).then((r) => [r.code, r.stdout]), [0, 'Stop cluster_trace cli1 successfully\n']);
  assert.match((await n1.ctl(['traces', 'list'])).stdout, /^Trace\(cli1: clientid=traced-1, stopped, /);
  assert.deepEqual(await n1.ctl(['traces', 'delete', 'cli1']).then((r) => [r.code, r.stdout]), [0, 'Del cluster_trace cli1 successfully\n']);
  assert.deepEqual(await n2.ctl(['traces', 'delete', 'cli1']).then((r) => [r.code, r.stdout]), [1, '[error] Del cluster_trace cli1: not_found\n']);
  assert.deepEqual(await n2.ctl(['traces', 'stop', 'nope']).then((r) => [r.code, r.stdout]), [1, '[error] Stop cluster_trace nope: not_found\n']);

  const bad = await n1.ctl(['traces', 'start', 'x', 'ip_address', 'not-an-ip']);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /^\[error\] cluster_trace x ip_address=not-an-ip ip_address: 'not-an-ip' is not an IPv4 or IPv6 address\n$/);
  const usage = await n1.ctl(['traces', 'start', 'x', 'bogus', 'y']);
  assert.equal(usage.code, 1);
  assert.match(usage.stdout, /^traces list +# List all cluster traces started\n/);
});
