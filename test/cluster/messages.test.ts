import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHello, parseJoinBeginReply, parseJoinCommit, parseOk, parseRemovalNotice } from '../../src/cluster/messages.js';

const entry = { state: 'member', version: { t: 1, c: 0, n: 'a@h' } };

test('a hello is read only when it is one; an unknown verdict reads as none', () => {
  const h = parseHello({ clusterId: 'c1', members: { 'a@h': entry }, bootId: 'b1', verdict: 'removed', fresh: true, extra: 1 }, 'hello from a@h');
  assert.deepEqual(h, { clusterId: 'c1', members: { 'a@h': entry }, bootId: 'b1', verdict: 'removed', fresh: true });
  assert.equal(parseHello({ clusterId: 'c1', members: {}, bootId: 'b1', verdict: 'someday' }, 'x').verdict, undefined);
  assert.throws(() => parseHello({ clusterId: 'c1', members: {} }, 'hello from a@h'), /hello from a@h: hello has no bootId/);
  assert.throws(() => parseHello('garbage', 'hello from a@h'), /not an object/);
  assert.throws(() => parseHello({ clusterId: 'c1', members: { 'a@h': { state: 'gone' } }, bootId: 'b' }, 'w'), /bad membership entry for 'a@h'/);
});

test('replies and requests of the join and leave steps', () => {
  assert.deepEqual(parseJoinBeginReply({ ok: false, reason: 'singleton' }, 'w'), { ok: false, reason: 'singleton' });
  assert.throws(() => parseJoinBeginReply({}, 'join reply from b@h'), /join reply from b@h: join reply has no ok/);
  assert.equal(parseOk({ ok: true }), true);
  assert.equal(parseOk(undefined), false);
  assert.deepEqual(parseJoinCommit({ members: { 'a@h': entry } }, 'w'), { 'a@h': entry });
  assert.deepEqual(parseJoinCommit({}, 'w'), {});
  assert.throws(() => parseJoinCommit(null, 'join commit from b@h'), /join commit from b@h/);
});

test('a removal notice needs its cluster and the entry; a bad entry is refused', () => {
  const tomb = { state: 'removed', forced: true, version: { t: 2, c: 0, n: 'a@h' } };
  assert.deepEqual(parseRemovalNotice({ clusterId: 'c1', entry: tomb }, 'b@h', 'w'), { clusterId: 'c1', entry: tomb });
  assert.equal(parseRemovalNotice({ clusterId: 'c1' }, 'b@h', 'w'), undefined);
  assert.equal(parseRemovalNotice(42, 'b@h', 'w'), undefined);
  assert.throws(() => parseRemovalNotice({ clusterId: 'c1', entry: { state: 'removed' } }, 'b@h', 'w'), /bad membership entry for 'b@h'/);
});
