// Listener changes on a running node by editing emqx.conf and `emqx ctl conf reload`: a listener
// added, changed in place (limits: its clients stay), moved to another port, removed; a bad
// listener (port in use, unreadable certificate) refused with a clear message while the running
// listeners keep serving (a connected client stays connected, new clients still connect); an
// mqtt.* limit applied to new connections.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, createServer, type Server } from 'node:net';
import type { IDisconnectPacket } from 'mqtt-packet';
import { freePort, type TestNode } from '../helpers/launcher.js';
import { applyConf, closeAll, open, poll, RawClient, startMqttNode, uniq, within, type Client } from '../helpers/mqtt-client.js';

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

/** 'open' when something accepts TCP on the port, else the error code. */
function probe(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve('open');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** Waits until the port is (or is not) accepting connections. */
async function until(port: number, state: 'open' | 'closed'): Promise<void> {
  await poll(async () => ((await probe(port)) === 'open') === (state === 'open') || undefined, 10_000, `port ${port} to be ${state}`);
}

async function alive(c: Client): Promise<void> {
  const topic = `reload/alive/${uniq()}`;
  await c.subscribe(topic, { qos: 1 });
  await c.publish(topic, 'still-here', { qos: 1 });
  await c.inbox.get(topic, 'still-here');
}

function listenersOutput(): Promise<string> {
  return node.ctl(['listeners']).then((r) => r.stdout);
}

describe('listeners on reload', () => {
  let extraClient: Client;

  test('add: a new named listener serves once the file says so', async () => {
    assert.equal(await probe(p1), 'ECONNREFUSED');
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
    assert.equal(await probe(p2), 'ECONNREFUSED');
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
    assert.equal(await probe(p2), 'ECONNREFUSED');
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
