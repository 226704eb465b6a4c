// Topic rewrite and auto subscribe without sockets: EMQX's rule semantics (first matching filter
// decides, `$N` and client placeholders, shared prefixes kept), what the config accepts and
// refuses, and the subscriptions a client gets at connect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { autoSubscriptions } from '../../src/broker/auto-subscribe.js';
import { TopicRewriter } from '../../src/broker/topic-rewrite.js';
import { validateConfig } from '../../src/config/schema.js';
import type { Paths, RewriteRuleConfig } from '../../src/config/types.js';
import { validateFilter, validateTopicName } from '../../src/mqtt/topic.js';
import { prng } from '../helpers/prng.js';

const paths: Paths = { root: '/opt/emqx', etc_dir: '/opt/emqx/etc', conf_file: '/opt/emqx/etc/emqx.conf', log_dir: '/opt/emqx/log', ssl_dist_optfile: '/opt/emqx/etc/ssl_dist.conf' };

// EMQX's documented example rules.
const RULES: RewriteRuleConfig[] = [
  { action: 'all', source_topic: 'y/+/z/#', re: '^y/(.+)/z/(.+)$', dest_topic: 'y/z/$2' },
  { action: 'subscribe', source_topic: 'x/#', re: '^x/y/(.+)$', dest_topic: 'z/y/$1' },
  { action: 'publish', source_topic: 'x/#', re: '^x/(.+)$', dest_topic: 'x/${clientid}/$1' },
  { action: 'all', source_topic: 'u/#', re: '^u/(.+)$', dest_topic: 'users/${username}/$1' },
];

test('topic rewrite: the first rule whose filter matches decides; $N, ${clientid}, ${username}', () => {
  const r = new TopicRewriter(RULES);
  assert.equal(r.subscribe('y/a/z/b', 'c1', undefined), 'y/z/b');
  assert.equal(r.publish('y/a/z/b', 'c1', undefined), 'y/z/b');
  assert.equal(r.subscribe('x/y/123', 'c1', undefined), 'z/y/123');
  // The subscribe rule for x/# matched first and its expression did not: unchanged, no later rule.
  assert.equal(r.subscribe('x/1/2', 'c1', undefined), 'x/1/2');
  assert.equal(r.publish('x/1/2', 'c1', undefined), 'x/c1/1/2');
  assert.equal(r.publish('u/inbox', 'c1', 'alice'), 'users/alice/inbox');
  assert.equal(r.publish('nothing/here', 'c1', undefined), 'nothing/here');
  // Shared subscriptions: only the filter after the group is rewritten.
  assert.equal(r.subscribe('$share/g/x/y/9', 'c1', undefined), '$share/g/z/y/9');
  assert.equal(r.subscribe('$queue/x/y/9', 'c1', undefined), '$queue/z/y/9');
  // Filters: a wildcard filter is matched and rewritten as a filter.
  assert.equal(r.subscribe('x/y/#', 'c1', undefined), 'z/y/#');
});

test('topic rewrite never makes an invalid topic, nor widens a filter through a client id with a wildcard', () => {
  const r = new TopicRewriter([
    { action: 'all', source_topic: 'in/#', re: '^in/(.*)$', dest_topic: 'inbox/${clientid}' },
    { action: 'publish', source_topic: 'w/#', re: '^w/(.*)$', dest_topic: 'w/+/$1' },
  ]);
  assert.equal(r.subscribe('in/x', 'dev1', undefined), 'inbox/dev1');
  assert.equal(r.subscribe('in/x', '#', undefined), 'in/x');
  assert.equal(r.publish('w/a', 'c', undefined), 'w/a', 'a PUBLISH topic with a wildcard: left as it was');
  assert.equal(new TopicRewriter([]).rewritesPublish, false);
});

test('auto subscribe: placeholders filled, a topic with ${username} skipped without one, wildcard ids refused', () => {
  const topics = [
    { topic: 'c/${clientid}', qos: 1, rh: 0, rap: 0, nl: 0 },
    { topic: 'u/${username}/#', qos: 2, rh: 2, rap: 1, nl: 1 },
    { topic: 'from/${host}/${port}', qos: 0, rh: 0, rap: 0, nl: 0 },
  ];
  assert.deepEqual(autoSubscriptions(topics, { clientId: 'dev1', username: 'alice', peer: '127.0.0.1:5555' }), [
    { filter: 'c/dev1', opts: { qos: 1, rh: 0, rap: false, nl: false } },
    { filter: 'u/alice/#', opts: { qos: 2, rh: 2, rap: true, nl: true } },
    { filter: 'from/127.0.0.1/5555', opts: { qos: 0, rh: 0, rap: false, nl: false } },
  ]);
  assert.deepEqual(
    autoSubscriptions(topics, { clientId: 'dev2', username: undefined, peer: '[::1]:7' }).map((s) => s.filter),
    ['c/dev2', 'from/::1/7'],
  );
  assert.deepEqual(autoSubscriptions(topics, { clientId: '#', username: '+', peer: '127.0.0.1:1' }).map((s) => s.filter), ['from/127.0.0.1/1']);
});

