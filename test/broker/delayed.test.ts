// Delayed publish without sockets: the `$delayed/<seconds>/<topic>` rules (EMQX's emqx_delayed),
// the schedule on a fake clock, the limit, deletes, which node publishes a row, and the broker's
// answer to the publisher.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLog } from '../../src/base/log.js';
import { LogLimiter } from '../../src/base/log-limit.js';
import { newCounters } from '../../src/base/metrics.js';
import { Broker } from '../../src/broker/broker.js';
import { DelayedPublisher, type DelayedRow, type DelayedStorage } from '../../src/broker/delayed.js';
import { MAX_DELAY_S, parseDelayedTopic } from '../../src/broker/delayed-topic.js';
import { validateConfig } from '../../src/config/schema.js';
import type { Paths } from '../../src/config/types.js';
import type { Message } from '../../src/mqtt/port.js';
import { RC } from '../../src/mqtt/reason-codes.js';
import { validateTopicName } from '../../src/mqtt/topic.js';
import { prng } from '../helpers/prng.js';
import { publishesHere } from '../../src/router/delayed-store.js';

const T0 = 1_800_000_000_000;

function msg(topic: string, extra: Partial<Message> = {}): Message {
  return { topic, payload: Buffer.from('p'), qos: 1, retain: false, from: 'pub', timestamp: T0, expiresAt: Number.POSITIVE_INFINITY, ...extra };
}

test('$delayed topics: seconds, a Unix time from 4294967 on, and what is refused', () => {
  assert.deepEqual(parseDelayedTopic('$delayed/15/x/y', T0, 128), { ok: true, topic: 'x/y', dueAt: T0 + 15_000, interval: 15 });
  assert.deepEqual(parseDelayedTopic('$delayed/0/a', T0, 128), { ok: true, topic: 'a', dueAt: T0, interval: 0 });
  // EMQX's example: a delayed message to a $SYS topic.
  assert.equal((parseDelayedTopic('$delayed/3600/$SYS/topic', T0, 128) as { topic: string }).topic, '$SYS/topic');
  // From MAX_DELAY_S on, the number is the Unix time in seconds to publish at.
  const at = T0 / 1000 + 60;
  assert.deepEqual(parseDelayedTopic(`$delayed/${at}/t`, T0, 128), { ok: true, topic: 't', dueAt: at * 1000, interval: 60 });
  // A time already past goes out at once.
  assert.deepEqual(parseDelayedTopic(`$delayed/${MAX_DELAY_S}/t`, T0, 128), { ok: true, topic: 't', dueAt: T0, interval: 0 });
  const refused = (t: string): string => {
    const r = parseDelayedTopic(t, T0, 3);
    assert.equal(r.ok, false, t);
    return (r as { why: string }).why;
  };
  assert.match(refused('$delayed/10'), /names no topic/);
  assert.match(refused('$delayed/ten/t'), /not a whole number of seconds/);
  assert.match(refused('$delayed/-5/t'), /not a whole number/);
  assert.match(refused('$delayed/1.5/t'), /not a whole number/);
  assert.match(refused('$delayed/10/'), /empty/);
  assert.match(refused('$delayed/10/a/b/c/d'), /levels/);
  assert.match(refused(`$delayed/${T0 / 1000 + MAX_DELAY_S + 10}/t`), /more than 4294967 s ahead/);
});

/** A storage in memory that reports its writes back like the replicated table (after a turn). */
class MemoryStorage implements DelayedStorage {
  readonly rows = new Map<string, DelayedRow>();
  constructor(private readonly target: () => DelayedPublisher) {}
  async put(row: DelayedRow): Promise<void> {
    this.rows.set(row.id, row);
    await Promise.resolve();
    this.target().applied(row.id, row);
  }
  async delete(id: string): Promise<void> {
    this.rows.delete(id);
    await Promise.resolve();
    this.target().applied(id, undefined);
  }
  all(): Iterable<DelayedRow> {
    return this.rows.values();
  }
}

function publisher(now: { t: number }, max = 0, banned: string[] = []): { d: DelayedPublisher; out: Message[] } {
  const out: Message[] = [];
  const d = new DelayedPublisher({ node: 'n1@h', log: silentLog, config: { enable: true, max_delayed_messages: max }, publish: (m) => out.push(m), isBanned: (id) => banned.includes(id), now: () => now.t });
  return { d, out };
}

