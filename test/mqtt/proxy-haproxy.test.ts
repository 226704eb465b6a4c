// Listeners with `proxy_protocol = true` behind a real HAProxy, as EMQX is run behind a load
// balancer: MQTT over TCP with a v1 and a v2 header, MQTT over TLS passed through (the header
// comes before the TLS handshake), MQTT over WebSocket, and TLS terminated by HAProxy with a
// verified client certificate whose CN (v2's SSL TLV) becomes the user name
// (mqtt.peer_cert_as_username = cn). Each client must be shown with its own address and port,
// not HAProxy's. A connection without the header, with a bad one, or silent, is closed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqttPacket, { type IConnectPacket } from 'mqtt-packet';
import { WebSocket } from 'ws';
import { makeCa, makeNodeCert, type TestCa, type TestCert } from '../helpers/certs.js';
import { startHaproxy, haproxyInstalled, HAPROXY, type Haproxy } from '../helpers/haproxy.js';
import { freePort, type TestNode } from '../helpers/launcher.js';
import { closeAll, open, startMqttNode, within } from '../helpers/mqtt-client.js';
import { inCi } from '../helpers/prerequisite.js';

const missing = haproxyInstalled() ? undefined : `${HAPROXY} (Debian package haproxy)`;
if (missing && inCi()) throw new Error(`prerequisite missing, and CI=true makes that a failure: ${missing}`);

let dir: string;
let node: TestNode;
let haproxy: Haproxy;
let ca: TestCa;
let client: TestCert;
const port = { tcp: 0, ssl: 0, ws: 0, wsHttp: 0, wsPlain: 0, tcpMax: 0 };
/**
 * HAProxy's frontends: v1 → tcp, v2 → tcp, TLS passed through → ssl, v1 → ws, TLS terminated →
 * tcp, and an HTTP reverse proxy setting X-Forwarded-For/-Port → a ws listener that reads them.
 */
let via: { v1: number; v2: number; sslThrough: number; ws: number; tlsCn: number; xff: number };

before(async () => {
  if (missing) return;
  dir = mkdtempSync(join(tmpdir(), 'emqx-t-haproxy-'));
  ca = await makeCa(join(dir, 'ca'));
  const server = await makeNodeCert(ca, join(dir, 'server'), 'broker@127.0.0.1');
  client = await makeNodeCert(ca, join(dir, 'client'), 'device-7');
  const edge = join(dir, 'edge.pem');
  writeFileSync(edge, readFileSync(server.certFile, 'utf8') + readFileSync(server.keyFile, 'utf8'));
  for (const k of Object.keys(port) as Array<keyof typeof port>) port[k] = await freePort();
  node = await startMqttNode({
    name: 'proxied@127.0.0.1',
    mqtt: true,
    conf: [
      'mqtt.peer_cert_as_username = cn',
      `listeners.tcp.pp { bind = "127.0.0.1:${port.tcp}", proxy_protocol = true, proxy_protocol_timeout = 1s }`,
      `listeners.ssl.pp { bind = "127.0.0.1:${port.ssl}", proxy_protocol = true, ssl_options { certfile = "${server.certFile}", keyfile = "${server.keyFile}" } }`,
      `listeners.ws.pp { bind = "127.0.0.1:${port.ws}", proxy_protocol = true }`,
      `listeners.ws.xff { bind = "127.0.0.1:${port.wsHttp}", websocket { proxy_address_header = "x-forwarded-for", proxy_port_header = "x-forwarded-port" } }`,
      `listeners.ws.plain { bind = "127.0.0.1:${port.wsPlain}" }`,
      `listeners.tcp.ppmax { bind = "127.0.0.1:${port.tcpMax}", proxy_protocol = true, proxy_protocol_timeout = 5s, max_connections = 2 }`,
      '',
    ].join('\n'),
  });
  haproxy = await startHaproxy([
    { to: port.tcp, send: 'send-proxy' },
    { to: port.tcp, send: 'send-proxy-v2' },
    { to: port.ssl, send: 'send-proxy-v2' },
    { to: port.ws, send: 'send-proxy' },
    { to: port.tcp, send: 'send-proxy-v2-ssl-cn', tls: { pem: edge, ca: ca.certFile } },
    // Overwritten, not appended: what a client wrote in these headers does not get through.
    { to: port.wsHttp, http: ['set-header X-Forwarded-For %[src]', 'set-header X-Forwarded-Port %[src_port]'] },
  ]);
  const [v1, v2, sslThrough, ws, tlsCn, xff] = haproxy.ports as [number, number, number, number, number, number];
  via = { v1, v2, sslThrough, ws, tlsCn, xff };
});

