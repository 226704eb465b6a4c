import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dnsStrategy } from '../../src/discovery/dns.js';
import { DiscoveryError } from '../../src/discovery/types.js';
import { startDnsmasq } from '../helpers/dnsmasq.js';

test('dns strategy against a real dnsmasq', async (t) => {
  const dns = await startDnsmasq({
    domain: 'emqx.test',
    hosts: [
      ['127.0.0.11', 'nodes.emqx.test'],
      ['127.0.0.12', 'nodes.emqx.test'],
      ['127.0.0.13', 'nodes.emqx.test'],
      ['::1', 'nodes6.emqx.test'],
      ['127.0.0.21', 'n1.emqx.test'],
    ],
    srv: [
      { name: '_emqx._tcp.emqx.test', target: 'n1.emqx.test', port: 4370 },
      { name: '_emqx._tcp.emqx.test', target: 'n2.emqx.test', port: 4370, priority: 1 },
    ],
  });
  t.after(() => dns.stop());

  await t.test('A records give <name part>@<ip>', async () => {
    const s = dnsStrategy('emqx@127.0.0.11', { name: 'nodes.emqx.test', record_type: 'a', server: dns.server });
    assert.deepEqual(await s.discover(), ['emqx@127.0.0.11', 'emqx@127.0.0.12', 'emqx@127.0.0.13']);
  });

  await t.test('the name part is ours, whatever the others are called', async () => {
    const s = dnsStrategy('broker@127.0.0.12', { name: 'nodes.emqx.test', record_type: 'a', server: dns.server });
    assert.deepEqual(await s.discover(), ['broker@127.0.0.11', 'broker@127.0.0.12', 'broker@127.0.0.13']);
  });

  await t.test('AAAA records give <name part>@<ipv6>', async () => {
    const s = dnsStrategy('emqx@::1', { name: 'nodes6.emqx.test', record_type: 'aaaa', server: dns.server });
    assert.deepEqual(await s.discover(), ['emqx@::1']);
  });

  await t.test('SRV records give <name part>@<target host>', async () => {
    const s = dnsStrategy('emqx@n1.emqx.test', { name: '_emqx._tcp.emqx.test', record_type: 'srv', server: dns.server });
    assert.deepEqual(await s.discover(), ['emqx@n1.emqx.test', 'emqx@n2.emqx.test']);
  });

  await t.test('an unknown name is nobody out there, not an error', async () => {
    const s = dnsStrategy('emqx@127.0.0.11', { name: 'nobody.emqx.test', record_type: 'a', server: dns.server });
    assert.deepEqual(await s.discover(), []);
  });

  await t.test('records changed at the server are seen on the next discover', async () => {
    const s = dnsStrategy('emqx@127.0.0.11', { name: 'nodes.emqx.test', record_type: 'a', server: dns.server });
    await dns.setHosts([['127.0.0.11', 'nodes.emqx.test'], ['127.0.0.14', 'nodes.emqx.test']], { name: 'nodes.emqx.test', expect: 2 });
    assert.deepEqual(await s.discover(), ['emqx@127.0.0.11', 'emqx@127.0.0.14']);
  });
});

test('dns strategy: a server that does not answer is a DiscoveryError naming it', async () => {
  // Port 9 (discard) on loopback: nothing answers DNS there.
  const s = dnsStrategy('emqx@127.0.0.1', { name: 'nodes.emqx.test', record_type: 'a', server: '127.0.0.1:9', timeoutMs: 200 });
  await assert.rejects(s.discover(), (err: unknown) => {
    assert.ok(err instanceof DiscoveryError);
    assert.match(err.message, /dns discovery failed: A lookup of 'nodes\.emqx\.test' at 127\.0\.0\.1:9/);
    return true;
  });
});

test('dns strategy: a malformed cluster.dns.server is refused up front', () => {
  assert.throws(() => dnsStrategy('emqx@127.0.0.1', { name: 'x', record_type: 'a', server: 'not a server' }), /cluster\.dns\.server 'not a server'/);
});
