// Topic metrics without a node: counts per direction and QoS, drops, rates over the last seconds,
// reset, the metered set replaced without losing the counts of topics that stay, the cluster's sum.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TopicMetrics, sumTopicMetrics } from '../../src/broker/topic-metrics.js';

test('counts, rates over the last 5 seconds, reset, and a replaced set', () => {
  const tm = new TopicMetrics();
  assert.equal(tm.active, false);
  tm.add('a', 1000);
  try {
    assert.equal(tm.active, true);
    tm.published('a', 1, 2);
    tm.published('a', 0, 0);
    tm.published('b', 1, 1); // not metered
    tm.delivered('a', 1);
    tm.delivered('a', 1);
    const [row] = tm.rows();
    assert.equal(row!.metrics['messages.in.count'], 2);
    assert.equal(row!.metrics['messages.qos1.in.count'], 1);
    assert.equal(row!.metrics['messages.qos0.in.count'], 1);
    assert.equal(row!.metrics['messages.dropped.count'], 1);
    assert.equal(row!.metrics['messages.qos1.out.count'], 2);
    assert.equal(row!.metrics['messages.in.rate'], 0, 'no second has passed');
    tm.tick();
    assert.equal(tm.rows()[0]!.metrics['messages.in.rate'], 2, 'two in the first second');
    for (let i = 0; i < 5; i++) {
      tm.published('a', 2, 1);
      tm.tick();
    }
    // The window is the last 5 seconds: one message a second.
    assert.equal(tm.rows()[0]!.metrics['messages.in.rate'], 1);
    assert.equal(tm.rows()[0]!.metrics['messages.qos2.in.count'], 5);

    tm.replace(new Map([['a', 1000], ['c', 2000]]));
    assert.equal(tm.rows().find((r) => r.topic === 'a')!.metrics['messages.in.count'], 7, 'kept across a replace');
    assert.equal(tm.reset(5000, 'zzz'), false);
    assert.equal(tm.reset(5000, 'a'), true);
    const a = tm.rows().find((r) => r.topic === 'a')!;
    assert.deepEqual([a.metrics['messages.in.count'], a.metrics['messages.in.rate'], a.reset_time], [0, 0, 5000]);
    tm.replace(new Map());
    assert.equal(tm.active, false);
  } finally {
    tm.stop();
  }
});

test("the cluster's rows: each topic's counts and rates added up, the latest reset kept", () => {
  const m = (n: number): Record<string, number> => ({ 'messages.in.count': n, 'messages.in.rate': n / 10 });
  const sum = sumTopicMetrics([
    [{ topic: 'x', create_time: 5, metrics: m(1) }],
    [
      { topic: 'x', create_time: 3, reset_time: 9, metrics: m(2) },
      { topic: 'a', create_time: 1, metrics: m(4) },
    ],
  ]);
  assert.deepEqual(sum, [
    { topic: 'a', create_time: 1, metrics: m(4) },
    { topic: 'x', create_time: 3, reset_time: 9, metrics: { 'messages.in.count': 3, 'messages.in.rate': 0.3 } },
  ]);
});
