import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteTable } from '../../src/router/route-table.js';

test('hasOtherThan: true only while another node has a route (a node alone skips the cluster lookup)', () => {
  const t = new RouteTable();
  assert.equal(t.hasOtherThan('a@h'), false, 'empty');
  t.add('a@h', 'x/#');
  assert.equal(t.hasOtherThan('a@h'), false, 'only our own routes');
  t.add('b@h', 'y/+');
  assert.equal(t.hasOtherThan('a@h'), true);
  const out = new Set<string>();
  t.nodesFor('y/1', out);
  assert.deepEqual([...out], ['b@h']);
  t.remove('b@h', 'y/+');
  assert.equal(t.hasOtherThan('a@h'), false, 'the last remote route removed');
  t.add('c@h', 'z');
  t.purge('a@h');
  assert.equal(t.hasOtherThan('a@h'), true, 'another node, none of ours');
  t.purge('c@h');
  assert.equal(t.hasOtherThan('a@h'), false);
});
