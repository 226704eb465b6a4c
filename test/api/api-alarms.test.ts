// Alarms on real daemons with real clients: the system memory alarm raised and cleared by
// reloading its watermark, announced on $SYS, listed through the other member's API, kept as
// history across a restart and cleared by DELETE /alarms; a conn_congestion alarm raised by a
// subscriber that stops reading, cleared once it reads again (after the sustain time) and at once
// when it goes away; the partition alarm of a member that stalled past the ticktime, healed at
// once with autoheal on and kept until a restart with it off; the open-file alarm as connections
// come and go.
import { readdirSync, readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { createTestNode, createTestNodes, type TestNode } from '../helpers/launcher.js';
import { statusOf } from '../helpers/cluster-status.js';
import { http, login, waitFor } from './http.js';

interface AlarmRow {
  node: string;
  name: string;
  message: string;
  details: Record<string, unknown>;
  duration: number;
  activate_at: string;
  deactivate_at: string;
}

async function alarms(port: number, token: string, activated: boolean): Promise<AlarmRow[]> {
  const r = await http(port, 'GET', `/api/v5/alarms?activated=${activated}`, { token });
  assert.equal(r.status, 200, r.text);
  return (r.json as { data: AlarmRow[] }).data;
}

const MEM = (watermark: string): string => `sysmon.os { sysmem_high_watermark = "${watermark}", mem_check_interval = 1s }\n`;

async function subscriber(t: { after(fn: () => unknown): void }, port: number, filter: string): Promise<Array<{ topic: string; payload: Record<string, unknown> }>> {
  const c: MqttClient = connect(`mqtt://127.0.0.1:${port}`, { clientId: 'alarm-watcher', reconnectPeriod: 0, connectTimeout: 5000 });
  t.after(() => c.endAsync(true).catch(() => undefined));
  const got: Array<{ topic: string; payload: Record<string, unknown> }> = [];
  c.on('message', (topic, payload) => got.push({ topic, payload: JSON.parse(payload.toString()) as Record<string, unknown> }));
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  await c.subscribeAsync(filter);
  return got;
}

test('the system memory alarm: raised and cleared with its watermark, on $SYS, listed by any member, kept across a restart, history deleted', { timeout: 120_000 }, async (t) => {
  const names = ['al1@127.0.0.1', 'al2@127.0.0.1'];
  const [n1, n2] = (await createTestNodes(t, names, { dashboard: true, mqtt: true, conf: MEM('99%') })) as [TestNode, TestNode];
  await n1.startOk();
  await n2.startOk();
  assert.equal((await n2.ctl(['cluster', 'join', names[0]!])).code, 0);
  const port2 = n2.dashboardPort!;
  const token = await login(port2);
  assert.deepEqual(await alarms(port2, token, true), []);

  const sys = await subscriber(t, n1.mqttPort!, '$SYS/brokers/+/alarms/+');
  // Any machine uses more than 1 % of its memory: a reload to that line raises the alarm at once.
  n1.writeConf(MEM('1%'));
  assert.equal((await n1.ctl(['conf', 'reload'])).code, 0);
  await waitFor('the activation on $SYS', () => sys.length > 0);
  assert.equal(sys[0]!.topic, '$SYS/brokers/al1@127.0.0.1/alarms/activate');
  const p = sys[0]!.payload;
  assert.equal(p.name, 'high_system_memory_usage');
  assert.equal(p.activated, true);
  assert.equal(p.deactivate_at, 'infinity');
  assert.equal(typeof p.activate_at, 'number');
  assert.match(p.message as string, /^\d+\.\d\d% mem usage$/);
  assert.equal((p.details as { high_watermark: number }).high_watermark, 1);
  assert.match(n1.logText(), /alarm high_system_memory_usage activated/);

  // al2's API lists al1's alarm (al2's own watermark is 99 %: none of its own).
  const active = await alarms(port2, token, true);
  assert.equal(active.length, 1);
  assert.deepEqual([active[0]!.node, active[0]!.name, active[0]!.deactivate_at], ['al1@127.0.0.1', 'high_system_memory_usage', 'infinity']);
  assert.match(active[0]!.activate_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/);
  assert.ok(active[0]!.duration >= 0);

  // Raised once: the next checks (every second) do not raise it again.
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(sys.length, 1, 'an active alarm is not raised again');

  n1.writeConf(MEM('99%'));
  assert.equal((await n1.ctl(['conf', 'reload'])).code, 0);
  await waitFor('the deactivation on $SYS', () => sys.length > 1);
  assert.equal(sys[1]!.topic, '$SYS/brokers/al1@127.0.0.1/alarms/deactivate');
  assert.equal(sys[1]!.payload.activated, false);
  assert.equal(typeof sys[1]!.payload.deactivate_at, 'number');
  assert.deepEqual(await alarms(port2, token, true), []);
  const history = await alarms(port2, token, false);
  assert.equal(history.length, 1);
  assert.match(history[0]!.deactivate_at, /^\d{4}-/);

  // Raised again, then the node restarts: what was active is history, cleared at the restart.
  n1.writeConf(MEM('1%'));
  assert.equal((await n1.ctl(['conf', 'reload'])).code, 0);
  await waitFor('raised again', async () => (await alarms(port2, token, true)).length === 1);
  assert.equal((await n1.stop()).code, 0);
  n1.writeConf(MEM('99%'));
  await n1.startOk();
  await waitFor('al1 back in the cluster', async () => (await n2.ctl(['cluster', 'status'])).stdout.includes('running_nodes') && (await alarms(port2, token, false)).length === 2);
  assert.deepEqual(await alarms(port2, token, true), []);

  const del = await http(port2, 'DELETE', '/api/v5/alarms', { token });
  assert.equal(del.status, 204, del.text);
  assert.deepEqual(await alarms(port2, token, false), []);
});

/** A raw MQTT 3.1.1 client that subscribes and then reads only when told to. */
async function slowSubscriber(port: number, clientId: string, username: string, filter: string): Promise<Socket> {
  const s = tcpConnect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const acks: string[] = [];
  parser.on('packet', (p) => acks.push(p.cmd));
  const onData = (b: Buffer): void => {
    if (acks.length < 2) parser.parse(b);
  };
  s.on('data', onData);
  s.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, username, keepalive: 0 }));
  s.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 0 }] }));
  await waitFor('CONNACK and SUBACK', () => acks.length >= 2, 10_000);
  assert.deepEqual(acks, ['connack', 'suback']);
  s.off('data', onData);
  s.pause();
  return s;
}

