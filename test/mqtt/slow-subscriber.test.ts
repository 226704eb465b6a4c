// Bounded memory per client against a running node: subscribers that stop reading while 100,000
// QoS 1 messages are published. The node's RSS stays bounded, mqtt.max_inflight and
// mqtt.max_mqueue_len are honoured (the oldest queued messages are dropped), the drops are counted
// in `delivery.dropped.queue_full` and logged once per client per interval, and a healthy
// subscriber on the same topic gets every message while a third client's round trips stay quick.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqttPacket from 'mqtt-packet';
import type { TestNode } from '../helpers/launcher.js';
import { closeAll, open, parseTable, poll, RawClient, startMqttNode, uniq, within } from '../helpers/mqtt-client.js';

const MESSAGES = 100_000;
const PAYLOAD = 4096;
const MAX_INFLIGHT = 20;
const MAX_MQUEUE_LEN = 500;
/**
 * The node's RSS may grow by at most this much during the flood (≈ 400 MiB of payload passing
 * through). Bounded, each stalled subscriber holds MAX_INFLIGHT + MAX_MQUEUE_LEN messages plus at
 * most a 1 MiB socket backlog; the rest is garbage the collector has not taken back yet
 * (measured: +30 to +105 MiB). Unbounded (max_mqueue_len = 0, same run) the peak was +490 MiB.
 */
const RSS_GROWTH_BOUND = 200 * 1024 * 1024;

let node: TestNode;
let port: number;

before(async () => {
  node = await startMqttNode({
    name: 'mqttslow@127.0.0.1',
    mqtt: true,
    env: { EMQX_MQTT__MAX_INFLIGHT: String(MAX_INFLIGHT), EMQX_MQTT__MAX_MQUEUE_LEN: String(MAX_MQUEUE_LEN) },
  });
  port = node.mqttPort!;
});