after(async () => {
  await closeAll();
  await haproxy?.stop();
  await node?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `clients show`'s peername and username of a client. */
async function shown(clientId: string): Promise<{ peer: string; username: string }> {
  const r = await node.ctl(['clients', 'show', clientId]);
  assert.equal(r.code, 0, r.stdout);
  return { peer: /peername=([^,]+)/.exec(r.stdout)![1]!, username: /username=([^,]+)/.exec(r.stdout)![1]! };
}

const localPortOf = (c: { mqtt: { stream: unknown } }): number => (c.mqtt.stream as Socket).localPort!;

test('MQTT over TCP behind HAProxy, PROXY v1 and v2: each client is shown with its own address and port', { skip: missing }, async () => {
  for (const [name, p] of [
    ['v1', via.v1],
    ['v2', via.v2],
  ] as const) {
    const c = await open(p, { clientId: `pp-${name}`, protocolVersion: 5 });
    assert.deepEqual(await shown(`pp-${name}`), { peer: `127.0.0.1:${localPortOf(c)}`, username: 'undefined' });
    // The connection works both ways through the balancer.
    await c.subscribe(`pp/${name}`, { qos: 1 });
    await c.publish(`pp/${name}`, 'through', { qos: 1 });
    await c.inbox.get(`pp/${name}`, 'through');
    await c.end();
  }
});

test('MQTT over TLS passed through HAProxy: the header comes before the handshake', { skip: missing }, async () => {
  const c = await open(0, { url: `mqtts://127.0.0.1:${via.sslThrough}`, clientId: 'pp-tls', protocolVersion: 4, ca: readFileSync(ca.certFile), rejectUnauthorized: true });
  assert.equal((await shown('pp-tls')).peer, `127.0.0.1:${localPortOf(c)}`);
  await c.end();
});

test('TLS terminated by HAProxy with a client certificate: its CN (v2 SSL TLV) is the user name', { skip: missing }, async () => {
  const c = await open(0, {
    url: `mqtts://127.0.0.1:${via.tlsCn}`,
    clientId: 'pp-cn',
    protocolVersion: 5,
    ca: readFileSync(ca.certFile),
    cert: readFileSync(client.certFile),
    key: readFileSync(client.keyFile),
    rejectUnauthorized: true,
  });
  assert.deepEqual(await shown('pp-cn'), { peer: `127.0.0.1:${localPortOf(c)}`, username: 'device-7' });
  await c.end();
});

/** An MQTT client over WebSocket (a spoofed X-Forwarded-For sent along); resolves with its local port once connected. */
async function wsClient(url: string, clientId: string): Promise<{ ws: WebSocket; local: number }> {
  const ws = new WebSocket(url, 'mqtt', { headers: { 'X-Forwarded-For': '203.0.113.9', 'X-Forwarded-Port': '4444' } });
  await within(new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject)), 5000, 'the WebSocket upgrade');
  const connack = new Promise<Buffer>((resolve) => ws.once('message', (d: Buffer) => resolve(d)));
  ws.send(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean: true, keepalive: 60 } as IConnectPacket));
  assert.deepEqual([...(await within(connack, 5000, 'CONNACK'))], [0x20, 2, 0, 0]);
  return { ws, local: (ws as unknown as { _socket: Socket })._socket.localPort! };
}

test('MQTT over WebSocket behind HAProxy: the PROXY header counts, a client\'s own X-Forwarded-For does not', { skip: missing }, async () => {
  const { ws, local } = await wsClient(`ws://127.0.0.1:${via.ws}/mqtt`, 'pp-ws');
  assert.equal((await shown('pp-ws')).peer, `127.0.0.1:${local}`);
  ws.close();
});

