import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endpointAddresses, k8sNodeNames, type K8sNaming } from '../../src/discovery/k8s-names.js';

const base: K8sNaming = { app: 'emqx', service: 'emqx-headless', namespace: 'prod', addressType: 'ip', suffix: 'svc.cluster.local' };
const addrs = [{ ip: '127.0.0.11', hostname: 'emqx-0' }, { ip: '127.0.0.12', hostname: 'emqx-1' }];

test('ip: <app>@<ip>', () => {
  assert.deepEqual(k8sNodeNames(addrs, base).nodes, ['emqx@127.0.0.11', 'emqx@127.0.0.12']);
});

test('dns: <app>@<ip with dashes>.<namespace>.<suffix>', () => {
  assert.deepEqual(k8sNodeNames(addrs, { ...base, addressType: 'dns', suffix: 'pod.cluster.local' }).nodes, [
    'emqx@127-0-0-11.prod.pod.cluster.local',
    'emqx@127-0-0-12.prod.pod.cluster.local',
  ]);
});

test('hostname: <app>@<hostname>.<service>.<namespace>.<suffix>', () => {
  assert.deepEqual(k8sNodeNames(addrs, { ...base, addressType: 'hostname' }).nodes, [
    'emqx@emqx-0.emqx-headless.prod.svc.cluster.local',
    'emqx@emqx-1.emqx-headless.prod.svc.cluster.local',
  ]);
});

test('an empty suffix leaves the bare host, as ekka does', () => {
  assert.deepEqual(k8sNodeNames(addrs, { ...base, addressType: 'hostname', suffix: '' }).nodes, ['emqx@emqx-0', 'emqx@emqx-1']);
  assert.deepEqual(k8sNodeNames(addrs, { ...base, addressType: 'dns', suffix: '' }).nodes, ['emqx@127-0-0-11', 'emqx@127-0-0-12']);
});

test('addresses without the needed field are skipped and reported', () => {
  const r = k8sNodeNames([{ ip: '127.0.0.11' }, { ip: '127.0.0.12', hostname: 'emqx-1' }], { ...base, addressType: 'hostname' });
  assert.deepEqual(r.nodes, ['emqx@emqx-1.emqx-headless.prod.svc.cluster.local']);
  assert.equal(r.skipped.length, 1);
  assert.match(r.skipped[0]!, /127\.0\.0\.11/);
});

test('endpointAddresses reads every subset and tolerates a service with no ready pods', () => {
  assert.deepEqual(endpointAddresses({ kind: 'Endpoints', subsets: [{ addresses: [{ ip: 'a' }] }, { notReadyAddresses: [{ ip: 'x' }] }, { addresses: [{ ip: 'b' }] }] }), [{ ip: 'a' }, { ip: 'b' }]);
  assert.deepEqual(endpointAddresses({ kind: 'Endpoints', metadata: {} }), []);
});

test('endpointAddresses names what is wrong with a bad answer', () => {
  assert.throws(() => endpointAddresses([]), /not a JSON object/);
  assert.throws(() => endpointAddresses({ kind: 'Status' }), /kind 'Endpoints', got kind 'Status'/);
  assert.throws(() => endpointAddresses({ kind: 'Endpoints', subsets: {} }), /'subsets' is not an array/);
});
