// MQTT listeners from emqx.conf against a running node: ws (path, subprotocol, the 404 and 400
// refusals), ssl and wss with certificates made here, verify_peer + fail_if_no_peer_cert, a
// listener on [::1], max_connections, a mountpoint, named listeners and `enable = false`, and what
// `emqx ctl listeners` says about each.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { WebSocket } from 'ws';
import { makeCa, makeNodeCert, type TestCa, type TestCert } from '../helpers/certs.js';
import { freePort, type TestNode } from '../helpers/launcher.js';
import { closeAll, listensOn, open, RawClient, startMqttNode, uniq, within, type Client, type OpenOptions } from '../helpers/mqtt-client.js';
import { skipOrFail } from '../helpers/prerequisite.js';

let node: TestNode;
let certDir: string;
let ca: TestCa;
let server: TestCert;
let client: TestCert;
let stranger: TestCert;
let v6 = false;
const port: Record<'internal' | 'v6' | 'off' | 'ssl' | 'mtls' | 'wss' | 'lax' | 'mp' | 'mpvar' | 'wssMtls', number> = { internal: 0, v6: 0, off: 0, ssl: 0, mtls: 0, wss: 0, lax: 0, mp: 0, mpvar: 0, wssMtls: 0 };
const MAX_CONNECTIONS = 3;

/** Can this machine bind [::1]? */
function canBindV6(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: '::1', port: 0 }, () => s.close(() => resolve(true)));
  });
}

before(async () => {
  certDir = mkdtempSync(join(tmpdir(), 'emqx-t-mqtt-certs-'));
  ca = await makeCa(join(certDir, 'ca'));
  server = await makeNodeCert(ca, join(certDir, 'server'), 'broker@127.0.0.1');
  client = await makeNodeCert(ca, join(certDir, 'client'), 'client@127.0.0.1');
  const otherCa = await makeCa(join(certDir, 'other-ca'), 'Other CA');
  stranger = await makeNodeCert(otherCa, join(certDir, 'stranger'), 'stranger@127.0.0.1');
  v6 = await canBindV6();
  for (const k of Object.keys(port) as Array<keyof typeof port>) port[k] = k === 'v6' ? (v6 ? await freePort('::1') : 0) : await freePort();
  const ssl = (extra = ''): string => `ssl_options { certfile = "${server.certFile}", keyfile = "${server.keyFile}", cacertfile = "${ca.certFile}"${extra} }`;
  const conf = [
    `listeners.tcp.internal { bind = "127.0.0.1:${port.internal}", max_connections = ${MAX_CONNECTIONS} }`,
    v6 ? `listeners.tcp.v6 { bind = "[::1]:${port.v6}" }` : '',
    `listeners.tcp.off { bind = "127.0.0.1:${port.off}", enable = false }`,
    `listeners.ssl.default { bind = "127.0.0.1:${port.ssl}", ${ssl()} }`,
    `listeners.ssl.mtls { bind = "127.0.0.1:${port.mtls}", ${ssl(', verify = verify_peer, fail_if_no_peer_cert = true')} }`,
    `listeners.wss.default { bind = "127.0.0.1:${port.wss}", ${ssl()} }`,
    `listeners.wss.mtls { bind = "127.0.0.1:${port.wssMtls}", ${ssl(', verify = verify_peer, fail_if_no_peer_cert = true')} }`,
    `listeners.ws.lax { bind = "127.0.0.1:${port.lax}", websocket { mqtt_path = "/custom", fail_if_no_subprotocol = false, check_origin_enable = true, check_origins = "http://good.example, https://also.example" } }`,
    `listeners.tcp.mp { bind = "127.0.0.1:${port.mp}", mountpoint = "tenant/" }`,
    // EMQX's placeholders: one namespace per client (the quotes keep HOCON from substituting).
    `listeners.tcp.mpvar { bind = "127.0.0.1:${port.mpvar}", mountpoint = "dev/\${clientid}/\${username}/" }`,
  ].join('\n');
  node = await startMqttNode({
    name: 'mqttlisteners@127.0.0.1',
    mqtt: { ws: true },
    conf,
    // The launcher turns the default listeners off through the environment, which beats the file.
    env: { EMQX_LISTENERS__SSL__DEFAULT__ENABLE: 'true', EMQX_LISTENERS__WSS__DEFAULT__ENABLE: 'true' },
  });
});

