// $SYS topics against a running node, as EMQX's emqx_sys publishes them: `$SYS/brokers` and the
// node's version and sysdescr (retained) every sys_topics.sys_msg_interval, uptime and datetime
// every sys_topics.sys_heartbeat_interval, stats and metrics every sys_msg_interval, and a JSON
// event per client connect and disconnect with EMQX's fields.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestNode } from '../helpers/launcher.js';
import { closeAll, open, startMqttNode, uniq, type Received } from '../helpers/mqtt-client.js';

const NODE = 'mqttsys@127.0.0.1';
const SYS = `$SYS/brokers/${NODE}`;
const RFC3339_NS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}[+-]\d\d:\d\d$/;

let node: TestNode;
let port: number;

before(async () => {
  node = await startMqttNode({
    name: NODE,
    mqtt: true,
    env: { EMQX_SYS_TOPICS__SYS_MSG_INTERVAL: '1s', EMQX_SYS_TOPICS__SYS_HEARTBEAT_INTERVAL: '1s' },
  });
  port = node.mqttPort!;
});

after(async () => {
  await closeAll();
  await node?.cleanup();
});

/** `emqx ctl broker` as a map (sysdescr, version, datetime, uptime). */
async function brokerInfo(): Promise<Map<string, string>> {
  const r = await node.ctl(['broker']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return new Map(r.stdout.trim().split('\n').map((l) => {
    const i = l.indexOf(':');
    return [l.slice(0, i).trim(), l.slice(i + 1).trim()] as [string, string];
  }));
}

describe('node facts', () => {
  test('`$SYS/brokers`, version and sysdescr are retained and match `emqx ctl broker`', async () => {
    const info = await brokerInfo();
    const c = await open(port, { protocolVersion: 5 });
    await c.subscribe(['$SYS/brokers', `${SYS}/version`, `${SYS}/sysdescr`], { qos: 0 });
    const [brokers, version, sysdescr] = await Promise.all([c.inbox.get('$SYS/brokers'), c.inbox.get(`${SYS}/version`), c.inbox.get(`${SYS}/sysdescr`)]);
    for (const m of [brokers, version, sysdescr]) assert.equal(m.packet.retain, true, `${m.topic} retained`);
    assert.equal(brokers.payload.toString(), NODE);
    assert.equal(version.payload.toString(), info.get('version'));
    assert.equal(sysdescr.payload.toString(), info.get('sysdescr'));
    assert.match(info.get('datetime') ?? '', RFC3339_NS);
    await c.end();
  });

  test('uptime (ms) and datetime every heartbeat interval (1 s)', async () => {
    const c = await open(port, { protocolVersion: 5 });
    await c.subscribe([`${SYS}/uptime`, `${SYS}/datetime`], { qos: 0 });
    await c.inbox.until(() => c.inbox.messages.filter((m) => m.topic.endsWith('/uptime')).length >= 2, 5000, 'two uptime messages');
    const ups = c.inbox.messages.filter((m) => m.topic.endsWith('/uptime'));
    const [u1, u2] = ups.map((m) => Number(m.payload.toString()));
    assert.ok(Number.isInteger(u1) && Number.isInteger(u2) && u1! > 0, `uptime ${u1}, ${u2}`);
    assert.ok(u2! - u1! >= 800 && u2! - u1! <= 1500, `uptime step ${u2! - u1!} ms`);
    assert.equal(ups[0]!.packet.retain, false);
    const dt = await c.inbox.get(`${SYS}/datetime`);
    // emqx_sys:datetime/0: calendar:system_time_to_rfc3339 in local time, unit nanosecond.
    assert.match(dt.payload.toString(), RFC3339_NS);
    const at = Date.parse(dt.payload.toString());
    assert.ok(Math.abs(at - Date.now()) < 5000, `datetime ${dt.payload.toString()}`);
    await c.end();
  });

  test('stats and metrics every sys_msg_interval, with the values `emqx ctl broker stats|metrics` has', async () => {
    const c = await open(port, { protocolVersion: 5 });
    await c.subscribe([`${SYS}/stats/#`, `${SYS}/metrics/#`], { qos: 0 });
    const conn = (m: Received): boolean => m.topic === `${SYS}/stats/connections/count`;
    await c.inbox.until(() => c.inbox.messages.filter(conn).length >= 2, 5000, 'two stats/connections/count messages');
    const counts = c.inbox.messages.filter(conn).map((m) => Number(m.payload.toString()));
    assert.ok(counts.every((n) => n >= 1), `connections.count ${counts.join(', ')}`);
    const stats = (await node.ctl(['broker', 'stats'])).stdout;
    for (const name of ['connections.count', 'sessions.count', 'subscriptions.count', 'topics.count', 'retained.count']) {
      assert.ok(stats.includes(`${name.padEnd(30)}: `), `${name} in broker stats:\n${stats}`);
      await c.inbox.get(`${SYS}/stats/${name.replaceAll('.', '/')}`);
    }
    const metrics = (await node.ctl(['broker', 'metrics'])).stdout;
    for (const name of ['messages.received', 'messages.sent', 'packets.connect.received', 'delivery.dropped.queue_full', 'bytes.sent']) {
      assert.ok(metrics.includes(`${name.padEnd(30)}: `), `${name} in broker metrics:\n${metrics}`);
      const m = await c.inbox.get(`${SYS}/metrics/${name.replaceAll('.', '/')}`);
      assert.match(m.payload.toString(), /^\d+$/);
    }
    // Sent once per interval: two connections.count messages about 1 s apart.
    const times: number[] = [];
    const before = c.inbox.messages.filter(conn).length;
    await c.inbox.until(() => {
      const n = c.inbox.messages.filter(conn).length;
      if (n > before + times.length) times.push(Date.now());
      return times.length >= 2;
    }, 5000, 'two more stats rounds');
    assert.ok(times[1]! - times[0]! >= 700 && times[1]! - times[0]! <= 1600, `stats interval ${times[1]! - times[0]!} ms`);
    await c.end();
  });
});

describe('client events', () => {
  test('connected and disconnected: JSON with EMQX’s fields', async () => {
    const watch = await open(port, { protocolVersion: 5 });
    await watch.subscribe([`${SYS}/clients/+/connected`, `${SYS}/clients/+/disconnected`], { qos: 0 });
    const id = `sysev-${uniq()}`;
    const t0 = Date.now();
    const c = await open(port, { protocolVersion: 4, clientId: id, username: 'alice', password: Buffer.from('pw'), keepalive: 30 });
    const conn = JSON.parse((await watch.inbox.get(`${SYS}/clients/${id}/connected`)).payload.toString()) as Record<string, unknown>;
    const localPort = (c.mqtt.stream as unknown as { localPort: number }).localPort;
    assert.deepEqual(Object.keys(conn).sort(), ['clean_start', 'clientid', 'connected_at', 'expiry_interval', 'ipaddress', 'keepalive', 'proto_name', 'proto_ver', 'protocol', 'sockport', 'ts', 'username']);
    assert.equal(conn.clientid, id);
    assert.equal(conn.username, 'alice');
    assert.equal(conn.ipaddress, '127.0.0.1');
    assert.equal(conn.sockport, port);
    assert.notEqual(conn.sockport, localPort);
    assert.equal(conn.protocol, 'mqtt');
    assert.equal(conn.proto_name, 'MQTT');
    assert.equal(conn.proto_ver, 4);
    assert.equal(conn.keepalive, 30);
    assert.equal(conn.clean_start, true);
    assert.equal(conn.expiry_interval, 0);
    assert.ok(typeof conn.connected_at === 'number' && conn.connected_at >= t0 - 1000 && conn.connected_at <= Date.now(), String(conn.connected_at));
    assert.ok(typeof conn.ts === 'number' && conn.ts >= (conn.connected_at as number));

    await c.end();
    const disc = JSON.parse((await watch.inbox.get(`${SYS}/clients/${id}/disconnected`)).payload.toString()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(disc).sort(), ['clientid', 'connected_at', 'disconnected_at', 'ipaddress', 'proto_name', 'proto_ver', 'protocol', 'reason', 'sockport', 'ts', 'username']);
    assert.equal(disc.clientid, id);
    assert.equal(disc.reason, 'normal');
    assert.equal(disc.connected_at, conn.connected_at);
    assert.ok((disc.disconnected_at as number) >= (conn.connected_at as number));
    await watch.end();
  });

  test('v3.1 and v5 clients: proto_name MQIsdp / MQTT, proto_ver 3 / 5, v5 session expiry in ms; a dropped connection’s reason', async () => {
    const watch = await open(port, { protocolVersion: 5 });
    await watch.subscribe(`${SYS}/clients/#`, { qos: 0 });
    const id3 = `sys3-${uniq()}`;
    const c3 = await open(port, { protocolVersion: 3, clientId: id3 });
    const e3 = JSON.parse((await watch.inbox.get(`${SYS}/clients/${id3}/connected`)).payload.toString()) as Record<string, unknown>;
    assert.equal(e3.proto_name, 'MQIsdp');
    assert.equal(e3.proto_ver, 3);
    assert.equal(e3.username, null);
    const id5 = `sys5-${uniq()}`;
    const c5 = await open(port, { protocolVersion: 5, clientId: id5, properties: { sessionExpiryInterval: 60 } });
    const e5 = JSON.parse((await watch.inbox.get(`${SYS}/clients/${id5}/connected`)).payload.toString()) as Record<string, unknown>;
    assert.equal(e5.proto_ver, 5);
    assert.equal(e5.expiry_interval, 60_000);
    await c5.destroy();
    const d5 = JSON.parse((await watch.inbox.get(`${SYS}/clients/${id5}/disconnected`)).payload.toString()) as Record<string, unknown>;
    assert.notEqual(d5.reason, 'normal');
    assert.equal(typeof d5.reason, 'string');
    await c3.end();
    await node.ctl(['clients', 'kick', id5]);
    await watch.end();
  });
});
