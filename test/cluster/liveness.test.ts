import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Liveness } from '../../src/cluster/liveness.js';

test('a member met is running from then; lost, it is down from then; since says which', () => {
  const l = new Liveness();
  l.reset(['b'], 100);
  assert.equal(l.since('b'), 100);
  assert.equal(l.met('b', 'boot1', 200), true);
  assert.equal(l.met('b', 'boot1', 250), false, 'already running');
  assert.equal(l.since('b'), 200);
  assert.deepEqual(l.runningNodes(), ['b']);
  assert.equal(l.lost('b', 300), true);
  assert.equal(l.lost('b', 400), false);
  assert.equal(l.since('b'), 300, 'down from the first loss');
  assert.equal(l.downFor('b', 1300, 0), 1000);
  assert.equal(l.downFor('never', 1300, 1000), 300, 'a member never seen counts from the given start');
});

test('back from a silence with the same boot id is a partition; with a new one, a restart', () => {
  const l = new Liveness();
  l.met('b', 'boot1', 1);
  l.lost('b', 2);
  assert.equal(l.cameBackUnrestarted('b', 'boot1'), true);
  assert.equal(l.cameBackUnrestarted('b', 'boot2'), false);
  assert.equal(l.keepApart('b'), true);
  assert.equal(l.keepApart('b'), false, 'said once');
  assert.equal(l.isPartitioned('b'), true);
  l.met('b', 'boot2', 3);
  assert.equal(l.isPartitioned('b'), false);
});

test('lost to silence is remembered until the member is met again', () => {
  const l = new Liveness();
  l.met('b', 'boot1', 1);
  l.lost('b', 2);
  assert.equal(l.lostToSilence('b'), false, 'closed by a peer that answers');
  l.lost('b', 3, true);
  assert.equal(l.lostToSilence('b'), true);
  l.met('b', 'boot1', 4);
  assert.equal(l.lostToSilence('b'), false);
  l.lost('b', 5, true);
  l.reset(['b'], 6);
  assert.equal(l.lostToSilence('b'), false, 'a reset forgets it');
});

test('one reset forgets all, boot ids included: an earlier stint says nothing about this one', () => {
  const l = new Liveness();
  l.met('b', 'boot1', 1);
  l.lost('b', 2);
  l.keepApart('b');
  l.reset(['b'], 10);
  assert.equal(l.isRunning('b'), false);
  assert.equal(l.isPartitioned('b'), false);
  assert.equal(l.since('b'), 10);
  assert.equal(l.cameBackUnrestarted('b', 'boot1'), false);
  l.notMetSince('c', 20);
  l.met('d', 'x', 30);
  l.notMetSince('d', 40);
  assert.equal(l.since('d'), 30, 'a running member is not marked down');
  l.forget('b');
  assert.equal(l.since('b'), undefined);
});
