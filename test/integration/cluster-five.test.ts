// Five real node processes formed by joins to different members, two of them concurrent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocDistBase, createTestNode } from '../helpers/launcher.js';
import { userAdmins } from '../helpers/admins.js';
import { statusText } from '../helpers/cluster-status.js';

test('five nodes joined through different members converge to one view', async (t) => {
  const names = [2, 3, 4, 5, 6].map((i) => `c${i}@127.0.72.${i}`);
  const base = await allocDistBase(names);
  const nodes = await Promise.all(names.map((name) => createTestNode(t, { name, distBasePort: base, conf: 'node.dist_net_ticktime = 2s\n' })));
  await Promise.all(nodes.map((n) => n.startOk()));
  const [n1, n2, n3, n4, n5] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
  assert.equal((await n2.ctl(['cluster', 'join', n1.name])).code, 0);
  const [r3, r4] = await Promise.all([n3.ctl(['cluster', 'join', n1.name]), n4.ctl(['cluster', 'join', n2.name])]);
  assert.equal(r3.code, 0, r3.stdout);
  assert.equal(r4.code, 0, r4.stdout);
  assert.equal((await n5.ctl(['cluster', 'join', n4.name])).code, 0);
  const want = statusText(names);
  const end = Date.now() + 15_000;
  for (const n of nodes) {
    let out = '';
    while (Date.now() < end && (out = (await n.ctl(['cluster', 'status'])).stdout) !== want) await new Promise((r) => setTimeout(r, 100));
    assert.equal(out, want, n.name);
  }
  assert.equal((await n5.ctl(['admins', 'add', 'fiona', 'passw0rd!', 'added on c6'])).code, 0);
  // Acknowledged means applied on every running member: visible at once everywhere.
  for (const n of nodes) assert.equal(userAdmins((await n.ctl(['admins', 'list'])).stdout), 'Username: fiona, Description: added on c6\n', n.name);
});
