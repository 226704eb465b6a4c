import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { ClusterConfig } from '../../src/config/types.js';
import { k8sStrategy } from '../../src/discovery/k8s.js';
import { DiscoveryError } from '../../src/discovery/types.js';
import { makeCa, makeNodeCert } from '../helpers/certs.js';
import { startK8sApi } from '../helpers/k8s-api.js';

const logger = pino({ level: 'silent' });

test('k8s strategy against an API server double speaking the real wire format', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'k8s-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const ca = await makeCa(join(dir, 'ca'));
  const cert = await makeNodeCert(ca, join(dir, 'api'), 'kubernetes', { hosts: ['127.0.0.1'] });
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, 'sa-token-1\n');
  const api = await startK8sApi({ certFile: cert.certFile, keyFile: cert.keyFile, token: 'sa-token-1' });
  t.after(() => api.stop());
  api.setEndpoints('prod', 'emqx-headless', [
    { ip: '127.0.0.11', hostname: 'emqx-0' },
    { ip: '127.0.0.12', hostname: 'emqx-1' },
    { ip: '127.0.0.13', hostname: 'emqx-2' },
  ]);
  const cfg = (over: Partial<ClusterConfig['k8s']> = {}): ClusterConfig['k8s'] => ({
    apiserver: api.url,
    service_name: 'emqx-headless',
    namespace: 'prod',
    address_type: 'ip',
    suffix: 'svc.cluster.local',
    token_file: tokenFile,
    cacert_file: ca.certFile,
    ...over,
  });

  await t.test('ip: names from the endpoint IPs, token sent as a bearer token', async () => {
    const s = k8sStrategy('emqx@127.0.0.11', cfg(), logger);
    assert.deepEqual(await s.discover(), ['emqx@127.0.0.11', 'emqx@127.0.0.12', 'emqx@127.0.0.13']);
    const last = api.requests.at(-1)!;
    assert.equal(last.path, '/api/v1/namespaces/prod/endpoints/emqx-headless');
    assert.equal(last.authorization, 'Bearer sa-token-1');
  });

  await t.test('hostname and dns address types', async () => {
    const h = k8sStrategy('emqx@emqx-0.emqx-headless.prod.svc.cluster.local', cfg({ address_type: 'hostname' }), logger);
    assert.deepEqual(await h.discover(), [
      'emqx@emqx-0.emqx-headless.prod.svc.cluster.local',
      'emqx@emqx-1.emqx-headless.prod.svc.cluster.local',
      'emqx@emqx-2.emqx-headless.prod.svc.cluster.local',
    ]);
    const d = k8sStrategy('emqx@127-0-0-11.prod.pod.cluster.local', cfg({ address_type: 'dns', suffix: 'pod.cluster.local' }), logger);
    assert.deepEqual(await d.discover(), [
      'emqx@127-0-0-11.prod.pod.cluster.local',
      'emqx@127-0-0-12.prod.pod.cluster.local',
      'emqx@127-0-0-13.prod.pod.cluster.local',
    ]);
  });

  await t.test('a rotated token file is picked up without a restart', async () => {
    const s = k8sStrategy('emqx@127.0.0.11', cfg(), logger);
    await writeFile(tokenFile, 'sa-token-2\n');
    await assert.rejects(s.discover(), /HTTP 401 \(the token was not accepted\)/);
    await writeFile(tokenFile, 'sa-token-1');
    assert.equal((await s.discover()).length, 3);
  });

  await t.test('a service with no ready pods discovers nobody', async () => {
    api.setEndpoints('prod', 'empty', []);
    assert.deepEqual(await k8sStrategy('emqx@127.0.0.11', cfg({ service_name: 'empty' }), logger).discover(), []);
  });

  await t.test('an unknown service is an error naming it', async () => {
    await assert.rejects(k8sStrategy('emqx@127.0.0.11', cfg({ service_name: 'nope' }), logger).discover(), (err: unknown) => {
      assert.ok(err instanceof DiscoveryError);
      assert.match(err.message, /HTTP 404 \(no service 'nope' in namespace 'prod'\)/);
      return true;
    });
  });

  await t.test('a server certificate from another CA is refused', async () => {
    const other = await makeCa(join(dir, 'other-ca'), 'Other CA');
    await assert.rejects(k8sStrategy('emqx@127.0.0.11', cfg({ cacert_file: other.certFile }), logger).discover(), /k8s discovery failed: GET https:\/\/127\.0\.0\.1:\d+\/api\/v1\/namespaces\/prod\/endpoints\/emqx-headless: /);
  });

  await t.test('a missing token file is an error naming the file', async () => {
    await assert.rejects(k8sStrategy('emqx@127.0.0.11', cfg({ token_file: join(dir, 'missing') }), logger).discover(), /cannot read the service-account token \(cluster\.k8s\.token_file\) '.*missing': ENOENT/);
  });
});

test('k8s strategy: a bad apiserver URL is refused up front', () => {
  const cfg = { apiserver: 'kubernetes:443', service_name: 's', namespace: 'n', address_type: 'ip', suffix: '', token_file: '/x', cacert_file: '/y' } as const;
  assert.throws(() => k8sStrategy('emqx@127.0.0.1', cfg, logger), /cluster\.k8s\.apiserver 'kubernetes:443' must be an https:\/\//);
});