after(async () => {
  await closeAll();
  RawClient.destroyAll();
  await node?.cleanup();
});

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, `no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/**
 * Publishes `n` QoS 1 messages on one raw connection, in batches, never more than `ahead` ahead of
 * what `consumed()` says a keeping-up subscriber has received (so that subscriber's own queue
 * never overflows: the flood is as fast as a healthy consumer, and stalled ones fall behind).
 * Resolves once every PUBACK is in.
 */
async function flood(topic: string, n: number, consumed: () => number, waitConsumed: (count: number) => Promise<void>, ahead: number): Promise<void> {
  const { raw } = await RawClient.session(port, 4, `flood-${uniq()}`);
  const payload = Buffer.alloc(PAYLOAD, 0x61);
  const acks = (): number => raw.received.length - 1;
  const batch = 100;
  for (let i = 0; i < n; i += batch) {
    if (i - consumed() > ahead) await waitConsumed(i - ahead);
    const bufs: Buffer[] = [];
    for (let j = i; j < Math.min(n, i + batch); j++) {
      bufs.push(mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.concat([Buffer.from(`${j}:`), payload]), qos: 1, messageId: (j % 65535) + 1, retain: false, dup: false }));
    }
    if (!raw.socket.write(Buffer.concat(bufs))) await within(new Promise((r) => raw.socket.once('drain', r)), 30_000, 'the publisher socket to drain');
  }
  await raw.until(() => acks() >= n, 60_000, `${n} PUBACKs`);
  raw.destroy();
}

test(`two subscribers stop reading while ${MESSAGES} QoS 1 messages are published: memory bounded, limits honoured, drops counted and logged once, others unaffected`, async (t) => {
  const topic = `slow/${uniq()}`;
  const pid = node.pid!;
  // QoS 1 subscriber that never acknowledges and stops reading; v5 so Receive Maximum would allow more.
  const slowId = `slow1-${uniq()}`;
  const { raw: slow1 } = await RawClient.session(port, 5, slowId);
  slow1.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
  await slow1.next((p) => p.cmd === 'suback', 5000, 'SUBACK');
  slow1.stopReading();
  // QoS 0 subscriber that stops reading: the node's socket backlog fills, then its queue.
  const slow0Id = `slow0-${uniq()}`;
  const { raw: slow0 } = await RawClient.session(port, 4, slow0Id);
  slow0.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 0 }] });
  await slow0.next((p) => p.cmd === 'suback', 5000, 'SUBACK');
  slow0.stopReading();
  // A healthy subscriber on the same topic and a client doing round trips on another.
  const healthy = await open(port, { protocolVersion: 5 });
  await healthy.subscribe(topic, { qos: 1 });
  const pinger = await open(port, { protocolVersion: 5 });
  const echo = `slow/echo/${uniq()}`;
  await pinger.subscribe(echo, { qos: 1 });

  const before = parseTable((await node.ctl(['broker', 'metrics'])).stdout).get('delivery.dropped.queue_full') ?? 0;
  const baseline = rssOf(pid);
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssOf(pid));
  }, 100);
  const roundTrips: number[] = [];
  let flooding = true;
  const pings = (async () => {
    for (let i = 0; flooding; i++) {
      const t0 = performance.now();
      await pinger.publish(echo, `e${i}`, { qos: 1 });
      await pinger.inbox.get(echo, `e${i}`, 10_000);
      roundTrips.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const started = performance.now();
  try {
    const inbox = healthy.inbox;
    await flood(topic, MESSAGES, () => inbox.messages.length, (k) => inbox.until(() => inbox.messages.length >= k, 30_000, `the healthy subscriber to reach ${k}`), MAX_MQUEUE_LEN - 100);
    await inbox.count(MESSAGES, 30_000);
  } finally {
    flooding = false;
    clearInterval(sampler);
  }
  await pings;
  const elapsed = performance.now() - started;
  peak = Math.max(peak, rssOf(pid));
  const growth = peak - baseline;
  t.diagnostic(`flood of ${MESSAGES} in ${Math.round(elapsed)} ms; RSS ${Math.round(baseline / 2 ** 20)} MiB → peak ${Math.round(peak / 2 ** 20)} MiB (+${Math.round(growth / 2 ** 20)} MiB); round trips max ${Math.round(Math.max(...roundTrips))} ms over ${roundTrips.length}`);
  assert.ok(growth < RSS_GROWTH_BOUND, `RSS grew by ${Math.round(growth / 2 ** 20)} MiB (bound ${RSS_GROWTH_BOUND / 2 ** 20} MiB)`);

  // The healthy subscriber got everything, in order.
  const texts = healthy.inbox.messages;
  for (let i = 0; i < MESSAGES; i += 997) assert.ok(texts[i]!.payload.toString().startsWith(`${i}:`), `message ${i}`);
  assert.ok(texts[MESSAGES - 1]!.payload.toString().startsWith(`${MESSAGES - 1}:`));
  assert.ok(roundTrips.length > 0 && Math.max(...roundTrips) < 3000, `round trips: ${roundTrips.map(Math.round).join(', ')}`);

  // Limits: the QoS 1 subscriber has max_inflight messages in flight and max_mqueue_len queued.
  const show1 = (await node.ctl(['clients', 'show', slowId])).stdout;
  assert.match(show1, new RegExp(`inflight=${MAX_INFLIGHT}, .*enqueued_msgs=${MAX_MQUEUE_LEN}, dropped_msgs=${MESSAGES - MAX_INFLIGHT - MAX_MQUEUE_LEN},`), show1);
  const show0 = (await node.ctl(['clients', 'show', slow0Id])).stdout;
  const dropped0 = Number(/dropped_msgs=(\d+)/.exec(show0)?.[1]);
  assert.match(show0, new RegExp(`enqueued_msgs=${MAX_MQUEUE_LEN},`), show0);
  assert.ok(dropped0 > MESSAGES / 2, show0);
  const metrics = parseTable((await node.ctl(['broker', 'metrics'])).stdout);
  assert.equal(metrics.get('delivery.dropped.queue_full')! - before, MESSAGES - MAX_INFLIGHT - MAX_MQUEUE_LEN + dropped0);

  // Logged once per client per interval: one line at the first drop, one summary when the interval ends.
  const lines = (): Array<Record<string, unknown>> =>
    readFileSync(join(node.logDir, 'emqx.log'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('message queue full'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const forSlow1 = (): Array<Record<string, unknown>> => lines().filter((l) => l.clientid === slowId);
  const first = forSlow1();
  assert.ok(first.length >= 1 && first.length <= 1 + Math.ceil(elapsed / 10_000), `${first.length} lines in ${Math.round(elapsed)} ms`);
  const summary = await poll(() => forSlow1().find((l) => typeof l.suppressed === 'number'), 15_000, 'the summary line of the suppressed warnings');
  assert.ok((summary.suppressed as number) > 1000, JSON.stringify(summary));

  // The stalled subscriber reads again: it gets the first max_inflight and the newest max_mqueue_len messages.
  slow1.socket.resume();
  const want = MAX_INFLIGHT + MAX_MQUEUE_LEN;
  let acked = 0;
  await slow1.until(
    () => {
      const ps = slow1.publishes();
      for (; acked < ps.length; acked++) slow1.send({ cmd: 'puback', messageId: ps[acked]!.messageId! });
      return new Set(ps.map((p) => p.payload.toString().split(':')[0])).size >= want;
    },
    30_000,
    `${want} PUBLISH after reading again`,
  );
  // Past mqtt.retry_interval the in-flight ones may have been resent too (DUP): count each once.
  const got = [...new Set(slow1.publishes().map((p) => Number(p.payload.toString().split(':')[0])))];
  assert.equal(got.length, want);
  assert.deepEqual(got.slice(0, MAX_INFLIGHT), Array.from({ length: MAX_INFLIGHT }, (_, i) => i));
  assert.deepEqual(got.slice(MAX_INFLIGHT), Array.from({ length: MAX_MQUEUE_LEN }, (_, i) => MESSAGES - MAX_MQUEUE_LEN + i));
});
