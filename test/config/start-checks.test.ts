// Settings valid one by one that a start would refuse are config problems: check_config finds them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/schema.js';
import { formatProblem, type Paths } from '../../src/config/types.js';

const paths: Paths = {
  root: '/opt/emqx',
  etc_dir: '/opt/emqx/etc',
  conf_file: '/opt/emqx/etc/emqx.conf',
  log_dir: '/opt/emqx/log',
  ssl_dist_optfile: '/opt/emqx/etc/ssl_dist.conf',
};

function problems(node: Record<string, unknown>, cluster: Record<string, unknown> = {}): string[] {
  return validateConfig({ node: { cookie: 'secret', ...node }, cluster }, { paths, env: {} }).problems.map(formatProblem);
}

test('the distribution port derived from the name must stay within 65535', () => {
  assert.deepEqual(problems({ name: 'emqx65@127.0.0.1', dist_base_port: 65500 }), [
    "node.dist_base_port: 65500 + 65 (the number at the end of 'emqx65') makes this node's distribution port 65565, above 65535: lower node.dist_base_port to at most 65470",
  ]);
  assert.deepEqual(problems({ name: 'emqx35@127.0.0.1', dist_base_port: 65500 }), []);
  assert.deepEqual(problems({ name: 'emqx@127.0.0.1', dist_base_port: 65535 }), []);
});

test('an IP host must be of the family cluster.proto_dist links over', () => {
  assert.deepEqual(problems({ name: 'emqx@127.0.0.1' }, { proto_dist: 'inet6_tcp' }), [
    "cluster.proto_dist: inet6_tcp links over IPv6, but the host of node.name 'emqx@127.0.0.1' is an IPv4 address: use inet_tcp, or a node name with an IPv6 address or a host name",
  ]);
  assert.match(problems({ name: 'emqx@::1' }, { proto_dist: 'inet_tls' }).join('\n'), /inet_tls links over IPv4, but the host of node.name 'emqx@::1' is an IPv6 address: use inet6_tls/);
  assert.deepEqual(problems({ name: 'emqx@::1' }, { proto_dist: 'inet6_tls' }), []);
  assert.deepEqual(problems({ name: 'emqx@node1.example.com' }, { proto_dist: 'inet6_tcp' }), [], 'a host name resolves at start, in its family');
});

test('a node name longer than a file name may be is refused, as Erlang refuses the atom', () => {
  const long = `${'a'.repeat(300)}@127.0.0.1`;
  assert.deepEqual(problems({ name: long }), [
    "node.name: is 310 bytes long; at most 255, as it names the node's database directory (<data_dir>/mnesia/<node.name>)",
  ]);
  assert.deepEqual(problems({ name: `${'a'.repeat(245)}@127.0.0.1` }), []);
});

test('a data directory whose control socket path would not fit a Unix socket is refused', () => {
  const dir = `/var/lib/${'d'.repeat(100)}`;
  assert.deepEqual(problems({ data_dir: dir }), [
    `node.data_dir: the control socket path is too long for a Unix socket (123 bytes, the limit is 107): ${dir}/emqx_ctl.sock; use a shorter node.data_dir`,
  ]);
});
