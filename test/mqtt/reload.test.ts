// Listener changes on a running node by editing emqx.conf and `emqx ctl conf reload`: a listener
// added, changed in place (limits: its clients stay), moved to another port, removed; a bad
// listener (port in use, unreadable certificate) refused with a clear message while the running
// listeners keep serving (a connected client stays connected, new clients still connect); a
// certificate rotated and a WebSocket path changed in place; an mqtt.* limit applied to new
// connections.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import type { IDisconnectPacket } from 'mqtt-packet';
import { makeCa, makeNodeCert, type TestCa, type TestCert } from '../helpers/certs.js';
import { freePort, type TestNode } from '../helpers/launcher.js';
import { applyConf, closeAll, listensOn, open, poll, RawClient, startMqttNode, uniq, within, type Client } from '../helpers/mqtt-client.js';

let node: TestNode;
let p1: number;
let p2: number;
let p3: number;

before(async () => {
  node = await startMqttNode({ name: 'mqttreload@127.0.0.1', mqtt: true });
  [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
});

after(async () => {
  await closeAll();
  RawClient.destroyAll();
  await node?.cleanup();
});

/** Whether the node listens on the port (read from /proc, so another process on it cannot fool it). */
const serving = (port: number): boolean => listensOn(node.pid!, port);

/** Waits until the node listens (or no longer listens) on the port. */
async function until(port: number, state: 'open' | 'closed'): Promise<void> {
  await poll(() => serving(port) === (state === 'open') || undefined, 10_000, `port ${port} to be ${state}`);
}

/** The client still gets what it subscribes to; if not, the error carries the node's last log lines. */
async function alive(c: Client): Promise<void> {
  const topic = `reload/alive/${uniq()}`;
  try {
    await c.subscribe(topic, { qos: 1 });
    await c.publish(topic, 'still-here', { qos: 1 });
    await c.inbox.get(topic, 'still-here');
  } catch (err) {
    const tail = node.logText().split('\n').slice(-25).join('\n');
    throw new Error(`${err instanceof Error ? err.message : String(err)}\nthe node's log, last lines:\n${tail}`, { cause: err });
  }
}

function listenersOutput(): Promise<string> {
  return node.ctl(['listeners']).then((r) => r.stdout);
}

describe('listeners on reload', () => {
  let extraClient: Client;

  test('add: a new named listener serves once the file says so', async () => {
    assert.equal(serving(p1), false);
    const r = await applyConf(node, `listeners.tcp.extra { bind = "127.0.0.1:${p1}" }`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^Config reloaded(: no change)?\./);
    await until(p1, 'open');
    extraClient = await open(p1, { protocolVersion: 5 });
    await alive(extraClient);
    assert.match(await listenersOutput(), new RegExp(`tcp:extra\\n {2}listen_on\\s+: 127\\.0\\.0\\.1:${p1}\\n`));
  });

  test('change in place (max_connections): the connected client stays, the new limit applies', async () => {
    const r = await applyConf(node, `listeners.tcp.extra { bind = "127.0.0.1:${p1}", max_connections = 2 }`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await poll(async () => (/tcp:extra\n(?: {2}.*\n)*? {2}max_conns\s+: 2\n/.test(await listenersOutput()) ? true : undefined), 10_000, 'max_conns 2');
    await alive(extraClient);
    const second = await open(p1, { protocolVersion: 5 });
    await assert.rejects(open(p1, { protocolVersion: 5 }), 'the third connection is over max_connections = 2');
    await second.end();
    await alive(extraClient);
  });

  test('move to another port: the old port closes (its clients told 0x8B), the new one serves', async () => {
    const r = await applyConf(node, `listeners.tcp.extra { bind = "127.0.0.1:${p2}" }`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await until(p2, 'open');
    await until(p1, 'closed');
    await within(extraClient.closed, 5000, 'the client of the moved listener to be closed');
    assert.equal((extraClient.disconnect as IDisconnectPacket | undefined)?.reasonCode, 0x8b);
    const c = await open(p2, { protocolVersion: 5 });
    await alive(c);
    await c.end();
  });

  test('replace on the same port in one change: tcp:extra → ws:extra2 on its port', async () => {
    const c = await open(p2, { protocolVersion: 5 });
    const r = await applyConf(node, `listeners.ws.extra2 { bind = "127.0.0.1:${p2}" }`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await within(c.closed, 5000, 'the client of the replaced listener to be closed');
    await poll(async () => (/ws:extra2\n(?: {2}.*\n)*? {2}running\s+: true\n/.test(await listenersOutput()) ? true : undefined), 10_000, 'ws:extra2 running');
    const w = await open(0, { url: `ws://127.0.0.1:${p2}/mqtt`, protocolVersion: 5 });
    await alive(w);
    await w.end();
    const back = await applyConf(node, `listeners.tcp.extra { bind = "127.0.0.1:${p2}" }`);
    assert.equal(back.code, 0, back.stdout + back.stderr);
    await poll(async () => (await open(p2, { protocolVersion: 5 }).then((x) => x.end().then(() => true)).catch(() => undefined)), 10_000, 'tcp on the port again');
  });

  test('remove: the listener stops and is no longer listed', async () => {
    const c = await open(p2, { protocolVersion: 4 });
    const r = await applyConf(node, '');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await until(p2, 'closed');
    await within(c.closed, 5000, 'the client of the removed listener to be closed');
    assert.doesNotMatch(await listenersOutput(), /tcp:extra/);
    // tcp:default (from the environment) was never touched.
    const d = await open(node.mqttPort!, { protocolVersion: 5 });
    await d.end();
  });

  test('proxy_protocol turned on: the listener reopens (its clients closed), then wants the header', async () => {
    let r = await applyConf(node, `listeners.tcp.lb { bind = "127.0.0.1:${p2}" }`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await until(p2, 'open');
    const c = await open(p2, { protocolVersion: 5 });
    r = await applyConf(node, `listeners.tcp.lb { bind = "127.0.0.1:${p2}", proxy_protocol = true }`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await within(c.closed, 5000, 'the client of the reopened listener to be closed');
    await assert.rejects(open(p2, { protocolVersion: 5, connectTimeout: 2000 }), 'a client without a PROXY header gets no CONNACK');
    const header = Buffer.from('PROXY TCP4 198.51.100.4 127.0.0.1 40000 1883\r\n');
    const raw = await RawClient.connect(p2, 5);
    raw.socket.write(header);
    await raw.handshake('lb-client');
    assert.match((await node.ctl(['clients', 'show', 'lb-client'])).stdout, /peername=198\.51\.100\.4:40000,/);
    raw.destroy();
    r = await applyConf(node, '');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await until(p2, 'closed');
  });
});

describe('refused listener changes', () => {
  let holder: Server;
  let steady: Client;

  before(async () => {
    // A listener that serves throughout, and a client on each running listener.
    const r = await applyConf(node, `listeners.tcp.keep { bind = "127.0.0.1:${p1}" }`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await until(p1, 'open');
    steady = await open(p1, { protocolVersion: 5 });
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen({ host: '127.0.0.1', port: p3 }, resolve));
  });

  after(async () => {
    await new Promise((resolve) => holder?.close(resolve));
  });

  test('a port in use: the reload is refused naming the listener and the port; the other listeners keep serving', async () => {
    const onDefault = await open(node.mqttPort!, { protocolVersion: 5 });
    const r = await applyConf(node, [`listeners.tcp.keep { bind = "127.0.0.1:${p1}" }`, `listeners.tcp.taken { bind = "127.0.0.1:${p3}" }`, `listeners.tcp.fresh { bind = "127.0.0.1:${p2}" }`].join('\n'));
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /refused: listeners: .*listener tcp:taken cannot listen on 127\.0\.0\.1:\d+: port \d+ is in use/);
    assert.ok(r.stdout.includes(`port ${p3} is in use`), r.stdout);
    // All or nothing: the listener that could have been opened was not (or was closed again).
    assert.equal(serving(p2), false);
    const list = await listenersOutput();
    assert.doesNotMatch(list, /tcp:taken|tcp:fresh/);
    // Connected clients stay connected; new ones connect.
    await alive(steady);
    await alive(onDefault);
    const fresh = await open(p1, { protocolVersion: 5 });
    await alive(fresh);
    await Promise.all([fresh.end(), onDefault.end()]);
    const log = node.logText();
    assert.ok(log.includes(`port ${p3} is in use`), 'the refusal is logged');
  });

  test('an unreadable certificate: the reload is rejected naming the key and the file; the listeners keep serving', async () => {
    const missing = `/nonexistent/${uniq()}/cert.pem`;
    const r = await applyConf(
      node,
      [`listeners.tcp.keep { bind = "127.0.0.1:${p1}" }`, `listeners.ssl.bad { bind = "127.0.0.1:${p2}", ssl_options { certfile = "${missing}", keyfile = "${missing}" } }`].join('\n'),
    );
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^Config reload failed; the node keeps running with its current configuration:\n/);
    assert.ok(r.stdout.includes(`listeners.ssl.bad.ssl_options.certfile: ${missing}`), r.stdout);
    assert.equal(serving(p2), false);
    await alive(steady);
    const fresh = await open(p1, { protocolVersion: 4 });
    await fresh.end();
  });

  test('after the refusals, a good file applies again', async () => {
    const r = await applyConf(node, [`listeners.tcp.keep { bind = "127.0.0.1:${p1}" }`, `listeners.tcp.fresh { bind = "127.0.0.1:${p2}" }`].join('\n'));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await until(p2, 'open');
    const c = await open(p2, { protocolVersion: 5 });
    await alive(c);
    await alive(steady);
    await Promise.all([c.end(), steady.end()]);
  });

  test('a refused change that had freed a port for another listener puts the old listener back', async () => {
    const r = await applyConf(node, [`listeners.tcp.keep2 { bind = "127.0.0.1:${p1}" }`, `listeners.tcp.fresh { bind = "127.0.0.1:${p2}" }`, `listeners.tcp.taken { bind = "127.0.0.1:${p3}" }`].join('\n'));
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.ok(r.stdout.includes(`port ${p3} is in use`), r.stdout);
    const list = await listenersOutput();
    assert.match(list, /tcp:keep\n(?: {2}.*\n)*? {2}running\s+: true\n/);
    assert.doesNotMatch(list, /tcp:keep2|tcp:taken/);
    const c = await open(p1, { protocolVersion: 5 });
    await alive(c);
    await c.end();
  });
});

describe('listener settings changed in place', () => {
  let dir: string;
  let ca: TestCa;
  let certA: TestCert;
  let certB: TestCert;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'emqx-t-mqtt-reload-certs-'));
    ca = await makeCa(join(dir, 'ca'));
    certA = await makeNodeCert(ca, join(dir, 'a'), 'first@127.0.0.1');
    certB = await makeNodeCert(ca, join(dir, 'b'), 'second@127.0.0.1');
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The common name of the certificate the listener presents to a new connection. */
  function presented(port: number): Promise<string> {
    return within(
      new Promise((resolve, reject) => {
        const s = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(ca.certFile) }, () => {
          resolve(String(s.getPeerCertificate().subject.CN));
          s.destroy();
        });
        s.once('error', reject);
      }),
      5000,
      'a TLS handshake',
    );
  }

  test('a rotated certificate: new connections get the new one, a connected client stays', async () => {
    const ssl = (c: TestCert): string => `listeners.ssl.rot { bind = "127.0.0.1:${p3}", ssl_options { certfile = "${c.certFile}", keyfile = "${c.keyFile}" } }`;
    let r = await applyConf(node, ssl(certA));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await until(p3, 'open');
    assert.equal(await presented(p3), 'first@127.0.0.1');
    const c = await open(0, { url: `mqtts://127.0.0.1:${p3}`, protocolVersion: 5, ca: readFileSync(ca.certFile), rejectUnauthorized: true });
    r = await applyConf(node, ssl(certB));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await poll(async () => ((await presented(p3)) === 'second@127.0.0.1' ? true : undefined), 10_000, 'the new certificate');
    await alive(c);
    await c.end();
  });

  test('a certificate renewed on disk under the same file names is served without any command', async () => {
    const live = join(dir, 'live');
    mkdirSync(live, { recursive: true });
    const put = (c: TestCert): void => {
      // As certbot and cert-manager do: the new files land beside, then take the names in one rename each.
      for (const [from, to] of [
        [c.certFile, 'cert.pem'],
        [c.keyFile, 'key.pem'],
      ] as const) {
        copyFileSync(from, join(live, `${to}.new`));
        renameSync(join(live, `${to}.new`), join(live, to));
      }
    };
    put(certA);
    const r = await applyConf(node, `listeners.ssl.renew { bind = "127.0.0.1:${p3}", ssl_options { certfile = "${join(live, 'cert.pem')}", keyfile = "${join(live, 'key.pem')}" } }`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await until(p3, 'open');
    assert.equal(await presented(p3), 'first@127.0.0.1');
    const c = await open(0, { url: `mqtts://127.0.0.1:${p3}`, protocolVersion: 5, ca: readFileSync(ca.certFile), rejectUnauthorized: true });
    put(certB);
    await poll(async () => ((await presented(p3)) === 'second@127.0.0.1' ? true : undefined), 10_000, 'the renewed certificate');
    await alive(c);
    await c.end();
    // `emqx ctl pem_cache clean`, EMQX's way to take renewed files, applies them at once (before
    // the watcher's debounce would).
    put(certA);
    const all = await node.ctl(['pem_cache', 'clean', 'all']);
    assert.deepEqual([all.code, all.stdout], [0, 'PEM cache clean OK\n']);
    assert.equal(await presented(p3), 'first@127.0.0.1');
    const one = await node.ctl(['pem_cache', 'clean', 'node', node.name]);
    assert.deepEqual([one.code, one.stdout], [0, `${node.name} PEM cache clean OK\n`]);
    const other = await node.ctl(['pem_cache', 'clean', 'node', 'nobody@127.0.0.1']);
    assert.deepEqual([other.code, other.stdout], [1, 'nobody@127.0.0.1 PEM cache clean FAILED\nunknown_node\n']);
    const usage = await node.ctl(['pem_cache']);
    assert.equal(usage.code, 1);
    assert.match(usage.stdout, /pem_cache clean all +# Clears x509 certificate cache on all nodes/);
    await applyConf(node, '');
    await until(p3, 'closed');
  });

  test("the dashboard's https listener serves a certificate renewed on disk", async () => {
    const live = join(dir, 'dash');
    mkdirSync(live, { recursive: true });
    const put = (c: TestCert): void => {
      copyFileSync(c.certFile, join(live, 'cert.pem.new'));
      copyFileSync(c.keyFile, join(live, 'key.pem.new'));
      renameSync(join(live, 'key.pem.new'), join(live, 'key.pem'));
      renameSync(join(live, 'cert.pem.new'), join(live, 'cert.pem'));
    };
    put(certA);
    const r = await applyConf(node, `dashboard.listeners.https { enable = true, bind = "127.0.0.1:${p3}", ssl_options { certfile = "${join(live, 'cert.pem')}", keyfile = "${join(live, 'key.pem')}" } }`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await until(p3, 'open');
    assert.equal(await presented(p3), 'first@127.0.0.1');
    put(certB);
    await poll(async () => ((await presented(p3)) === 'second@127.0.0.1' ? true : undefined), 10_000, 'the renewed certificate on the dashboard');
    await applyConf(node, '');
    await until(p3, 'closed');
  });

  test('a ws listener’s path: the new path serves, the old one is refused', async () => {
    const ws = (path: string): string => `listeners.ws.moving { bind = "127.0.0.1:${p3}", websocket { mqtt_path = "${path}" } }`;
    let r = await applyConf(node, ws('/one'));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await poll(async () => (await open(0, { url: `ws://127.0.0.1:${p3}/one`, protocolVersion: 5 }).then((c) => c.end().then(() => true)).catch(() => undefined)), 10_000, 'ws on /one');
    r = await applyConf(node, ws('/two'));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await poll(async () => (await open(0, { url: `ws://127.0.0.1:${p3}/two`, protocolVersion: 5 }).then((c) => c.end().then(() => true)).catch(() => undefined)), 10_000, 'ws on /two');
    await assert.rejects(open(0, { url: `ws://127.0.0.1:${p3}/one`, protocolVersion: 5 }));
    await applyConf(node, '');
    await until(p3, 'closed');
  });
});

describe('mqtt.* on reload', () => {
  test('mqtt.max_clientid_len applies to new connections', async () => {
    const id = `x${'y'.repeat(40)}`;
    const before = await open(node.mqttPort!, { protocolVersion: 5, clientId: id });
    const r = await applyConf(node, 'mqtt.max_clientid_len = 30', 'mqtt.max_clientid_len', '30');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const raw = await RawClient.connect(node.mqttPort!, 5);
    raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: `z${id}`, clean: true, keepalive: 60 });
    const ack = await raw.next((p) => p.cmd === 'connack', 5000, 'CONNACK');
    assert.equal((ack as { reasonCode?: number }).reasonCode, 0x85);
    // The client connected before keeps its connection.
    await alive(before);
    await before.end();
    await applyConf(node, '', 'mqtt.max_clientid_len', '65535');
  });
});
