// HTTP authorization (authorization.sources type http) against a running node with real clients
// and a real HTTP service on loopback: the service decides per topic (200 allow/deny/ignore, 204,
// a 500, no answer within request_timeout), a source behind it decides what it leaves, answers
// are cached; a client's packets keep their order while one waits for the service (a PUBLISH
// held by a slow answer is delivered and acknowledged before the ones after it), and the node
// keeps serving everyone else meanwhile.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IPubackPacket, IPublishPacket, Packet } from 'mqtt-packet';
import { createTestNode, type TestNode } from '../helpers/launcher.js';
import { closeAll, open, poll, RawClient, uniq, within } from '../helpers/mqtt-client.js';
import { http, login } from '../api/http.js';
import { pubackCode, rawSession, subackCodes, writeAcl } from './helpers.js';

/** The authorization service: decides by the topic's first level, remembers what it was asked. */
async function authzService(): Promise<{ server: Server; port: number; asked: Array<Record<string, string>>; connections: () => number; revoked: Set<string> }> {
  const asked: Array<Record<string, string>> = [];
  /** Topics the service denies from now on. */
  const revoked = new Set<string>();
  let connections = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (b: Buffer) => chunks.push(b));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, string>;
      body.query_clientid = new URL(req.url ?? '/', 'http://x').searchParams.get('c') ?? '';
      asked.push(body);
      const json = (o: unknown): void => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(o));
      };
      if (revoked.has(body.topic ?? '')) return json({ result: 'deny' });
      const first = (body.topic ?? '').split('/')[0];
      switch (first) {
        case 'ok':
        case '#':
          return json({ result: 'allow' });
        case 'no':
          return json({ result: 'deny' });
        case 'nc':
          res.writeHead(204);
          return res.end();
        case 'slow':
          return setTimeout(() => json({ result: 'allow' }), 300);
        case 'never':
          return; // no answer: request_timeout
        case 'err':
          res.writeHead(500);
          return res.end('oops');
        default:
          return json({ result: 'ignore' });
      }
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, asked, connections: () => connections, revoked };
}

let mid = 1;
function publishRaw(raw: RawClient, topic: string, payload: string): number {
  const messageId = (mid = (mid % 60000) + 1);
  raw.send({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: false, dup: false, messageId } as Packet);
  return messageId;
}

