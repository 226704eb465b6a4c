// Real processes split by iptables between loopback addresses: both sides keep accepting writes,
// and after the network heals every member shows the same members and every acknowledged write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocDistBase, createTestNode, type TestNode } from '../helpers/launcher.js';
import { userAdmins } from '../helpers/admins.js';
import { Partition, partitionUnavailable } from '../helpers/partition.js';
import { statusOf, waitFor } from '../helpers/cluster-status.js';
import { skipOrFail } from '../helpers/prerequisite.js';

const CONF = 'node.dist_net_ticktime = 2s\n';

test('a partition heals to one view with no acknowledged write lost (autoheal)', async (t) => {
  const why = await partitionUnavailable();
  if (why) return skipOrFail(t, why);
  const names = ['p1@127.0.73.2', 'p2@127.0.73.3', 'p3@127.0.73.4'];
  const base = await allocDistBase(names);
  const nodes = await Promise.all(names.map((name) => createTestNode(t, { name, distBasePort: base, conf: CONF })));
  const [p1, p2, p3] = nodes as [TestNode, TestNode, TestNode];
  const part = new Partition();
  t.after(() => part.remove());
  await part.install();
  await Promise.all(nodes.map((n) => n.startOk()));
  assert.equal((await p2.ctl(['cluster', 'join', names[0]!])).code, 0);
  assert.equal((await p3.ctl(['cluster', 'join', names[1]!])).code, 0);
  assert.equal((await p1.ctl(['admins', 'add', 'shared', 'passw0rd!', 'before'])).code, 0);

  await part.split(['127.0.73.2'], ['127.0.73.3', '127.0.73.4']);
  await waitFor('both sides see the split', async () => (await statusOf(p1)).stopped_nodes.length === 2 && (await statusOf(p2)).stopped_nodes.length === 1);
  // Writes acknowledged on both sides, one conflicting row.
  assert.equal((await p1.ctl(['admins', 'add', 'left', 'passw0rd!'])).stdout, 'ok\n');
  assert.equal((await p3.ctl(['admins', 'add', 'right', 'passw0rd!'])).stdout, 'ok\n');
  assert.equal((await p1.ctl(['admins', 'del', 'shared'])).stdout, 'ok\n');
  assert.equal((await p2.ctl(['admins', 'passwd', 'shared', 'n3w-passw0rd'])).stdout, 'ok\n');

  await part.heal();
  const all = [...names].sort();
  await waitFor('one view everywhere', async () => {
    for (const n of nodes) {
      const s = await statusOf(n);
      if (JSON.stringify(s.running_nodes) !== JSON.stringify(all) || s.stopped_nodes.length !== 0) return false;
    }
    return true;
  });
  // The later write on `shared` (the passwd on the right side) wins everywhere; nothing else lost.
  const want = ['Username: left, Description: ', 'Username: right, Description: ', 'Username: shared, Description: before'].join('\n') + '\n';
  await waitFor('same admins everywhere', async () => {
    for (const n of nodes) if (userAdmins((await n.ctl(['admins', 'list'])).stdout) !== want) return false;
    return true;
  });
});

test('with cluster.autoheal = false the sides stay apart after the network heals, until one restarts', async (t) => {
  const why = await partitionUnavailable();
  if (why) return skipOrFail(t, why);
  const names = ['h1@127.0.74.5', 'h2@127.0.74.6'];
  const base = await allocDistBase(names);
  const conf = `${CONF}cluster.autoheal = false\n`;
  const [h1, h2] = (await Promise.all(names.map((name) => createTestNode(t, { name, distBasePort: base, conf })))) as [TestNode, TestNode];
  const part = new Partition();
  t.after(() => part.remove());
  await part.install();
  await Promise.all([h1.startOk(), h2.startOk()]);
  assert.equal((await h2.ctl(['cluster', 'join', names[0]!])).code, 0);
  await part.split(['127.0.74.5'], ['127.0.74.6']);
  await waitFor('split seen', async () => (await statusOf(h1)).stopped_nodes.length === 1 && (await statusOf(h2)).stopped_nodes.length === 1);
  assert.equal((await h1.ctl(['admins', 'add', 'onleft', 'passw0rd!'])).stdout, 'ok\n');
  await part.heal();
  await waitFor('partition reported', async () => /h2@127\.0\.74\.6\s+partitioned/.test((await h1.ctl(['cluster', 'status', '--verbose'])).stdout));
  assert.deepEqual(await statusOf(h1), { running_nodes: [names[0]], stopped_nodes: [names[1]] });
  assert.equal(userAdmins((await h2.ctl(['admins', 'list'])).stdout), '', 'no data flows between the sides');
  assert.match(h1.logText() + h2.logText(), /network partition detected and cluster\.autoheal is false/);
  // Restarting one side heals (a new boot is not a partition), and its data merges.
  assert.equal((await h2.stop()).code, 0);
  await h2.waitExit();
  await h2.startOk();
  // On a timeout, both logs' ends say which side did not take the other back.
  await waitFor('healed', async () => (await statusOf(h1)).running_nodes.length === 2 && (await statusOf(h2)).running_nodes.length === 2).catch((err: unknown) => {
    const tail = (n: TestNode): string => n.logText().split('\n').slice(-40).join('\n');
    throw new Error(`${String(err)}\n--- h1 log ---\n${tail(h1)}\n--- h2 log ---\n${tail(h2)}`);
  });
  await waitFor('data merged', async () => userAdmins((await h2.ctl(['admins', 'list'])).stdout) === 'Username: onleft, Description: \n');
});
