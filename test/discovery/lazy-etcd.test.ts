// etcd3 with its gRPC stack costs a process ~20 MiB, and a bigger process also dies slower under
// `kill -9`: only a node that really talks to etcd may load it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { etcdStrategy } from '../../src/discovery/etcd.js';
import { DiscoveryError } from '../../src/discovery/types.js';

const fixture = new URL('./fixtures/heavy-packages.ts', import.meta.url).pathname;

test('the daemon loads etcd3 and gRPC only once the etcd strategy makes its first call', async () => {
  // A fresh process: this test runner's own module graph says nothing about the daemon's.
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', fixture], { timeout: 30_000, killSignal: 'SIGKILL' });
  const steps = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, string[]>;
  assert.deepEqual(steps.daemon, [], 'importing the daemon (src/daemon/node.ts) must not load them');
  assert.deepEqual(steps.otherStrategies, [], 'building manual, static, singleton, dns, k8s must not load them');
  assert.deepEqual(steps.etcdBuilt, [], 'building the etcd strategy only checks its settings');
  assert.deepEqual(steps.etcdError, ['DiscoveryError'], 'an unreachable etcd is still a DiscoveryError');
  // The same check sees them once they are in use, so the empty lists above mean something.
  assert.ok(steps.etcdUsed?.includes('etcd3') && steps.etcdUsed.includes('@grpc/grpc-js'), `after a call: ${steps.etcdUsed?.join(', ')}`);
});

test('unusable TLS files for etcd are still refused when the strategy is built', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'etcd-pem-'));
  try {
    const junk = join(dir, 'junk.pem');
    await writeFile(junk, 'not a certificate\n');
    const silent = { debug() {}, info() {}, warn() {}, error() {} };
    assert.throws(
      () => etcdStrategy('e@127.0.0.1', { server: ['https://127.0.0.1:2379'], prefix: 'p', node_ttl: 1000, ssl_options: { enable: true, verify: 'verify_peer', certfile: junk, keyfile: junk } }, silent),
      (err: unknown) => {
        assert.ok(err instanceof DiscoveryError);
        assert.match(err.message, /^etcd discovery failed: cluster\.etcd\.ssl_options: cannot use '.*junk\.pem', '.*junk\.pem': .*PEM/);
        return true;
      },
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