describe('HTTP authorization', () => {
  let node: TestNode;
  let svc: Awaited<ReturnType<typeof authzService>>;

  before(async () => {
    svc = await authzService();
    node = await createTestNode(undefined, {
      name: 'authzhttp@127.0.0.1',
      mqtt: true,
      dashboard: true,
      conf: `authorization {
  no_match = deny
  sources = [
    {
      type = http
      method = post
      url = "http://127.0.0.1:${svc.port}/authz?c=\${clientid}"
      body {
        username = "\${username}", topic = "\${topic}", action = "\${action}", access = "\${access}"
        qos = "\${qos}", retain = "\${retain}", proto = "\${proto_name}", peer = "\${peerhost}"
      }
      request_timeout = 1s
      pool_size = 4
    },
    { type = file, path = "\${EMQX_ETC_DIR}/acl.conf" }
  ]
}`,
    });
    writeAcl(node.etcDir, '{allow, all, all, ["err/fallback", "never/fallback"]}.\n');
    await node.startOk();
  });

  after(async () => {
    await closeAll();
    RawClient.destroyAll();
    await node?.cleanup();
    svc?.server.close();
  });

  test('the service decides each filter; what it leaves (ignore, a 500, no answer) goes to the next source, then no_match', async () => {
    const raw = await rawSession(node.mqttPort!, 5, `s-${uniq()}`, { username: 'alice' });
    const codes = await subackCodes(raw, ['ok/1', 'no/1', 'nc/1', 'ign/1', 'err/fallback', 'err/other', 'never/fallback'], 1);
    assert.deepEqual(codes, [1, 0x87, 1, 0x87, 1, 0x87, 1]);
    const q = svc.asked.find((a) => a.topic === 'ok/1')!;
    assert.deepEqual(
      { action: q.action, access: q.access, qos: q.qos, retain: q.retain, username: q.username, proto: q.proto, peer: q.peer },
      { action: 'subscribe', access: '1', qos: '1', retain: 'false', username: 'alice', proto: 'MQTT', peer: '127.0.0.1' },
    );
    assert.match(q.query_clientid!, /^s-/, 'placeholders in the URL');
    // The node said why the service decided nothing, and went on serving.
    await poll(() => (node.logText().includes('authorization: the http source decided nothing') ? true : undefined), 5000, 'the log line');
    raw.destroy();
  });

  test("a PUBLISH waiting for the service holds the client's later packets: delivered and acknowledged in order", async () => {
    const port = node.mqttPort!;
    const sub = await open(port, { clientId: `sub-${uniq()}` });
    await sub.subscribe('#', { qos: 1 });
    const raw = await rawSession(port, 5, `p-${uniq()}`);
    const before = svc.asked.length;
    // slow/a waits 300 ms for its answer; ok/b and no/c are sent right behind it.
    const ids = [publishRaw(raw, 'slow/a', '1'), publishRaw(raw, 'ok/b', '2'), publishRaw(raw, 'no/c', '3')];
    raw.send({ cmd: 'pingreq' });
    const acks = await Promise.all(ids.map((id) => raw.next<IPubackPacket>((p) => p.cmd === 'puback' && p.messageId === id, 5000, `PUBACK ${id}`)));
    assert.deepEqual(
      acks.map((a) => a.reasonCode ?? 0),
      [0, 0, 0x87],
    );
    const order = raw.received.filter((p) => p.cmd === 'puback' || p.cmd === 'pingresp').map((p) => (p.cmd === 'puback' ? (p as IPubackPacket).messageId : 'ping'));
    await raw.next((p) => p.cmd === 'pingresp', 5000, 'PINGRESP');
    assert.deepEqual(raw.received.filter((p) => p.cmd === 'puback' || p.cmd === 'pingresp').map((p) => (p.cmd === 'puback' ? (p as IPubackPacket).messageId : 'ping')), [...ids, 'ping'], `acknowledgements in order (${order.join(',')})`);
    await sub.inbox.count(2, 5000);
    assert.deepEqual(sub.inbox.texts(), ['1', '2'], 'slow/a first, no/c dropped');
    const asked = svc.asked.slice(before).map((a) => `${a.action}:${a.topic}`);
    assert.deepEqual(asked, ['publish:slow/a', 'publish:ok/b', 'publish:no/c']);

    // Cached: the same topics are not asked again.
    const again = [publishRaw(raw, 'ok/b', '4'), publishRaw(raw, 'slow/a', '5')];
    await Promise.all(again.map((id) => raw.next<IPubackPacket>((p) => p.cmd === 'puback' && p.messageId === id, 5000, `PUBACK ${id}`)));
    await sub.inbox.count(4, 5000);
    assert.equal(svc.asked.length, before + 3, 'answers came from the cache');
    raw.destroy();
  });

  test('while one client waits for an answer, the others are served', async () => {
    const port = node.mqttPort!;
    const waiting = await rawSession(port, 5, `w-${uniq()}`);
    const other = await rawSession(port, 5, `o-${uniq()}`);
    const held = publishRaw(waiting, 'never/x', 'held');
    const t0 = Date.now();
    // The other client's round trips go on while the first waits out request_timeout (1 s).
    other.send({ cmd: 'pingreq' });
    await other.next((p) => p.cmd === 'pingresp', 500, "the other client's PINGRESP");
    assert.ok(Date.now() - t0 < 500);
    const ack = await waiting.next<IPubackPacket>((p) => p.cmd === 'puback' && p.messageId === held, 5000, 'PUBACK after the timeout');
    assert.equal(ack.reasonCode, 0x87, 'no answer: no_match = deny');
    assert.ok(Date.now() - t0 >= 900, 'answered after request_timeout');
    waiting.destroy();
    other.destroy();
  });

  test('checks of many clients at once share pool_size connections to the service', async () => {
    const port = node.mqttPort!;
    const clients = await Promise.all(Array.from({ length: 40 }, (_, i) => rawSession(port, 5, `m${i}-${uniq()}`)));
    const before = svc.connections();
    const codes = await Promise.all(clients.map((c, i) => subackCodes(c, [`ok/many/${i}`])));
    assert.deepEqual(codes.flat(), Array.from({ length: 40 }, () => 1));
    assert.ok(svc.connections() - before <= 4, `${svc.connections() - before} new connections to the service (pool_size = 4)`);
    for (const c of clients) c.destroy();
  });

  test('the API shows the settings and sources; DELETE /authorization/cache makes clients ask again', async () => {
    const token = await login(node.dashboardPort!);
    const api = (method: string, path: string): ReturnType<typeof http> => http(node.dashboardPort!, method, `/api/v5${path}`, { token });
    const settings = await api('GET', '/authorization/settings');
    assert.deepEqual(settings.json, { no_match: 'deny', deny_action: 'ignore', cache: { enable: true, max_size: 32, ttl: '60000ms', excludes: [] } });
    const sources = (await api('GET', '/authorization/sources')).json as { sources: Array<Record<string, unknown>> };
    assert.deepEqual(
      sources.sources.map((s) => s.type),
      ['http', 'file'],
    );
    assert.equal(sources.sources[0]!.pool_size, 4);
    assert.match(String(sources.sources[1]!.rules), /err\/fallback/, "the file source's text");
    assert.equal((await api('GET', '/authorization/sources/http')).status, 200);
    assert.equal((await api('GET', '/authorization/sources/mysql')).status, 404);
    assert.equal((await api('PUT', '/authorization/settings')).status, 400);

    // The service revokes a topic: the client's cached answer still allows it, until the cache is cleaned.
    const raw = await rawSession(node.mqttPort!, 5, `r-${uniq()}`);
    assert.ok((await pubackCode(raw, 'ok/revoke')) < 0x80, 'allowed');
    svc.revoked.add('ok/revoke');
    assert.ok((await pubackCode(raw, 'ok/revoke')) < 0x80, 'cached: still allowed');
    assert.equal((await api('DELETE', '/authorization/cache')).status, 204);
    assert.equal(await pubackCode(raw, 'ok/revoke'), 0x87, 'asked again after the clean');

    // One client's cache: listed by the API, cleaned by `emqx ctl authz cache-clean <ClientId>`.
    const cid = `k-${uniq()}`;
    const one = await rawSession(node.mqttPort!, 5, cid);
    assert.ok((await pubackCode(one, 'ok/revoke2')) < 0x80);
    const cached = (await api('GET', `/clients/${cid}/authorization/cache`)).json as Array<Record<string, unknown>>;
    assert.deepEqual(
      cached.map((c) => [c.action, c.topic, c.qos, c.result]),
      [['publish', 'ok/revoke2', 1, 'allow']],
    );
    assert.equal((await api('GET', '/clients/nobody/authorization/cache')).status, 404);
    svc.revoked.add('ok/revoke2');
    assert.ok((await pubackCode(one, 'ok/revoke2')) < 0x80, 'cached');
    const clean = await node.ctl(['authz', 'cache-clean', cid]);
    assert.deepEqual([clean.code, clean.stdout], [0, `Drain ${cid} authz cache OK\n`]);
    assert.equal(await pubackCode(one, 'ok/revoke2'), 0x87);
    const [after] = (await api('GET', `/clients/${cid}/authorization/cache`)).json as Array<Record<string, unknown>>;
    const { updated_time: at, ...rest } = after!;
    assert.deepEqual(rest, { action: 'publish', qos: 1, retain: false, topic: 'ok/revoke2', result: 'deny' });
    assert.ok(Math.abs(Date.now() - (at as number)) < 60_000);
    assert.equal((await api('DELETE', `/clients/${cid}/authorization/cache`)).status, 204);
    assert.deepEqual((await api('GET', `/clients/${cid}/authorization/cache`)).json, []);
    const missing = await node.ctl(['authz', 'cache-clean', 'nobody']);
    assert.deepEqual([missing.code, missing.stdout], [1, 'Drain nobody authz cache FAILED\nnot_found\n']);
    const all = await node.ctl(['authz', 'cache-clean', 'all']);
    assert.deepEqual([all.code, all.stdout], [0, 'Authorization cache drain started on all nodes OK\n']);
    const self = await node.ctl(['authz', 'cache-clean', 'node', node.name]);
    assert.equal(self.code, 0, self.stdout);
    const other = await node.ctl(['authz', 'cache-clean', 'node', 'nope@127.0.0.1']);
    assert.deepEqual([other.code, other.stdout], [1, 'Authorization cache drain started on node nope@127.0.0.1 FAILED\nunknown_node\n']);
    one.destroy();
    raw.destroy();
  });

  test('a will whose topic the service refuses is dropped; one it allows is published', async () => {
    const port = node.mqttPort!;
    const sub = await open(port, { clientId: `ws-${uniq()}` });
    await sub.subscribe('ok/will/#', { qos: 1 });
    await sub.subscribe('no/will', { qos: 1 }).catch(() => undefined);
    const denied = await open(port, { clientId: `wd-${uniq()}`, will: { topic: 'no/will', payload: Buffer.from('x'), qos: 1, retain: false } });
    const allowed = await open(port, { clientId: `wa-${uniq()}`, will: { topic: 'ok/will/1', payload: Buffer.from('gone'), qos: 1, retain: false } });
    await denied.destroy();
    await allowed.destroy();
    const m = await sub.inbox.get('ok/will/1', 'gone');
    assert.equal((m.packet as IPublishPacket).topic, 'ok/will/1');
    assert.ok(!sub.inbox.messages.some((x) => x.topic === 'no/will'));
    assert.ok(svc.asked.some((a) => a.topic === 'no/will' && a.action === 'publish'));
  });

  test('the service stopped: checks fall through to the file and no_match, the node keeps serving', async () => {
    await within(new Promise<void>((r) => svc.server.close(() => r())), 5000, 'service close');
    svc.server.closeAllConnections();
    const raw = await rawSession(node.mqttPort!, 5, `d-${uniq()}`);
    assert.deepEqual(await subackCodes(raw, ['err/fallback', 'down/1']), [1, 0x87]);
    assert.equal((await node.ctl(['status'])).code, 0);
    raw.destroy();
  });
});