after(async () => {
  await closeAll();
  RawClient.destroyAll();
  await node?.cleanup();
  if (certDir) rmSync(certDir, { recursive: true, force: true });
});

/** A subscriber on the plain tcp listener and a round trip from `c` to it. */
async function roundTrip(c: Client): Promise<void> {
  const topic = `listeners/rt/${uniq()}`;
  const sub = await open(node.mqttPort!, { protocolVersion: 5 });
  await sub.subscribe(topic, { qos: 1 });
  await c.subscribe(topic, { qos: 1 });
  await c.publish(topic, 'via-listener', { qos: 1 });
  await sub.inbox.get(topic, 'via-listener');
  await c.inbox.get(topic, 'via-listener');
  await sub.end();
}

/** The HTTP status a WebSocket upgrade gets (101 when it opens). */
function upgradeStatus(url: string, protocols?: string | string[], origin?: string): Promise<number> {
  return within(
    new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(url, protocols ?? [], origin === undefined ? {} : { origin });
      ws.on('upgrade', (res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
        ws.terminate();
      });
      ws.on('error', (err) => reject(err));
    }),
    5000,
    `the upgrade of ${url}`,
  );
}

/** `emqx ctl listeners` as blocks by listener id: { key: value }. */
async function listenerTable(): Promise<Map<string, Map<string, string>>> {
  const r = await node.ctl(['listeners']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const out = new Map<string, Map<string, string>>();
  let cur: Map<string, string> | undefined;
  for (const line of r.stdout.split('\n')) {
    if (line === '') continue;
    if (!line.startsWith(' ')) out.set(line, (cur = new Map()));
    else {
      const i = line.indexOf(':');
      cur!.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
    }
  }
  return out;
}

describe('WebSocket', () => {
  test('ws:default: MQTT over ws://…/mqtt with subprotocol mqtt, to and from a tcp client', async () => {
    for (const protocolVersion of [4, 5] as const) {
      const c = await open(0, { url: `ws://127.0.0.1:${node.wsPort}/mqtt`, protocolVersion });
      await roundTrip(c);
      const show = await node.ctl(['clients', 'show', c.mqtt.options.clientId!]);
      assert.match(show.stdout, /peername=127\.0\.0\.1:\d+/);
      await c.end();
    }
  });

  test('a wrong path is refused with 404; no subprotocol with 400 (fail_if_no_subprotocol, the default); an unknown one with 400', async () => {
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${node.wsPort}/mqtt`, 'mqtt'), 101);
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${node.wsPort}/other`, 'mqtt'), 404);
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${node.wsPort}/mqtt`), 400);
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${node.wsPort}/mqtt`, 'stomp'), 400);
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${node.wsPort}/mqtt`, ['mqttv3.1', 'mqtt-v5']), 101);
  });

  test('a named ws listener with mqtt_path /custom and fail_if_no_subprotocol = false', async () => {
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${port.lax}/custom`), 101);
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${port.lax}/mqtt`, 'mqtt'), 404);
    const c = await open(0, { url: `ws://127.0.0.1:${port.lax}/custom`, protocolVersion: 5 });
    await roundTrip(c);
    await c.end();
  });

  test('packets split across WebSocket frames and several packets in one frame; a text frame closes', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${node.wsPort}/mqtt`, 'mqtt');
    const received: Packet[] = [];
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    parser.on('packet', (p: Packet) => received.push(p));
    const published = new Promise<void>((resolve) => parser.on('packet', (p: Packet) => p.cmd === 'publish' && resolve()));
    ws.on('message', (d: Buffer) => parser.parse(d));
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    let failed: Error | undefined;
    ws.on('error', (err) => (failed ??= err));
    await within(new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject))), 5000, 'ws open');
    const topic = `listeners/frames/${uniq()}`;
    const gen = (p: Packet): Buffer => mqttPacket.generate(p, { protocolVersion: 5 });
    const connect = gen({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: `frames-${uniq()}`, clean: true, keepalive: 60 });
    ws.send(connect.subarray(0, 5));
    ws.send(connect.subarray(5));
    ws.send(Buffer.concat([gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 0 }] }), gen({ cmd: 'publish', topic, payload: Buffer.from('framed'), qos: 0, retain: false, dup: false })]));
    await within(published, 5000, 'CONNACK, SUBACK and the PUBLISH');
    assert.deepEqual(received.map((p) => p.cmd), ['connack', 'suback', 'publish']);
    ws.send('not binary');
    await within(closed, 5000, 'the close after a text frame');
    assert.equal(failed, undefined);
  });

  test('check_origin_enable: a listed Origin or none (allow_origin_absence) is accepted, another gets 403', async () => {
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${port.lax}/custom`, 'mqtt', 'http://good.example'), 101);
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${port.lax}/custom`, 'mqtt', 'https://also.example'), 101);
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${port.lax}/custom`, 'mqtt'), 101);
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${port.lax}/custom`, 'mqtt', 'http://evil.example'), 403);
    // ws:default does not check origins.
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${node.wsPort}/mqtt`, 'mqtt', 'http://evil.example'), 101);
  });

  test('a plain HTTP request to a ws listener gets 404', async () => {
    const res = await within(fetch(`http://127.0.0.1:${node.wsPort}/mqtt`), 5000, 'HTTP GET');
    assert.equal(res.status, 404);
  });
});

