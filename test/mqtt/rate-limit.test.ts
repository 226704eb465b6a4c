// EMQX's listener rate limits: max_conn_rate, messages_rate, bytes_rate. Pure parts (rates, the
// bucket, a connection's read limit) with a fake clock; then a real node holding real clients to
// each rate. Timing assertions are lower bounds only: a loaded machine can only make them slower.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRate } from '../../src/config/duration.js';
import { TokenBucket } from '../../src/base/token-bucket.js';
import { ReadLimit } from '../../src/mqtt/read-limit.js';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError, formatProblem } from '../../src/config/types.js';
import { closeAll, open, startMqttNode, within } from '../helpers/mqtt-client.js';
import type { ChannelSettings } from '../../src/mqtt/channel.js';
import { installRoot } from '../helpers/install-root.js';

test("rates as EMQX writes them: <amount>/<period>, sizes for bytes, infinity", () => {
  const ok = (v: unknown, bytes = false) => {
    const r = parseRate(v, bytes);
    assert.ok(r.ok, JSON.stringify(v));
    return r.value;
  };
  assert.equal(ok('1000/s'), 1000);
  assert.equal(ok('100/10s'), 10);
  assert.equal(ok('6000/m'), 100);
  assert.equal(ok('5/500ms'), 10);
  assert.equal(ok('infinity'), Number.POSITIVE_INFINITY);
  assert.equal(ok(250), 250);
  assert.equal(ok('1MB/s', true), 1024 * 1024);
  assert.equal(ok('512KB/10s', true), 51.2 * 1024);
  for (const bad of ['fast', '1000', '0/s', '10/0s', '1MB/s', '-5/s', '10/x']) assert.equal(parseRate(bad, false).ok, false, bad);
  assert.equal(parseRate('1XB/s', true).ok, false);
});

test('a token bucket lets a burst through, then one token per 1/rate s; a debt is waited for', () => {
  const b = new TokenBucket(10, 0);
  for (let i = 0; i < 10; i++) assert.equal(b.take(1, 0), 0);
  assert.equal(b.take(1, 0), 100);
  assert.equal(b.take(1, 100), 100, 'the debt of the last take is paid by 100 ms');
  assert.equal(b.take(1, 5000), 0, 'refilled, up to the burst only');
  assert.equal(new TokenBucket(10, 0).take(30, 0), 2000, 'one large take: through, and 2 s of debt');
});

test("a connection's read limit: a PUBLISH over the rate waits (paid for), a read over the byte rate holds the next; no rate, no limit", async () => {
  const settings = (messagesRate?: number, bytesRate?: number): ChannelSettings =>
    ({ listener: 'tcp:default', port: 1883, mountpoint: '', mqtt: {} as ChannelSettings['mqtt'], ...(messagesRate ? { messagesRate } : {}), ...(bytesRate ? { bytesRate } : {}) }) as ChannelSettings;
  const quiet = { pause() {}, resume() {}, limited() {} };
  assert.equal(ReadLimit.for(settings(), quiet), undefined);
  assert.equal(ReadLimit.for(settings(Number.POSITIVE_INFINITY), quiet), undefined);
  const events: string[] = [];
  let t = 0;
  const l = ReadLimit.for(settings(100, 1000), { pause: () => events.push('pause'), resume: () => events.push('resume'), limited: (rate: string, ms: number) => events.push(`${rate} ${ms}`) }, () => t)!;
  for (let i = 0; i < 100; i++) assert.equal(l.message(), true);
  assert.equal(l.message(), false, 'the 101st in the same instant waits');
  assert.deepEqual(events, ['messages_rate 10', 'pause']);
  assert.equal(l.holding, true);
  await new Promise((r) => setTimeout(r, 40));
  assert.deepEqual(events.slice(2), ['resume']);
  assert.equal(l.holding, false);
  t = 10_000;
  l.read(1000);
  assert.equal(l.holding, false, 'a second of bytes: through');
  l.read(500);
  assert.deepEqual(events.slice(3), ['bytes_rate 500', 'pause']);
  // A message hold of 10 ms does not shorten the bytes hold of 500 ms: one resume, at the end.
  for (let i = 0; i < 101; i++) l.message();
  l.stop();
  const long = ReadLimit.for(settings(100, 1000), { pause: () => events.push('pause 2'), resume: () => events.push('resume 2'), limited() {} }, () => t)!;
  long.read(1500);
  for (let i = 0; i < 101; i++) long.message();
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(!events.includes('resume 2'), 'still held by the byte rate');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(events.filter((e) => e === 'resume 2').length, 1);
});

test('a bad rate refuses the file at its line, saying what is allowed', (t) => {
  const root = installRoot(t, 'node { name = "emqx@127.0.0.1", cookie = "c00kie" }\nlisteners.tcp.default {\n  messages_rate = "fast"\n}\n');
  try {
    loadConfig({ root, env: {} });
    assert.fail('expected the config to be refused');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.match(formatProblem(err.problems[0]!), /emqx\.conf:3:\d+: listeners\.tcp\.default\.messages_rate: 'fast': expected a rate such as 1000\/s, 100\/10s or 6000\/m, or infinity$/);
  }
});

test('on a running node: messages_rate and bytes_rate slow a fast publisher down, losing nothing; max_conn_rate spaces out connections', async (t) => {
  const node = await startMqttNode({
    name: 'mqttrate@127.0.0.1',
    mqtt: true,
    conf: 'listeners.tcp.default {\n  messages_rate = "20/s"\n  bytes_rate = "64KB/s"\n  max_conn_rate = "5/s"\n}\n',
  });
  t.after(async () => {
    await closeAll();
    await node.cleanup();
  });
  const port = node.mqttPort!;
  const sub = await open(port, { clientId: 'rate-sub' });
  await sub.subscribe('rate/#', { qos: 0 });

  // 80 small messages at once: 20 go at once (a second's worth), the other 60 at 20/s.
  const pub = await open(port, { clientId: 'rate-pub' });
  const t0 = Date.now();
  for (let i = 0; i < 80; i++) void pub.publish('rate/m', `m${i}`, { qos: 0 });
  await sub.inbox.until(() => sub.inbox.messages.length >= 80, 20_000, '80 messages');
  const messagesMs = Date.now() - t0;
  assert.deepEqual(sub.inbox.texts(), Array.from({ length: 80 }, (_, i) => `m${i}`), 'all of them, in order');
  assert.ok(messagesMs >= 2500, `80 messages at 20/s after a burst of 20 took ${messagesMs} ms (expected ~3 s)`);

  // 4 × 64 KiB at once: a second's worth goes, the rest at 64 KB/s.
  sub.inbox.messages.length = 0;
  const t1 = Date.now();
  for (let i = 0; i < 4; i++) void pub.publish('rate/b', Buffer.alloc(64 * 1024, i), { qos: 0 });
  await sub.inbox.until(() => sub.inbox.messages.length >= 4, 20_000, '4 large messages');
  const bytesMs = Date.now() - t1;
  assert.ok(bytesMs >= 1500, `256 KiB at 64 KB/s after a burst of 64 KB took ${bytesMs} ms (expected ~3 s)`);

  // Connections: 2 are in already (this second's budget is 5); 13 more at once wait their turn.
  const t2 = Date.now();
  const clients = await within(Promise.all(Array.from({ length: 13 }, (_, i) => open(port, { clientId: `rate-c${i}` }))), 20_000, '13 connections');
  const connMs = Date.now() - t2;
  assert.equal(clients.length, 13);
  assert.ok(connMs >= 1500, `15 connections at 5/s took ${connMs} ms (expected ~2 s)`);
});