describe('HTTP authorization configuration', () => {
  test('unknown placeholders, a bad URL and a missing url are refused naming the key', async () => {
    const { convertSources } = await import('../../src/config/schema/auth-fields.js');
    const file = (p: string) => ({ ok: true as const, value: p });
    const bad = convertSources([{ type: 'http', url: 'http://127.0.0.1:1/a', body: { p: '${password}' } }, { type: 'file', path: '/x' }], file);
    assert.equal(bad.ok, false);
    assert.match((bad as { reason: string }).reason, /\[1\] body\.p: unknown placeholder \$\{password\}/);
    const noUrl = convertSources([{ type: 'http' }], file);
    assert.match((noUrl as { reason: string }).reason, /url.*is required/);
    const ftp = convertSources([{ type: 'http', url: 'ftp://x/' }], file);
    assert.match((ftp as { reason: string }).reason, /not an http:\/\/ or https:\/\/ URL/);
    const good = convertSources([{ type: 'http', method: 'get', url: 'http://127.0.0.1:1/a?t=${topic}', pool_size: 8, connect_timeout: '5s' }], file);
    assert.equal(good.ok, true);
    assert.deepEqual((good as { value: unknown[] }).value[0], { type: 'http', enable: true, method: 'get', url: 'http://127.0.0.1:1/a?t=${topic}', headers: {}, body: {}, request_timeout: 30_000, pool_size: 8 });
  });

  test('every placeholder the config allows is filled in', async () => {
    const { AUTHZ_HTTP_VARS } = await import('../../src/config/schema/auth-fields.js');
    const { authzVars } = await import('../../src/auth/authz/http-source.js');
    const vars = authzVars({ clientid: 'c', username: 'u', peerhost: '127.0.0.1', protoName: 'MQTT', mountpoint: 'm/', certCommonName: 'cn' }, { type: 'publish', qos: 1, retain: true }, 't/1');
    for (const v of AUTHZ_HTTP_VARS) assert.notEqual(vars(v), undefined, v);
    assert.equal(vars('access'), '2');
  });
});