describe('TLS', () => {
  const tls = (cert?: TestCert): OpenOptions => ({
    ca: readFileSync(ca.certFile),
    rejectUnauthorized: true,
    ...(cert ? { cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) } : {}),
  });

  test('ssl:default: mqtts with the test CA, both protocol versions', async () => {
    for (const protocolVersion of [4, 5] as const) {
      const c = await open(0, { url: `mqtts://127.0.0.1:${port.ssl}`, protocolVersion, ...tls() });
      await roundTrip(c);
      await c.end();
    }
  });

  test('wss:default: MQTT over wss://…/mqtt', async () => {
    const c = await open(0, { url: `wss://127.0.0.1:${port.wss}/mqtt`, protocolVersion: 5, ...tls() });
    await roundTrip(c);
    await c.end();
  });

  test('verify_peer + fail_if_no_peer_cert: a client certificate from the CA is accepted; none, or one from another CA, is refused', async () => {
    const ok = await open(0, { url: `mqtts://127.0.0.1:${port.mtls}`, protocolVersion: 5, ...tls(client) });
    await roundTrip(ok);
    await ok.end();
    await assert.rejects(open(0, { url: `mqtts://127.0.0.1:${port.mtls}`, protocolVersion: 5, ...tls() }), 'no client certificate');
    await assert.rejects(open(0, { url: `mqtts://127.0.0.1:${port.mtls}`, protocolVersion: 5, ...tls(stranger) }), 'a certificate from another CA');
    // The same over wss.
    const wssOk = await open(0, { url: `wss://127.0.0.1:${port.wssMtls}/mqtt`, protocolVersion: 5, ...tls(client) });
    await roundTrip(wssOk);
    await wssOk.end();
    await assert.rejects(open(0, { url: `wss://127.0.0.1:${port.wssMtls}/mqtt`, protocolVersion: 5, ...tls() }), 'wss without a client certificate');
    // Not served as a client either: the node has no connection from them.
    const list = await node.ctl(['listeners']);
    assert.match(list.stdout, /ssl:mtls\n(?: {2}.*\n)*? {2}current_conn\s*: 0\n/);
  });
});