test('delayed messages go out when due, soonest first, once, with the expiry counted from then', async () => {
  const now = { t: T0 };
  const { d, out } = publisher(now);
  d.take(msg('$delayed/20/b'), 'alice', 128);
  d.take(msg('$delayed/10/a', { expiresAt: T0 + 5000 }), undefined, 128);
  d.take(msg('$delayed/30/c'), undefined, 128);
  assert.equal(d.size, 3);
  assert.deepEqual(d.list().map((r) => r.msg.topic), ['a', 'b', 'c']);
  assert.equal(d.list()[1]!.username, 'alice');
  now.t = T0 + 9_999;
  assert.equal(d.publishDue(), 0);
  now.t = T0 + 20_000;
  assert.equal(d.publishDue(), 2);
  assert.deepEqual(out.map((m) => m.topic), ['a', 'b']);
  // Its 5 s expiry runs from the moment it goes out, not from the original publish.
  assert.equal(out[0]!.timestamp, T0 + 20_000);
  assert.equal(out[0]!.expiresAt, T0 + 25_000);
  assert.equal(out[1]!.expiresAt, Number.POSITIVE_INFINITY);
  assert.equal(d.publishDue(), 0, 'nothing twice');
  assert.equal(d.size, 1);
  d.stop();
});

test('the timer publishes on its own; a message of a banned publisher is dropped', async () => {
  const now = { t: Date.now() };
  const { d, out } = publisher(now, 0, ['villain']);
  d.take(msg('$delayed/0/now'), undefined, 128);
  d.take(msg('$delayed/0/never', { from: 'villain' }), undefined, 128);
  const deadline = Date.now() + 2000;
  while (out.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(out.map((m) => m.topic), ['now']);
  assert.equal(d.size, 0);
  d.stop();
});

test('max_delayed_messages, deletes by id and by topic', async () => {
  const now = { t: T0 };
  const { d } = publisher(now, 3);
  for (const t of ['x', 'y', 'x']) assert.equal(d.take(msg(`$delayed/60/${t}`), undefined, 128).kind, 'stored');
  assert.equal(d.take(msg('$delayed/60/z'), undefined, 128).kind, 'full');
  // Taken in the same millisecond: listed by due time, then id, so pick the one to delete by topic.
  const first = d.list().find((r) => r.msg.topic === 'x')!;
  assert.match(first.id, /^[0-9A-F]{32}$/);
  assert.equal(await d.delete(first.id), true);
  assert.equal(await d.delete(first.id), false);
  assert.equal(await d.deleteTopic('x'), 1);
  assert.equal(await d.deleteTopic('x'), 0);
  assert.deepEqual(d.list().map((r) => r.msg.topic), ['y']);
  d.stop();
});

test('a write reported back after the message went out does not bring it back (no second publish)', async () => {
  const now = { t: T0 };
  const { d, out } = publisher(now);
  // The replicated table reports a write once it is durable, in order: here by hand.
  const reports: Array<() => void> = [];
  const rows = new Map<string, DelayedRow>();
  d.attachStorage(
    {
      put: async (row) => {
        rows.set(row.id, row);
        reports.push(() => d.applied(row.id, row));
      },
      delete: async (id) => {
        rows.delete(id);
        reports.push(() => d.applied(id, undefined));
      },
      all: () => rows.values(),
    },
    () => true,
  );
  assert.equal(d.take(msg('$delayed/0/t'), undefined, 128).kind, 'stored');
  // Due at once: out before the table reports the write that stored it.
  assert.equal(d.publishDue(), 1);
  reports.shift()!();
  assert.equal(d.publishDue(), 0, 'the late report of the put must not schedule it again');
  reports.shift()!();
  assert.equal(out.length, 1);
  assert.equal(d.size, 0);
  assert.equal(rows.size, 0);
  d.stop();
});

test("rows of other nodes are theirs, until their node is no longer a member; then the first running member's", async () => {
  const members = new Set(['a@h', 'b@h', 'c@h']);
  let running = ['a@h', 'b@h', 'c@h'];
  const view = (self: string) => ({ self, isMember: (n: string) => members.has(n), running: () => running });
  assert.equal(publishesHere({ node: 'b@h' }, view('b@h')), true);
  assert.equal(publishesHere({ node: 'c@h' }, view('a@h')), false);
  running = ['a@h', 'b@h'];
  assert.equal(publishesHere({ node: 'c@h' }, view('a@h')), false, 'only down: its node publishes it when back');
  members.delete('c@h');
  assert.equal(publishesHere({ node: 'c@h' }, view('a@h')), true);
  assert.equal(publishesHere({ node: 'c@h' }, view('b@h')), false);
  running = ['b@h'];
  assert.equal(publishesHere({ node: 'c@h' }, view('b@h')), true);

  // The publisher follows: c's row waits until responsibility changes, then goes out here.
  const now = { t: T0 + 60_000 };
  const { d, out } = publisher(now);
  let mine = false;
  const storage = new MemoryStorage(() => d);
  storage.rows.set('C'.repeat(32), { id: 'C'.repeat(32), node: 'c@h', dueAt: T0, interval: 0, msg: msg('orphan') });
  d.attachStorage(storage, (r) => r.node === 'n1@h' || mine);
  assert.equal(d.publishDue(), 0);
  mine = true;
  d.responsibilityChanged();
  assert.equal(d.publishDue(), 1);
  assert.deepEqual(out.map((m) => m.topic), ['orphan']);
  d.stop();
});

test('the broker takes $delayed publishes (not routed, not retained), refuses bad ones, and counts them', () => {
  const paths: Paths = { root: '/opt/emqx', etc_dir: '/opt/emqx/etc', conf_file: '/opt/emqx/etc/emqx.conf', log_dir: '/opt/emqx/log', ssl_dist_optfile: '/opt/emqx/etc/ssl_dist.conf' };
  const r = validateConfig({ node: { cookie: 'x' }, delayed: { max_delayed_messages: 1 } }, { paths, env: {} });
  assert.deepEqual(r.problems, []);
  const c = r.config!;
  assert.deepEqual(c.delayed, { enable: true, max_delayed_messages: 1 });
  const counters = newCounters();
  const b = new Broker({ counters, log: silentLog, limited: new LogLimiter(silentLog), mqtt: c.mqtt, retainer: c.retainer, delayed: c.delayed });
  assert.deepEqual(b.publish(msg('$delayed/60/t', { retain: true })), { matched: 0 });
  assert.equal(b.retainer.size, 0, 'the $delayed topic itself is not retained');
  assert.equal(b.delayed.size, 1);
  assert.equal(counters['messages.delayed'], 1);
  assert.equal(counters['messages.publish'], 0);
  assert.equal(b.publish(msg('$delayed/60/u')).refused, RC.quotaExceeded);
  assert.equal(b.publish(msg('$delayed/soon/u')).refused, RC.topicNameInvalid);
  assert.equal(b.stats()['delayed.count'], 1);
  // Off: a $delayed topic is an ordinary topic again; what was taken stays.
  b.reconfigure({ mqtt: c.mqtt, retainer: c.retainer, delayed: { enable: false, max_delayed_messages: 1 } });
  assert.equal(b.publish(msg('$delayed/60/v')).refused, undefined);
  assert.equal(b.delayed.size, 1);
  b.stop();
});

test('generated $delayed topics: parsing never throws; an accepted one names a valid topic, due within the longest delay', () => {
  const rand = prng(7);
  const parts = ['$delayed', '10', '0', '4294967', String(T0 / 1000 + 5), '-1', '1e3', 'x', '', '+', '#', 'a', '9'.repeat(20)];
  for (let i = 0; i < 20_000; i++) {
    const topic = Array.from({ length: 1 + Math.floor(rand() * 5) }, () => parts[Math.floor(rand() * parts.length)]!).join('/');
    const r = parseDelayedTopic(topic.startsWith('$delayed/') ? topic : `$delayed/${topic}`, T0, 128);
    if (!r.ok) continue;
    assert.equal(validateTopicName(r.topic, 128), undefined, r.topic);
    assert.ok(r.dueAt >= T0 && r.dueAt <= T0 + MAX_DELAY_S * 1000, `${topic}: due ${r.dueAt - T0} ms ahead`);
  }
});