test('config: rewrite and auto_subscribe as EMQX writes them; every bad entry named', () => {
  const good = validateConfig(
    {
      node: { cookie: 'x' },
      rewrite: [{ action: 'all', source_topic: 'x/#', re: '^x/(.+)$', dest_topic: 'y/$1' }],
      auto_subscribe: { topics: [{ topic: 'c/${clientid}', qos: 1 }] },
    },
    { paths, env: {} },
  );
  assert.deepEqual(good.problems, []);
  assert.deepEqual(good.config!.rewrite, [{ action: 'all', source_topic: 'x/#', re: '^x/(.+)$', dest_topic: 'y/$1' }]);
  assert.deepEqual(good.config!.auto_subscribe.topics, [{ topic: 'c/${clientid}', qos: 1, rh: 0, rap: 0, nl: 0 }]);
  const defaults = validateConfig({ node: { cookie: 'x' } }, { paths, env: {} });
  assert.deepEqual(defaults.config!.rewrite, []);
  assert.deepEqual(defaults.config!.auto_subscribe.topics, []);

  const bad = validateConfig(
    {
      node: { cookie: 'x' },
      rewrite: [{ action: 'both', source_topic: 'x/#/y', re: '^x/(', dest_topic: 'y', extra: 1 }, { action: 'publish', re: '.' }],
      auto_subscribe: { topics: [{ topic: 'a/#/b', qos: 3 }, { qos: 1 }] },
    },
    { paths, env: {} },
  );
  const text = bad.problems.map((p) => p.message).join('\n');
  assert.match(text, /\[1\] action: 'both' is not one of publish, subscribe, all/);
  assert.match(text, /\[1\] source_topic: 'x\/#\/y' is not a topic filter/);
  assert.match(text, /\[1\] re: '\^x\/\(' is not a regular expression/);
  assert.match(text, /\[1\] extra: unknown key/);
  assert.match(text, /\[2\] source_topic: is required/);
  assert.match(text, /\[2\] dest_topic: is required/);
  assert.match(text, /\[1\] topic: 'a\/#\/b' is not a topic filter/);
  assert.match(text, /\[1\] qos: 3 is not an integer in 0\.\.2/);
  assert.match(text, /\[2\] topic: is required/);
});

test('generated topics and clients: rewrite and auto subscribe never throw and never give an invalid topic or filter', () => {
  const rand = prng(20261207);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const words = ['a', 'b', '+', '#', '', '$SYS', 'x y', 'é', '${clientid}', '$1', '$share', 'g'];
  const topicOf = (): string => Array.from({ length: 1 + Math.floor(rand() * 4) }, () => pick(words)).join('/');
  const r = new TopicRewriter([
    { action: 'all', source_topic: '#', re: '^([^/]*)/(.*)$', dest_topic: '$2/${clientid}/$1' },
    { action: 'all', source_topic: '+', re: '^(.*)$', dest_topic: 'one/${username}/$1' },
  ]);
  for (let i = 0; i < 20_000; i++) {
    const topic = topicOf();
    const id = pick(['dev', '#', '+', '', 'a/b']);
    const user = pick([undefined, 'u', '+', '']);
    const asName = validateTopicName(topic, Number.POSITIVE_INFINITY) === undefined;
    if (asName) {
      const out = r.publish(topic, id, user);
      assert.equal(validateTopicName(out, Number.POSITIVE_INFINITY), undefined, `publish ${topic} -> ${out}`);
    }
    if (validateFilter(topic, Number.POSITIVE_INFINITY) === undefined) {
      const out = r.subscribe(topic, id, user);
      assert.equal(validateFilter(out, Number.POSITIVE_INFINITY), undefined, `subscribe ${topic} -> ${out}`);
    }
    for (const s of autoSubscriptions([{ topic: 'c/${clientid}/${username}', qos: 1, rh: 0, rap: 0, nl: 0 }], { clientId: id, username: user, peer: '127.0.0.1:1' })) {
      assert.equal(validateFilter(s.filter, Number.POSITIVE_INFINITY), undefined, s.filter);
      assert.ok(!s.filter.includes('#') && !s.filter.includes('+'), `a client's id widened ${s.filter}`);
    }
  }
});