test('conn_congestion: a subscriber that stops reading raises its alarm; reading again clears it after the sustain time, going away at once', { timeout: 120_000 }, async (t) => {
  const n = await createTestNode(t, { name: 'cg1@127.0.0.1', dashboard: true, mqtt: true, conf: 'conn_congestion.min_alarm_sustain_duration = 1s\n' });
  await n.startOk();
  const port = n.dashboardPort!;
  const token = await login(port);
  const pub: MqttClient = connect(`mqtt://127.0.0.1:${n.mqttPort!}`, { clientId: 'flooder', reconnectPeriod: 0 });
  t.after(() => pub.endAsync(true).catch(() => undefined));
  await new Promise<void>((resolve, reject) => {
    pub.once('connect', () => resolve());
    pub.once('error', reject);
  });
  const payload = Buffer.alloc(512 * 1024, 1);
  const flood = async (): Promise<void> => {
    // 24 MiB: more than the kernel's socket buffers on both ends hold, so the node's own backs up.
    for (let i = 0; i < 48; i++) await pub.publishAsync('big/x', payload, { qos: 1 });
  };
  const name = 'conn_congestion/slow-1/u1';
  const activeNames = async (): Promise<string[]> => (await alarms(port, token, true)).map((a) => a.name);

  const slow = await slowSubscriber(n.mqttPort!, 'slow-1', 'u1', 'big/#');
  t.after(() => void slow.destroy());
  await flood();
  await waitFor('the congestion alarm', async () => (await activeNames()).includes(name));
  const row = (await alarms(port, token, true)).find((a) => a.name === name)!;
  assert.equal(row.details.clientid, 'slow-1');
  assert.equal(row.details.username, 'u1');
  assert.ok((row.details.send_pend as number) > 1024 * 1024, `send_pend ${String(row.details.send_pend)}`);
  assert.match(row.message, /^connection congested: clientid=slow-1, username=u1/);

  // It reads everything: the socket drains and, the sustain time (1 s) being up, the alarm clears.
  let read = 0;
  slow.on('data', (b: Buffer) => (read += b.length));
  slow.resume();
  await waitFor('the alarm cleared', async () => !(await activeNames()).includes(name));
  assert.ok(read > 10 * 1024 * 1024, `${read} bytes read`);
  assert.ok((await alarms(port, token, false)).some((a) => a.name === name));

  // Backed up again, then gone: cleared at once.
  const slow2 = await slowSubscriber(n.mqttPort!, 'slow-2', 'u2', 'big/#');
  await flood();
  await waitFor('the second congestion alarm', async () => (await activeNames()).includes('conn_congestion/slow-2/u2'));
  slow2.destroy();
  await waitFor('cleared when the client went', async () => !(await activeNames()).includes('conn_congestion/slow-2/u2'), 5000);
  // The first subscriber still reads: no alarm of its own meanwhile.
  assert.ok(!(await activeNames()).includes(name));
});