describe('tcp listeners', () => {
  test('IPv6: a listener bound to [::1]', async (t) => {
    if (!v6) return skipOrFail(t, 'this machine cannot bind [::1]');
    const c = await open(port.v6, { host: '::1', protocolVersion: 5 });
    await roundTrip(c);
    const show = await node.ctl(['clients', 'show', c.mqtt.options.clientId!]);
    assert.match(show.stdout, /peername=\[::1\]:\d+,/);
    await c.end();
    const table = await listenerTable();
    assert.equal(table.get('tcp:v6')?.get('listen_on'), `[::1]:${port.v6}`);
  });

  test(`max_connections (${MAX_CONNECTIONS}): the connection over the limit is refused, counted, and a place that frees up is reusable`, async () => {
    const cs: Client[] = [];
    for (let i = 0; i < MAX_CONNECTIONS; i++) cs.push(await open(port.internal, { protocolVersion: 5 }));
    await assert.rejects(open(port.internal, { protocolVersion: 5 }), 'connection over max_connections');
    let table = await listenerTable();
    const internal = table.get('tcp:internal')!;
    assert.equal(internal.get('current_conn'), String(MAX_CONNECTIONS));
    assert.equal(internal.get('max_conns'), String(MAX_CONNECTIONS));
    assert.equal(internal.get('shutdown_count'), '[{max_conns_reached,1}]');
    // The other listeners are not limited by it.
    const other = await open(node.mqttPort!, { protocolVersion: 5 });
    await other.end();
    await cs.pop()!.end();
    const again = await open(port.internal, { protocolVersion: 5 });
    assert.equal(again.connack.reasonCode, 0);
    table = await listenerTable();
    assert.equal(table.get('tcp:internal')?.get('current_conn'), String(MAX_CONNECTIONS));
    await Promise.all([...cs, again].map((c) => c.end()));
  });

  test('mountpoint: a client’s topics are prefixed inside the broker and unprefixed on the way back to it', async () => {
    const id = uniq();
    const inside = await open(port.mp, { protocolVersion: 5 });
    await inside.subscribe(`mp/${id}/#`, { qos: 1 });
    const outside = await open(node.mqttPort!, { protocolVersion: 5 });
    await outside.subscribe(`tenant/mp/${id}/#`, { qos: 1 });
    await inside.publish(`mp/${id}/from-inside`, 'in', { qos: 1, retain: true });
    const o = await outside.inbox.get(`tenant/mp/${id}/from-inside`, 'in');
    assert.equal(o.packet.qos, 1);
    await inside.inbox.get(`mp/${id}/from-inside`, 'in');
    await outside.publish(`tenant/mp/${id}/from-outside`, 'out', { qos: 1 });
    await inside.inbox.get(`mp/${id}/from-outside`, 'out');
    // A message outside the mountpoint never reaches it.
    await outside.publish(`mp/${id}/unmounted`, 'no', { qos: 1 });
    // Retained under the prefix, and sent back without it.
    const late = await open(port.mp, { protocolVersion: 4 });
    await late.subscribe(`mp/${id}/+`, { qos: 1 });
    const r = await late.inbox.get(`mp/${id}/from-inside`, 'in');
    assert.equal(r.packet.retain, true);
    const topics = (await node.ctl(['retainer', 'topics'])).stdout;
    assert.ok(topics.includes(`tenant/mp/${id}/from-inside\n`), topics);
    await inside.publish(`mp/${id}/from-inside`, '', { qos: 1, retain: true });
    // A subscription shown as the broker holds it, and a will published under the prefix.
    const subs = (await node.ctl(['subscriptions', 'show', inside.mqtt.options.clientId!])).stdout;
    assert.ok(subs.includes(`topic:tenant/mp/${id}/# `), subs);
    const w = await open(port.mp, { protocolVersion: 5, will: { topic: `mp/${id}/will`, payload: Buffer.from('bye'), qos: 1, retain: false } });
    await w.destroy();
    await outside.inbox.get(`tenant/mp/${id}/will`, 'bye');
    // The will came after the unmounted message: had that one reached `inside`, it would be there.
    await inside.inbox.get(`mp/${id}/will`, 'bye');
    assert.ok(!inside.inbox.texts().includes('no'), inside.inbox.texts().join(', '));
    await Promise.all([inside.end(), outside.end(), late.end()]);
  });

  test('mountpoint placeholders ${clientid} and ${username}: each client in its own namespace', async () => {
    const id = uniq();
    const a = await open(port.mpvar, { protocolVersion: 5, clientId: `a-${id}`, username: 'ua' });
    const b = await open(port.mpvar, { protocolVersion: 4, clientId: `b-${id}`, username: 'ub' });
    const outside = await open(node.mqttPort!, { protocolVersion: 5 });
    await outside.subscribe(`dev/+/+/${id}`, { qos: 1 });
    for (const c of [a, b]) await c.subscribe(id, { qos: 1 });
    await a.publish(id, 'from-a', { qos: 1 });
    await b.publish(id, 'from-b', { qos: 1 });
    await outside.inbox.count(2);
    assert.deepEqual(outside.inbox.messages.map((m) => `${m.topic}=${m.payload.toString()}`).sort(), [`dev/a-${id}/ua/${id}=from-a`, `dev/b-${id}/ub/${id}=from-b`]);
    await outside.publish(`dev/b-${id}/ub/${id}`, 'to-b', { qos: 1 });
    await b.inbox.get(id, 'to-b');
    await a.publish(id, 'marker', { qos: 1 });
    await a.inbox.get(id, 'marker');
    assert.deepEqual(a.inbox.texts(), ['from-a', 'marker']);
    assert.deepEqual(b.inbox.texts(), ['from-b', 'to-b']);
    await Promise.all([a.end(), b.end(), outside.end()]);
  });

  test('enable = false: the node does not listen on its port; `listeners` shows it not running', async () => {
    // Read from /proc: another process may have taken the free port meanwhile.
    assert.equal(listensOn(node.pid!, port.off), false);
    assert.equal(listensOn(node.pid!, port.internal), true);
    const off = (await listenerTable()).get('tcp:off');
    assert.ok(off, 'tcp:off is listed');
    assert.equal(off.get('listen_on'), `127.0.0.1:${port.off}`);
    assert.equal(off.get('running'), 'false');
    assert.equal(off.get('current_conn'), undefined);
  });

  test('`emqx ctl listeners` lists every listener with EMQX’s rows', async () => {
    const table = await listenerTable();
    const ids = [...table.keys()].sort();
    for (const id of ['tcp:default', 'tcp:internal', 'tcp:off', 'ssl:default', 'ssl:mtls', 'ws:default', 'ws:lax', 'wss:default']) assert.ok(ids.includes(id), `${id} in ${ids.join(', ')}`);
    const def = table.get('tcp:default')!;
    assert.deepEqual([...def.keys()], ['listen_on', 'acceptors', 'proxy_protocol', 'enbale', 'running', 'current_conn', 'max_conns', 'shutdown_count']);
    assert.equal(def.get('listen_on'), `127.0.0.1:${node.mqttPort}`);
    assert.equal(def.get('enbale'), 'true');
    assert.equal(def.get('running'), 'true');
    assert.equal(def.get('max_conns'), 'infinity');
    assert.equal(def.get('shutdown_count'), '[]');
    assert.equal(table.get('tcp:off')?.get('enbale'), 'false');
    assert.equal(table.get('ws:default')?.get('listen_on'), `127.0.0.1:${node.wsPort}`);
  });
});