test('WebSocket behind an HTTP reverse proxy: websocket.proxy_address_header / proxy_port_header name the client', { skip: missing }, async () => {
  const { ws, local } = await wsClient(`ws://127.0.0.1:${via.xff}/mqtt`, 'xff-ws');
  assert.equal((await shown('xff-ws')).peer, `127.0.0.1:${local}`);
  ws.close();
  // Straight to that listener, the spoofed headers are taken as written: only a proxy that
  // overwrites them may stand in front of a listener that reads them.
  const direct = await wsClient(`ws://127.0.0.1:${port.wsHttp}/mqtt`, 'xff-direct');
  assert.equal((await shown('xff-direct')).peer, '203.0.113.9:4444');
  direct.ws.close();
  // A listener that does not read them (the default) shows the connection's own address.
  const plain = await wsClient(`ws://127.0.0.1:${port.wsPlain}/mqtt`, 'xff-ignored');
  assert.equal((await shown('xff-ignored')).peer, `127.0.0.1:${plain.local}`);
  plain.ws.close();
});

test('straight to the listener: no header, a malformed one, or none within proxy_protocol_timeout: closed', { skip: missing }, async () => {
  const closedAfter = (bytes: Buffer | undefined): Promise<{ ms: number; got: number }> =>
    within(
      new Promise((resolve) => {
        const t0 = Date.now();
        let got = 0;
        const s = netConnect({ host: '127.0.0.1', port: port.tcp }, () => {
          if (bytes) s.write(bytes);
        });
        s.on('data', (d: Buffer) => (got += d.length));
        s.on('error', () => undefined);
        s.on('close', () => resolve({ ms: Date.now() - t0, got }));
      }),
      10_000,
      'the broker to close the connection',
    );
  // A plain MQTT client: its CONNECT is not a header; nothing is answered.
  const plain = await closedAfter(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'direct', clean: true, keepalive: 60 } as IConnectPacket));
  assert.equal(plain.got, 0);
  assert.equal((await closedAfter(Buffer.from('PROXY TCP4 1.2.3.999 10.0.0.1 1 2\r\n'))).got, 0);
  const silent = await closedAfter(undefined);
  assert.ok(silent.ms >= 900 && silent.ms < 5000, `closed after ${silent.ms} ms (proxy_protocol_timeout = 1s)`);
  const listeners = await node.ctl(['listeners']);
  assert.match(listeners.stdout, /tcp:pp\n {2}listen_on {7}: 127\.0\.0\.1:\d+\n {2}acceptors {7}: 1\n {2}proxy_protocol {2}: true\n/);
  assert.match(listeners.stdout, /shutdown_count {2}: \[\{proxy_protocol_error,3\}\]/);
});

test('connections waiting for their PROXY header count against max_connections: silent ones cannot hold more sockets than the listener serves', { skip: missing }, async () => {
  const silent: Socket[] = [];
  const opened = (): Promise<Socket> =>
    new Promise((resolve) => {
      const s = netConnect({ host: '127.0.0.1', port: port.tcpMax }, () => resolve(s));
      s.on('error', () => undefined);
    });
  for (let i = 0; i < 2; i++) silent.push(await opened());
  // Let the listener take both before the third comes.
  await new Promise((r) => setTimeout(r, 200));
  const third = await opened();
  const closed = await within(new Promise<number>((resolve) => { const t0 = Date.now(); third.on('close', () => resolve(Date.now() - t0)); }), 3000, 'the third connection to be closed');
  assert.ok(closed < 1000, `closed after ${closed} ms, not at the 5 s header timeout`);
  assert.match((await node.ctl(['listeners'])).stdout, /tcp:ppmax\n(?:.*\n)*? {2}shutdown_count {2}: \[\{max_conns_reached,1\}\]/);
  // Once they are gone, a client with its header is served.
  for (const s of silent) s.destroy();
  await new Promise((r) => setTimeout(r, 200));
  const answered = await within(
    new Promise<number>((resolve) => {
      const s = netConnect({ host: '127.0.0.1', port: port.tcpMax }, () => {
        s.write(Buffer.concat([Buffer.from('PROXY TCP4 10.1.2.3 127.0.0.1 40000 1883\r\n'), mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'after-flood', clean: true, keepalive: 60 } as IConnectPacket)]));
      });
      s.on('data', (d: Buffer) => {
        resolve(d[0]!);
        s.destroy();
      });
      s.on('error', () => undefined);
    }),
    5000,
    'a CONNACK',
  );
  assert.equal(answered, 0x20);
});
