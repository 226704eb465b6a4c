// The API's pure pieces: tokens, the failure limit, the Prometheus text, the bootstrap file, the
// /monitor samples, EMQX's size and time formats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { signToken, verifyToken } from '../../src/api/auth/token.js';
import { FailureLimiter } from '../../src/api/auth/rate-limit.js';
import { checkName, parseBootstrapFile } from '../../src/api/auth/api-keys.js';
import { formatPrometheus, promName } from '../../src/api/format/prometheus.js';
import { Monitor, mergeSamples, type Reading } from '../../src/api/cluster/monitor.js';
import { kmg, parseTime } from '../../src/api/format/time.js';
import { splitPeer } from '../../src/api/format/clients.js';
import { checkSampleInterval } from '../../src/api/node-part.js';
import { MQueue } from '../../src/broker/mqueue.js';
import { parsePosition, positionOf } from '../../src/api/format/client-messages.js';
import type { Delivery } from '../../src/mqtt/port.js';
import { boundaryOf, filePart } from '../../src/api/format/multipart.js';

test('tokens: signed, expiring, bound to the key', () => {
  const key = randomBytes(32);
  const { token, claims } = signToken(key, 'admin', 'hash', 1000, 60_000);
  const ok = verifyToken(key, token, 2000);
  assert.ok(ok.ok);
  assert.deepEqual(ok.ok && ok.claims, claims);
  assert.deepEqual(verifyToken(key, token, 61_000), { ok: false, reason: 'expired' });
  assert.deepEqual(verifyToken(randomBytes(32), token, 2000), { ok: false, reason: 'bad_signature' });
  const [p, s] = token.split('.');
  const tampered = `${Buffer.from(JSON.stringify({ ...claims, u: 'root' })).toString('base64url')}.${s}`;
  assert.deepEqual(verifyToken(key, tampered, 2000), { ok: false, reason: 'bad_signature' });
  for (const bad of ['', 'x', `${p}`, `${p}.${s}.x`, 'a'.repeat(5000)]) assert.equal(verifyToken(key, bad, 2000).ok, false);
});

test('the failure limit: per address, a window, bounded memory', () => {
  const l = new FailureLimiter({ max: 3, windowMs: 1000, maxSources: 2 });
  for (let i = 0; i < 3; i++) l.fail('a', 100 + i);
  assert.equal(l.blockedFor('a', 200), 900);
  assert.equal(l.blockedFor('b', 200), 0);
  assert.equal(l.blockedFor('a', 1101), 0);
  l.fail('b', 300);
  l.fail('c', 300);
  l.fail('d', 300);
  assert.equal(l.blockedFor('a', 400), 0, 'the oldest address is forgotten past maxSources');
  l.fail('x', 0);
  l.succeed('x');
  assert.equal(l.blockedFor('x', 1), 0);
});

test('API key names and the bootstrap file', () => {
  assert.equal(checkName('EMQX-API-KEY-1'), undefined);
  assert.match(checkName('1abc')!, /Name should be/);
  assert.match(checkName('x'.repeat(257))!, /=< 256/);
  assert.deepEqual(parseBootstrapFile('k1:s1\n\n  k2:s2:administrator  \nbroken\n'), {
    keys: [
      { apiKey: 'k1', secret: 's1' },
      { apiKey: 'k2', secret: 's2' },
    ],
    errors: ['line 4: expected key:secret'],
  });
});

test("Prometheus text: EMQX's names, modes, parseable", () => {
  assert.equal(promName('packets.connect.received'), 'emqx_packets_connect');
  assert.equal(promName('messages.received'), 'emqx_messages_received');
  assert.equal(promName('connections.count'), 'emqx_connections_count');
  const figures = (n: number) => ({ stats: { 'connections.count': n }, metrics: { 'messages.received': 10 * n }, vm: { used_memory: n }, cluster: { nodes_running: 2, nodes_stopped: 0 } });
  const nodes = [
    { node: 'a@h', figures: figures(1) },
    { node: 'b"x@h', figures: figures(2) },
  ];
  const agg = parsePrometheusTextFormat(formatPrometheus('all_nodes_aggregated', nodes));
  const get = (fs: ReturnType<typeof parsePrometheusTextFormat>, name: string) => fs.find((f) => f.name === name)!;
  assert.deepEqual(get(agg, 'emqx_connections_count').metrics.map((m) => m.value), ['3']);
  assert.equal(get(agg, 'emqx_messages_received').type, 'COUNTER');
  assert.deepEqual(get(agg, 'emqx_vm_used_memory').metrics.map((m) => m.labels?.node), ['a@h', 'b"x@h']);
  const un = parsePrometheusTextFormat(formatPrometheus('all_nodes_unaggregated', nodes));
  assert.equal(get(un, 'emqx_connections_count').metrics.length, 2);
  const one = parsePrometheusTextFormat(formatPrometheus('node', [nodes[0]!]));
  assert.deepEqual(get(one, 'emqx_connections_count').metrics, [{ value: '1' }]);
});

test('/monitor samples: deltas per interval, aligned, merged across nodes', () => {
  const r = (received: number, connections = 1): Reading => ({ received, sent: received * 2, dropped: 0, connections, live_connections: connections, subscriptions: 0, topics: 0, retained_msg_count: 0, shared_subscriptions: 0 });
  const m = new Monitor(1000);
  m.take(10_000, r(5));
  m.take(11_000, r(15));
  m.take(12_000, r(18));
  assert.deepEqual(m.samples(12_000).map((s) => [s.time_stamp, s.received, s.sent]), [
    [11_000, 10, 20],
    [12_000, 3, 6],
  ]);
  assert.equal(m.current().received_msg_rate, 3);
  assert.deepEqual(m.samples(12_000, 0.5).map((s) => s.time_stamp), [12_000]);
  const merged = mergeSamples([m.samples(12_000), m.samples(12_000)]);
  assert.deepEqual(merged.map((s) => [s.time_stamp, s.received, s.connections]), [
    [11_000, 20, 2],
    [12_000, 6, 2],
  ]);
});

