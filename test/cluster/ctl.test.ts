// The `cluster` command's mapping of typed failures to EMQX's strings and exit codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cluster } from '../../src/cluster/cluster.js';
import { clusterCommand } from '../../src/cluster/ctl.js';
import { ClusterError } from '../../src/cluster/errors.js';

function stub(fail: ClusterError | undefined, seen: string[] = []): Cluster {
  return {
    self: 'emqx1@10.0.0.1',
    async join(n: string) {
      seen.push(n);
      if (fail) throw fail;
    },
    async forceLeave(n: string) {
      seen.push(n);
      if (fail) throw fail;
    },
    status: () => ({ running: ['emqx1@10.0.0.1'], stopped: [] }),
    removedFrom: () => undefined,
    busy: () => undefined,
    verbose: () => [],
  } as unknown as Cluster;
}

test('TLS and cookie failures are sharpened with one line saying what to check', async () => {
  const tls = await clusterCommand(stub(new ClusterError('tls_handshake_failed', 'emqx2@10.0.0.2', 'refused by peer: peer certificate rejected: unknown CA'))).run(['join', 'emqx2@10.0.0.2']);
  assert.equal(tls.code, 1);
  // Stdout is EMQX's line; the cause this node knows, then what to check, on stderr.
  assert.equal(tls.output, "Failed to join the cluster: {tls_handshake_failed,'emqx2@10.0.0.2'}\n");
  assert.equal(
    tls.stderr,
    '(refused by peer: peer certificate rejected: unknown CA)\nCheck cluster.proto_dist and the certificates, CA and verify options in ssl_dist.conf on both nodes.\n',
  );
  const down = await clusterCommand(stub(new ClusterError('node_down', 'emqx2@10.0.0.2', 'unreachable: ECONNREFUSED'))).run(['join', 'emqx2@10.0.0.2']);
  assert.equal(down.output, "Failed to join the cluster: {node_down,'emqx2@10.0.0.2'}\n");
  assert.equal(down.stderr, '(unreachable: ECONNREFUSED)\n');
});

test('a short name gets this node host; usage on bad arguments exits non-zero', async () => {
  const seen: string[] = [];
  const cmd = clusterCommand(stub(undefined, seen));
  const ok = await cmd.run(['join', 'emqx2']);
  assert.equal(ok.code, 0);
  assert.deepEqual(seen, ['emqx2@10.0.0.1']);
  assert.equal(ok.output, "Join the cluster successfully.\nCluster status: #{running_nodes => ['emqx1@10.0.0.1'],stopped_nodes => []}\n");
  const u = await cmd.run(['frobnicate']);
  assert.equal(u.code, 1);
  assert.match(u.output, /^cluster join <Node>\s+# Join the cluster\n/);
  assert.equal((await cmd.run(['status', '--bogus'])).code, 1);
  assert.deepEqual(await clusterCommand(stub(new ClusterError('ignore', 'emqx1@10.0.0.1', 'Ignore.'))).run(['force-leave', 'emqx1']), { code: 1, output: 'Ignore.\n' });
});

test('an invalid node name is printed as an Erlang atom, quotes escaped, with the rule it breaks', async () => {
  const seen: string[] = [];
  const r = await clusterCommand(stub(undefined, seen)).run(['join', "it's@x"]);
  assert.equal(r.code, 1);
  assert.equal(r.output, "Failed to join the cluster: {invalid_node_name,'it\\'s@x'}\n");
  assert.match(r.stderr ?? '', /^\S[^\n]*\n$/);
  assert.deepEqual(seen, [], 'nothing is attempted');
});
