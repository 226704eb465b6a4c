// The operator's walkthrough with real node processes on 127.0.71.x through bin/emqx and
// bin/emqx_ctl: join, status on both, leave, force-leave of a running and of a stopped node,
// the removed node coming back, refusals, admins replicated, a damaged database and the rejoin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allocDistBase, createTestNode, type TestNode } from '../helpers/launcher.js';
import { userAdmins } from '../helpers/admins.js';
import { statusText } from '../helpers/cluster-status.js';

const N1 = 'emqx1@127.0.71.2';
const N2 = 'emqx2@127.0.71.3';
const CONF = 'node.dist_net_ticktime = 2s\n';

const statusLine = statusText;

/** Waits until the killed daemon is reaped too (a zombie still holds its store lock). */
async function waitReaped(n: TestNode): Promise<void> {
  await n.waitExit();
  const end = Date.now() + 10_000;
  while (n.pid !== undefined && existsSync(`/proc/${n.pid}`) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

async function waitStatus(n: TestNode, want: string, ms = 10_000, wantStderr = ''): Promise<void> {
  const end = Date.now() + ms;
  let last = '';
  while (Date.now() < end) {
    const r = await n.ctl(['cluster', 'status']);
    last = r.stdout + r.stderr;
    if (r.stdout === want && r.stderr.startsWith(wantStderr)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${n.name}: cluster status never became ${JSON.stringify(want)}; last: ${JSON.stringify(last)}`);
}

test('walkthrough: join, status, leave, force-leave running and stopped, removed node stays out', async (t) => {
  const base = await allocDistBase([N1, N2]);
  const n1 = await createTestNode(t, { name: N1, distBasePort: base, conf: CONF });
  const n2 = await createTestNode(t, { name: N2, distBasePort: base, conf: CONF });
  await Promise.all([n1.startOk(), n2.startOk()]);

  assert.deepEqual(await n2.ctl(['admins', 'add', 'local', 'passw0rd!']).then((r) => r.stdout), 'ok\n');
  assert.equal((await n1.ctl(['admins', 'add', 'alice', 'passw0rd!', 'ops team'])).stdout, 'ok\n');

  const j = await n2.ctl(['cluster', 'join', N1]);
  assert.equal(j.code, 0, j.stdout + j.stderr);
  assert.equal(j.stdout, `Join the cluster successfully.\n${statusLine([N1, N2])}`);
  assert.equal((await n1.ctl(['cluster', 'status'])).stdout, statusLine([N1, N2]));
  assert.equal((await n2.ctl(['cluster', 'status'])).stdout, statusLine([N1, N2]));
  const js = await n1.ctl(['cluster', 'status', '--json']);
  assert.deepEqual(JSON.parse(js.stdout), { running_nodes: [N1, N2], stopped_nodes: [] });
  // The joiner's data was replaced by the cluster's: admins are cluster-wide.
  assert.equal(userAdmins((await n2.ctl(['admins', 'list'])).stdout), 'Username: alice, Description: ops team\n');
  assert.equal((await n2.ctl(['admins', 'add', 'bob', 'passw0rd!'])).code, 0);
  assert.match(userAdmins((await n1.ctl(['admins', 'list'])).stdout), /Username: bob/);

  // Refusals exit non-zero with EMQX's strings.
  assert.deepEqual(await n2.ctl(['cluster', 'join', N2]).then((r) => [r.code, r.stdout]), [1, 'Ignore.\n']);
  assert.deepEqual(await n2.ctl(['cluster', 'join', N1]).then((r) => [r.code, r.stdout]), [1, `Failed to join the cluster: {already_in_cluster,'${N1}'}\n`]);

  const l = await n2.ctl(['cluster', 'leave']);
  assert.equal(l.code, 0, l.stdout);
  assert.equal(l.stdout, `Leave the cluster successfully.\n${statusLine([N2])}`);
  await waitStatus(n1, statusLine([N1]));
  assert.equal(userAdmins((await n2.ctl(['admins', 'list'])).stdout), '', 'the leaver continues with an empty database');
  assert.deepEqual(await n2.ctl(['cluster', 'leave']).then((r) => [r.code, r.stdout]), [1, 'Failed to leave the cluster: node_not_in_cluster\n']);

  // Join again with the short name (host appended), then force-leave it while running.
  assert.equal((await n2.ctl(['cluster', 'join', 'emqx1'])).code, 1, 'emqx1 means emqx1@127.0.71.3, which is not running');
  assert.equal((await n2.ctl(['cluster', 'join', N1])).code, 0);
  const fr = await n1.ctl(['cluster', 'force-leave', N2]);
  assert.equal(fr.stdout, `Remove the node from cluster successfully.\n${statusLine([N1])}`);
  await waitStatus(n2, statusLine([N2]));

  // Force-leave of a stopped node; it comes back and is told to stay out.
  const j3 = await n2.ctl(['cluster', 'join', N1]);
  assert.equal(j3.code, 0, j3.stdout);
  n2.kill('SIGKILL');
  await waitReaped(n2);
  await waitStatus(n1, statusLine([N1], [N2]));
  const fs = await n1.ctl(['cluster', 'force-leave', N2]);
  assert.equal(fs.code, 0, fs.stdout);
  assert.equal(fs.stdout, `Remove the node from cluster successfully.\n${statusLine([N1])}`);
  assert.deepEqual(await n1.ctl(['cluster', 'force-leave', N2]).then((r) => [r.code, r.stdout]), [1, 'Failed to remove the node from cluster: node_not_in_cluster\n']);
  await n2.startOk();
  // Stdout is EMQX's status; the removal note is ours, on stderr.
  await waitStatus(n2, statusLine([N2]), 10_000, `This node was removed from its cluster by ${N1}`);
  assert.match(n2.logText(), /this node was removed from its cluster/);
  assert.equal((await n1.ctl(['cluster', 'status'])).stdout, statusLine([N1]));
  // Until an operator acts.
  assert.equal((await n2.ctl(['cluster', 'join', N1])).code, 0);
  await waitStatus(n1, statusLine([N1, N2]));
});

test('join refusals between processes: another cookie, singleton, unknown host', async (t) => {
  const A = 'emqx3@127.0.71.4';
  const B = 'emqx4@127.0.71.5';
  const S = 'emqx5@127.0.71.6';
  const base = await allocDistBase([A, B, S]);
  const a = await createTestNode(t, { name: A, distBasePort: base });
  const b = await createTestNode(t, { name: B, distBasePort: base, cookie: 'a-different-cookie' });
  const s = await createTestNode(t, { name: S, distBasePort: base, conf: 'cluster.discovery_strategy = singleton\n' });
  await Promise.all([a.startOk(), b.startOk(), s.startOk()]);
  const auth = await b.ctl(['cluster', 'join', A]);
  assert.equal(auth.code, 1);
  // Stdout is exactly EMQX's line; the hint is on stderr.
  assert.equal(auth.stdout, `Failed to join the cluster: {authentication_failed,'${A}'}\n`);
  assert.match(auth.stderr, /Check that node\.cookie is the same on both nodes\./);
  assert.deepEqual(await s.ctl(['cluster', 'join', A]).then((r) => [r.code, r.stdout]), [1, 'Failed to join the cluster: singleton\n']);
  assert.deepEqual(await a.ctl(['cluster', 'join', S]).then((r) => [r.code, r.stdout]), [1, 'Failed to join the cluster: singleton\n']);
  const down = await a.ctl(['cluster', 'join', 'emqx9@127.0.71.7']);
  assert.equal(down.code, 1);
  assert.equal(down.stdout.split('\n')[0], "Failed to join the cluster: {node_down,'emqx9@127.0.71.7'}");
  const v = await a.ctl(['cluster', 'status', '--verbose']);
  assert.match(v.stdout, /^NODE\s+STATE\s+ADDRESS/);
  assert.match(v.stdout, new RegExp(`${A.replace(/\./g, '\\.')}\\s+self`));
});

test('a damaged database: the node refuses to start naming the file; moved aside, the node rejoins', async (t) => {
  const A = 'emqx6@127.0.71.8';
  const B = 'emqx7@127.0.71.9';
  const base = await allocDistBase([A, B]);
  const a = await createTestNode(t, { name: A, distBasePort: base, conf: CONF });
  const b = await createTestNode(t, { name: B, distBasePort: base, conf: CONF });
  await Promise.all([a.startOk(), b.startOk()]);
  assert.equal((await b.ctl(['cluster', 'join', A])).code, 0);
  assert.equal((await a.ctl(['admins', 'add', 'carol', 'passw0rd!', 'kept'])).code, 0);
  await b.stop();
  await b.waitExit();
  const dir = join(b.dataDir, 'mnesia', B);
  const files = readdirSync(dir).filter((f) => /\.(wal|snap)$/.test(f) && statSync(join(dir, f)).size > 24);
  assert.ok(files.length > 0, `store files in ${dir}: ${readdirSync(dir).join(', ')}`);
  for (const f of files) {
    // One flipped bit inside a record: not a torn tail, real damage.
    const buf = readFileSync(join(dir, f));
    buf[20] = buf[20]! ^ 0x01;
    writeFileSync(join(dir, f), buf);
  }
  const r = await b.start();
  assert.notEqual(r.code, 0, 'refuses to start');
  assert.match(r.stdout + r.stderr, new RegExp(`/(${files.map((f) => f.replace(/\./g, '\\.')).join('|')}) is damaged`));
  // What the message tells the operator: move the directory aside and start again.
  renameSync(dir, `${dir}.damaged`);
  await b.startOk();
  await waitStatus(b, statusLine([A, B]));
  assert.equal(userAdmins((await b.ctl(['admins', 'list'])).stdout), 'Username: carol, Description: kept\n');
});