test("EMQX's formats and checks", () => {
  assert.equal(kmg(512), '512');
  assert.equal(kmg(3 * 1024 * 1024), '3.00M');
  assert.equal(parseTime('1700000000000'), 1700000000000);
  assert.equal(parseTime('2024-01-30T15:24:39.355+08:00'), Date.parse('2024-01-30T15:24:39.355+08:00'));
  assert.equal(parseTime('yesterday'), undefined);
  assert.deepEqual(splitPeer('[::1]:1883'), { ip: '::1', port: 1883 });
  assert.deepEqual(splitPeer('10.0.0.1:5'), { ip: '10.0.0.1', port: 5 });
  checkSampleInterval(10_000);
  assert.throws(() => checkSampleInterval(7000), /divisor of 60/);
  assert.throws(() => checkSampleInterval(120_000), /between 1 and 60/);
});

test('a queue paged by position while it moves: wrap-around, growth, drops; positions read back', () => {
  const q = new MQueue(20);
  const d = (i: number): Delivery => ({ msg: { topic: `t/${i}`, payload: Buffer.from(`p${i}`), qos: 1, retain: false, from: 'c', timestamp: 1000 + i, expiresAt: Infinity }, qos: 1, retain: false });
  const topics = (after: number, limit: number): string[] => q.page(after, limit).entries.map((e) => e.d.msg.topic);
  assert.deepEqual(q.page(-1, 10), { entries: [], start: undefined });
  for (let i = 0; i < 10; i++) q.push(d(i));
  for (let i = 0; i < 7; i++) q.shift();
  // The head is in the middle of the ring now; pushing past its end wraps, then grows it.
  for (let i = 10; i < 30; i++) q.push(d(i));
  assert.equal(q.length, 20);
  assert.equal(q.dropped, 3);
  assert.equal(q.page(-1, 1).start, 10);
  assert.deepEqual(topics(-1, 3), ['t/10', 't/11', 't/12']);
  assert.deepEqual(topics(12, 2), ['t/13', 't/14']);
  assert.deepEqual(topics(27, 100), ['t/28', 't/29']);
  assert.deepEqual(topics(29, 100), []);
  // A position older than the queue (its entries were sent meanwhile) starts at the oldest.
  assert.deepEqual(topics(3, 1), ['t/10']);
  // Every entry, page by page, exactly once.
  const all: string[] = [];
  for (let after = -1, n = 0; n < 10; n++) {
    const p = q.page(after, 6).entries;
    if (p.length === 0) break;
    all.push(...p.map((e) => e.d.msg.topic));
    after = p.at(-1)!.seq;
  }
  assert.deepEqual(all, Array.from({ length: 20 }, (_, i) => `t/${i + 10}`));

  assert.equal(positionOf('mqueue', 12), '12_0');
  assert.equal(positionOf('inflight', 12), '12');
  assert.equal(positionOf('mqueue', undefined), 'none');
  assert.equal(parsePosition('mqueue', '12_0'), 12);
  assert.equal(parsePosition('mqueue', '1710785444656449826_infinity'), undefined, 'too long for a safe integer');
  assert.equal(parsePosition('mqueue', '12_infinity'), 12);
  assert.equal(parsePosition('mqueue', 'none'), -1);
  assert.equal(parsePosition('mqueue', undefined), -1);
  for (const bad of ['12', '_0', 'x_0', '-1_0', '1_0_0']) assert.equal(parsePosition('mqueue', bad), undefined, bad);
  for (const bad of ['1_0', '', 'abc', '-1']) assert.equal(parsePosition('inflight', bad), undefined, bad);
});

test('multipart/form-data: the file part by name, its file name without a path; malformed bodies named', () => {
  const b = 'XyZ-42';
  const body = Buffer.concat([
    Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n`),
    Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="filename"; filename="C:\\\\backups\\\\emqx-export.tar.gz"\r\nContent-Type: application/gzip\r\n\r\n`),
    Buffer.from([0x1f, 0x8b, 0x0d, 0x0a, 0x00]),
    Buffer.from(`\r\n--${b}--\r\n`),
  ]);
  assert.equal(boundaryOf(`multipart/form-data; boundary=${b}`), b);
  assert.equal(boundaryOf(`multipart/form-data; charset=utf-8; boundary="${b}"`), b);
  assert.equal(boundaryOf('multipart/form-data'), undefined);
  const part = filePart(body, b, 'filename');
  assert.ok(!('error' in part));
  assert.equal(part.filename, 'emqx-export.tar.gz');
  assert.deepEqual([...part.data], [0x1f, 0x8b, 0x0d, 0x0a, 0x00]);
  assert.deepEqual(filePart(body, b, 'other'), { error: 'no other part in the body' });
  assert.deepEqual(filePart(Buffer.from('plain'), b, 'filename'), { error: 'not a multipart/form-data body (no boundary)' });
  assert.deepEqual(filePart(body.subarray(0, body.length - 12), b, 'filename'), { error: 'the body ends inside a part' });
  assert.deepEqual(filePart(Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="filename"\r\n\r\nx\r\n--${b}--`), b, 'filename'), { error: 'the filename part carries no file name' });
});