test('partition: a member stalled past the ticktime and back unrestarted is recorded; with autoheal off the alarm stays until one side restarts', { timeout: 120_000 }, async (t) => {
  const names = ['pa1@127.0.0.1', 'pa2@127.0.0.1'];
  const base = 'node.dist_net_ticktime = 2s\n';
  const [n1, n2] = (await createTestNodes(t, names, { dashboard: true, conf: base })) as [TestNode, TestNode];
  await n1.startOk();
  await n2.startOk();
  assert.equal((await n2.ctl(['cluster', 'join', names[0]!])).code, 0);
  const port = n1.dashboardPort!;
  const token = await login(port);
  const own = async (activated: boolean): Promise<AlarmRow[]> => (await alarms(port, token, activated)).filter((a) => a.node === names[0] && a.name === 'partition');
  t.after(() => n2.kill('SIGCONT'));

  /** pa2 stops answering until pa1 counts it down, stays silent a second more, then runs on with the same boot. */
  const stall = async (): Promise<void> => {
    n2.kill('SIGSTOP');
    await waitFor('pa2 seen stopped by pa1', async () => (await statusOf(n1)).stopped_nodes.includes(names[1]!), 15_000);
    // The split's length, which the alarm's history must show.
    await new Promise((r) => setTimeout(r, 1000));
    n2.kill('SIGCONT');
    await waitFor('pa2 running again on pa1', async () => (await statusOf(n1)).running_nodes.includes(names[1]!), 15_000);
  };

  // autoheal on (the default): merged at once, recorded in the history with the split's length.
  await stall();
  await waitFor('the partition in pa1\'s history', async () => (await own(false)).length === 1);
  const [healed] = await own(false);
  assert.equal(healed!.message, `Partition occurs at node ${names[1]}`);
  assert.equal(healed!.details.occurred, names[1]);
  assert.ok(healed!.duration >= 900, `split for ${healed!.duration} ms`);
  assert.deepEqual(await own(true), []);

  // autoheal off: the alarm stays while the sides are apart.
  for (const n of [n1, n2]) {
    n.writeConf(`${base}cluster.autoheal = false\n`);
    assert.equal((await n.ctl(['conf', 'reload'])).code, 0);
  }
  n2.kill('SIGSTOP');
  await waitFor('pa2 seen stopped by pa1', async () => (await statusOf(n1)).stopped_nodes.includes(names[1]!), 15_000);
  n2.kill('SIGCONT');
  await waitFor('the partition alarm active on pa1', async () => (await own(true)).length === 1);
  assert.match((await n1.ctl(['cluster', 'status'])).stdout + n1.logText(), /network partition detected/);
  // pa2 restarts: it comes back as a new run, the sides merge and the alarm clears.
  assert.equal((await n2.stop()).code, 0);
  await n2.startOk();
  await waitFor('the partition alarm cleared', async () => (await own(true)).length === 0, 30_000).catch((err: Error) => {
    const tail = (n: TestNode): string => n.logText().split('\n').filter((l) => /"part":"(cluster|dist|alarm)"/.test(l)).slice(-15).join('\n');
    throw new Error(`${err.message}\n--- ${names[0]} ---\n${tail(n1)}\n--- ${names[1]} ---\n${tail(n2)}`);
  });
  assert.equal((await own(false)).length, 2);
});

test('too_many_open_files: raised as connections take the node near its open-file limit, cleared as they go', { timeout: 120_000 }, async (t) => {
  const n = await createTestNode(t, { name: 'fd1@127.0.0.1', dashboard: true, mqtt: true });
  await n.startOk();
  const token = await login(n.dashboardPort!);
  // The watermarks are set from this daemon's own limit and files, so the test holds for any limit.
  const limit = Number(/^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${n.pid}/limits`, 'utf8'))![1]);
  const base = readdirSync(`/proc/${n.pid}/fd`).length;
  const pct = (files: number): string => `${(Math.ceil((files / limit) * 10000) / 100).toFixed(2)}%`;
  const high = pct(base + 150);
  const low = pct(base + 50);
  n.writeConf(`sysmon.vm { process_check_interval = 1s, process_high_watermark = "${high}", process_low_watermark = "${low}" }\n`);
  assert.equal((await n.ctl(['conf', 'reload'])).code, 0);
  const active = async (): Promise<boolean> => (await alarms(n.dashboardPort!, token, true)).some((a) => a.name === 'too_many_open_files');
  assert.equal(await active(), false);

  const socks: Socket[] = [];
  t.after(() => socks.forEach((s) => s.destroy()));
  const wanted = Math.ceil((Number.parseFloat(high) / 100) * limit) - base + 100;
  for (let i = 0; i < wanted; i++) {
    const s = tcpConnect(n.mqttPort!, '127.0.0.1');
    socks.push(s);
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
  }
  await waitFor('too_many_open_files raised', active, 10_000);
  const row = (await alarms(n.dashboardPort!, token, true)).find((a) => a.name === 'too_many_open_files')!;
  assert.equal(row.details.max_fds, limit);
  assert.match(row.message, /% of the open-file limit \(\d+ of \d+\)$/);
  for (const s of socks.splice(0)) s.destroy();
  await waitFor('too_many_open_files cleared', async () => !(await active()), 10_000);
});
