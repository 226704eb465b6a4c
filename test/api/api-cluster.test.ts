// The API against three real daemons over real HTTP: login, nodes answered by each node over the
// cluster link, invite and force-leave changing `cluster status`, clients and subscriptions of
// another node, kick, a stopped member reported as stopped at once, Prometheus for the cluster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { connectAsync } from 'mqtt';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { createTestNodes } from '../helpers/launcher.js';
import { skipOrFail } from '../helpers/prerequisite.js';
import { http, waitFor } from './http.js';

const NAMES = ['emqx1@127.0.0.1', 'emqx2@127.0.0.1', 'emqx3@127.0.0.1'];

interface NodeRow {
  node: string;
  node_status: string;
  uptime?: number;
}

test('a three-node cluster managed through the API', { timeout: 180_000 }, async (t) => {
  const [n1, n2, n3] = await createTestNodes(t, NAMES, { dashboard: true, mqtt: true });
  const started = await n1!.startOk();
  // The default administrator is created on first boot, and its default password is called out.
  assert.match(started.stderr, /WARNING: The dashboard user 'admin' still has the default password/);
  await n2!.startOk();
  await n3!.startOk();
  const p1 = n1!.dashboardPort!;
  const p2 = n2!.dashboardPort!;

  const first = await http(p1, 'POST', '/api/v5/login', { body: { username: 'admin', password: 'public' } });
  assert.equal(first.status, 200, first.text);
  const body = first.json as { token: string; version: string; default_password_in_use?: boolean; warning?: string };
  assert.equal(body.version, '0.1.0');
  assert.equal(body.default_password_in_use, true);
  assert.match(body.warning!, /default password/);
  const token = body.token;

  // Alone at first.
  let nodes = (await http(p1, 'GET', '/api/v5/nodes', { token })).json as NodeRow[];
  assert.deepEqual(nodes.map((n) => n.node), ['emqx1@127.0.0.1']);

  // Invite the other two: each is asked over the cluster link to join emqx1.
  for (const n of [n2!, n3!]) {
    const r = await http(p1, 'PUT', `/api/v5/cluster/${n.name}/invite`, { token, body: { timeout: 15000 } });
    assert.equal(r.status, 200, r.text);
  }
  const status = await n1!.ctl(['cluster', 'status', '--json']);
  assert.deepEqual(JSON.parse(status.stdout).running_nodes, NAMES);
  const again = await http(p1, 'PUT', `/api/v5/cluster/${n2!.name}/invite`, { token, body: { timeout: 15000 } });
  assert.equal(again.status, 400);
  assert.deepEqual(again.json, { code: 'BAD_REQUEST', message: "{already_in_cluster,'emqx1@127.0.0.1'}" });
  const self = await http(p1, 'PUT', `/api/v5/cluster/${n1!.name}/invite`, { token, body: {} });
  assert.deepEqual([self.status, (self.json as { message: string }).message], [400, 'Cannot invite self']);

  // The token is good on every member (one signing key, replicated); each node answers for itself.
  // emqx3 joined through emqx1, so emqx2 sees it running once their own link is up: wait for that.
  await waitFor('emqx2 to accept the token and see all three running', async () => {
    const r = await http(p2, 'GET', '/api/v5/nodes', { token });
    return r.status === 200 && (r.json as NodeRow[]).filter((n) => n.node_status === 'running').length === 3;
  });
  nodes = (await http(p2, 'GET', '/api/v5/nodes', { token })).json as NodeRow[];
  assert.deepEqual(
    nodes.map((n) => [n.node, n.node_status]),
    NAMES.map((n) => [n, 'running']),
  );
  const info2 = (await http(p1, 'GET', `/api/v5/nodes/${n2!.name}`, { token })).json as NodeRow & { version: string };
  assert.equal(info2.node, n2!.name);
  assert.equal(info2.version, '0.1.0');
  const stats3 = await http(p1, 'GET', `/api/v5/nodes/${n3!.name}/stats`, { token });
  assert.equal(stats3.status, 200);
  assert.equal((stats3.json as Record<string, number>)['connections.count'], 0);
  const cluster = (await http(p1, 'GET', '/api/v5/cluster', { token })).json as { name: string; nodes: string[]; self: string };
  assert.deepEqual(cluster, { name: 'emqxcl', nodes: NAMES, self: n1!.name, stopped_nodes: [] });

  // A client of emqx2, seen and kicked through emqx1.
  const client = await connectAsync(`mqtt://127.0.0.1:${n2!.mqttPort}`, { clientId: 'api-test-client', username: 'u1', reconnectPeriod: 0, connectTimeout: 5000 });
  try {
    await client.subscribeAsync('sensors/+/temp', { qos: 1 });
    const list = (await http(p1, 'GET', '/api/v5/clients?like_clientid=api-test', { token })).json as { data: Array<Record<string, unknown>>; meta: Record<string, unknown> };
    assert.equal(list.meta.count, 1);
    assert.equal(list.data[0]!.clientid, 'api-test-client');
    assert.equal(list.data[0]!.node, n2!.name);
    assert.equal(list.data[0]!.username, 'u1');
    assert.equal(list.data[0]!.connected, true);
    const byNode = (await http(p1, 'GET', `/api/v5/clients?node=${n3!.name}`, { token })).json as { meta: { count: number } };
    assert.equal(byNode.meta.count, 0);
    const subs = (await http(p1, 'GET', '/api/v5/subscriptions?clientid=api-test-client', { token })).json as { data: Array<Record<string, unknown>> };
    assert.deepEqual(subs.data, [{ node: n2!.name, topic: 'sensors/+/temp', clientid: 'api-test-client', qos: 1, nl: 0, rap: 0, rh: 0, durable: false }]);
    const topics = (await http(p1, 'GET', '/api/v5/topics', { token })).json as { data: Array<Record<string, unknown>> };
    assert.ok(topics.data.some((r) => r.topic === 'sensors/+/temp' && r.node === n2!.name));
    const one = await http(p1, 'GET', '/api/v5/clients/api-test-client', { token });
    assert.equal((one.json as { node: string }).node, n2!.name);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const kick = await http(p1, 'DELETE', '/api/v5/clients/api-test-client', { token });
    assert.equal(kick.status, 204, kick.text);
    await closed;
    const gone = await http(p1, 'DELETE', '/api/v5/clients/api-test-client', { token });
    assert.deepEqual([gone.status, gone.json], [404, { code: 'CLIENTID_NOT_FOUND', message: 'Client ID not found' }]);
  } finally {
    client.end(true);
  }

  // Prometheus: one scrape of any node covers the cluster, and parses as the text format.
  const prom = await http(p2, 'GET', '/api/v5/prometheus/stats?mode=all_nodes_aggregated');
  assert.equal(prom.status, 200);
  assert.match(prom.headers.get('content-type') ?? '', /^text\/plain/);
  const families = parsePrometheusTextFormat(prom.text);
  const family = (name: string): { metrics: Array<{ value: string; labels?: Record<string, string> }> } => {
    const f = families.find((x) => x.name === name);
    assert.ok(f, `${name} in the scrape`);
    return f;
  };
  assert.ok(Number(family('emqx_client_connect').metrics[0]!.value) >= 1, 'the connect of emqx2 is in the cluster sum');
  assert.deepEqual(family('emqx_cluster_nodes_running').metrics.map((m) => m.labels?.node).sort(), NAMES);
  if (spawnSync('promtool', ['--version']).status !== 0) skipOrFail(t, 'promtool (Debian package prometheus)');
  else {
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: prom.text, encoding: 'utf8', timeout: 20_000 });
    // Exit 3 is lint only: EMQX's own names (emqx_connections_count, counters without _total) are kept.
    assert.ok(lint.status === 0 || lint.status === 3, `promtool: ${lint.status} ${lint.stdout}${lint.stderr}`);
    for (const line of `${lint.stdout}${lint.stderr}`.split('\n').filter((l) => l.trim() !== '')) {
      assert.match(line, /should have "_total" suffix|should not have "_count" suffix/, `promtool: ${line}`);
    }
  }

  // emqx3 stops: it is reported as stopped right away, and no call waits for it.
  const stop = await n3!.stop();
  assert.equal(stop.code, 0, stop.stderr);
  await waitFor('emqx3 to be reported as stopped', async () => {
    const r = (await http(p1, 'GET', '/api/v5/nodes', { token })).json as NodeRow[];
    return r.find((n) => n.node === n3!.name)?.node_status === 'stopped';
  }, 10_000);
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const r = await http(p1, 'GET', '/api/v5/nodes', { token });
    assert.equal(r.status, 200);
    assert.ok(performance.now() - t0 < 1000, `GET /nodes took ${performance.now() - t0} ms with a member down`);
  }
  const down = await http(p1, 'GET', `/api/v5/nodes/${n3!.name}`, { token });
  assert.deepEqual([down.status, (down.json as NodeRow).node_status], [200, 'stopped']);
  const downStats = await http(p1, 'GET', `/api/v5/nodes/${n3!.name}/stats`, { token });
  assert.deepEqual([downStats.status, downStats.json], [404, { code: 'NOT_FOUND', message: `Node not found: ${n3!.name}` }]);
  const clientsWithDown = await http(p1, 'GET', '/api/v5/clients', { token });
  assert.equal(clientsWithDown.status, 200);

  // Force-leave of the stopped member: 204, and `cluster status` no longer lists it.
  const fl = await http(p1, 'DELETE', `/api/v5/cluster/${n3!.name}/force_leave`, { token });
  assert.equal(fl.status, 204, fl.text);
  const after = JSON.parse((await n1!.ctl(['cluster', 'status', '--json'])).stdout) as { running_nodes: string[]; stopped_nodes: string[] };
  assert.deepEqual(after, { running_nodes: ['emqx1@127.0.0.1', 'emqx2@127.0.0.1'], stopped_nodes: [] });
  const flSelf = await http(p1, 'DELETE', `/api/v5/cluster/${n1!.name}/force_leave`, { token });
  assert.deepEqual([flSelf.status, flSelf.json], [400, { code: 'BAD_REQUEST', message: "Can't leave self" }]);
  const flUnknown = await http(p1, 'DELETE', '/api/v5/cluster/emqx9@127.0.0.9/force_leave', { token });
  assert.deepEqual([flUnknown.status, flUnknown.json], [400, { code: 'BAD_REQUEST', message: 'node_not_in_cluster' }]);
});
