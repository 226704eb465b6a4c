import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig, effectiveTree, isKnownKey, DEFAULT_DIST_NET_TICKTIME_MS } from '../../src/config/schema.js';
import type { Origin } from '../../src/config/schema.js';
import type { Paths } from '../../src/config/types.js';
import { formatProblem } from '../../src/config/types.js';
import { suggest, editDistance } from '../../src/config/suggest.js';

const paths: Paths = {
  root: '/opt/emqx',
  etc_dir: '/opt/emqx/etc',
  conf_file: '/opt/emqx/etc/emqx.conf',
  log_dir: '/opt/emqx/log',
  ssl_dist_optfile: '/opt/emqx/etc/ssl_dist.conf',
};

const base = { node: { cookie: 'secret' } };

/** Positions as a parser would report them: one line per key, in the order given. */
function originsFor(positions: Record<string, [number, number]>): (p: readonly string[]) => Origin | undefined {
  return (p) => {
    const pos = positions[p.join('.')];
    return pos ? { file: 'etc/emqx.conf', line: pos[0], column: pos[1] } : undefined;
  };
}

function check(tree: Record<string, unknown>, positions: Record<string, [number, number]> = {}, env: Record<string, string> = {}) {
  return validateConfig(tree, { paths, env, originOf: originsFor(positions) });
}

function messages(tree: Record<string, unknown>, positions: Record<string, [number, number]> = {}): string[] {
  return check(tree, positions).problems.map(formatProblem);
}

test('defaults fill every key not written', () => {
  const { config, problems } = check(base);
  assert.deepEqual(problems, []);
  assert.ok(config);
  assert.deepEqual(config.node, {
    name: 'emqx@127.0.0.1',
    cookie: 'secret',
    data_dir: '/opt/emqx/data',
    role: 'core',
    dist_net_ticktime: DEFAULT_DIST_NET_TICKTIME_MS,
    dist_base_port: 4370,
    dist_busy_poll: true,
  });
  assert.equal(DEFAULT_DIST_NET_TICKTIME_MS, 4000);
  assert.equal(config.cluster.name, 'emqxcl');
  assert.equal(config.cluster.discovery_strategy, 'manual');
  assert.equal(config.cluster.proto_dist, 'inet_tcp');
  assert.equal(config.cluster.autoheal, true);
  assert.equal(config.cluster.autoclean, 86_400_000);
  assert.deepEqual(config.cluster.static.seeds, []);
  assert.deepEqual(config.cluster.dns, { name: 'localhost', record_type: 'a' });
  assert.deepEqual(config.cluster.etcd, { server: [], prefix: 'emqxcl', node_ttl: 60_000 });
  assert.deepEqual(config.cluster.k8s, {
    apiserver: 'https://kubernetes.default.svc:443',
    service_name: 'emqx',
    namespace: 'default',
    address_type: 'ip',
    suffix: 'pod.local',
    token_file: '/var/run/secrets/kubernetes.io/serviceaccount/token',
    cacert_file: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
  });
  assert.equal(config.paths, paths);
});

test('the config is deeply frozen', () => {
  const { config } = check({ ...base, cluster: { static: { seeds: ['a@127.0.0.2'] } } });
  assert.ok(config);
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.node));
  assert.ok(Object.isFrozen(config.cluster.static.seeds));
  assert.throws(() => {
    (config.cluster.static.seeds as string[]).push('b@127.0.0.3');
  }, TypeError);
});

test('written values are converted: durations, booleans, integers, paths', () => {
  const { config, problems } = check({
    node: { cookie: 'c', data_dir: '/var/lib/emqx', dist_net_ticktime: '10s', dist_base_port: 5000 },
    cluster: { autoheal: false, autoclean: '5m', etcd: { node_ttl: '30s' } },
  });
  assert.deepEqual(problems, []);
  assert.equal(config?.node.data_dir, '/var/lib/emqx');
  assert.equal(config?.node.dist_net_ticktime, 10_000);
  assert.equal(config?.node.dist_base_port, 5000);
  assert.equal(config?.cluster.autoheal, false);
  assert.equal(config?.cluster.autoclean, 300_000);
  assert.equal(config?.cluster.etcd.node_ttl, 30_000);
});

test('node.data_dir relative to the install root', () => {
  assert.equal(check({ node: { cookie: 'c', data_dir: 'node1/data' } }).config?.node.data_dir, '/opt/emqx/node1/data');
});

test('dist_net_ticktime: a bare integer is seconds, as in EMQX', () => {
  assert.equal(check({ node: { cookie: 'c', dist_net_ticktime: 6 } }).config?.node.dist_net_ticktime, 6000);
  assert.equal(check({ node: { cookie: 'c', dist_net_ticktime: '500ms' } }).config?.node.dist_net_ticktime, 500);
  assert.deepEqual(messages({ node: { cookie: 'c', dist_net_ticktime: '100ms' } }), [
    "node.dist_net_ticktime: '100ms' is too short: at least 200ms",
  ]);
});

test('autoclean: a bare integer is milliseconds', () => {
  assert.equal(check({ ...base, cluster: { autoclean: 1500 } }).config?.cluster.autoclean, 1500);
});

test('an enum value not allowed names the key, the value, what is allowed, with position', () => {
  assert.deepEqual(messages({ ...base, cluster: { discovery_strategy: 'statik' } }, { 'cluster.discovery_strategy': [4, 20] }), [
    "etc/emqx.conf:4:20: cluster.discovery_strategy: 'statik' is not one of manual, static, singleton, dns, etcd, k8s (did you mean static?)",
  ]);
  assert.deepEqual(messages({ ...base, cluster: { proto_dist: 'tls' } }), [
    "cluster.proto_dist: 'tls' is not one of inet_tcp, inet6_tcp, inet_tls, inet6_tls",
  ]);
  assert.deepEqual(messages({ ...base, cluster: { dns: { record_type: 'mx' } } }), ["cluster.dns.record_type: 'mx' is not one of a, aaaa, srv"]);
  assert.deepEqual(messages({ ...base, cluster: { k8s: { address_type: 'IP' } } }), [
    "cluster.k8s.address_type: 'IP' is not one of ip, dns, hostname (did you mean ip?)",
  ]);
  assert.deepEqual(messages({ node: { cookie: 'c', role: 'replicant' } }), ["node.role: 'replicant' is not one of core"]);
});

test('wrong types name the key and what is expected', () => {
  assert.deepEqual(messages({ ...base, cluster: { autoheal: 'yes' } }, { 'cluster.autoheal': [7, 14] }), [
    "etc/emqx.conf:7:14: cluster.autoheal: 'yes' is not a boolean (true or false)",
  ]);
  assert.deepEqual(messages({ ...base, cluster: { autoclean: 'soon' } }), [
    "cluster.autoclean: 'soon' is not a duration: expected a duration such as 500ms, 15s, 2m, 24h or 1h30m (a bare integer counts milliseconds)",
  ]);
  assert.deepEqual(messages({ ...base, cluster: { name: ['a'] } }), ["cluster.name: ['a'] is not a string"]);
  assert.deepEqual(messages({ ...base, cluster: { static: 'x@127.0.0.1' } }), [
    "cluster.static: 'x@127.0.0.1' is not an object (expected { ... } with keys seeds)",
  ]);
});

test('string-typed booleans and integers are accepted, numbers where strings are expected too', () => {
  const { config, problems } = check({ node: { cookie: 123456, dist_base_port: '4400' }, cluster: { autoheal: 'false' } });
  assert.deepEqual(problems, []);
  assert.equal(config?.node.cookie, '123456');
  assert.equal(config?.node.dist_base_port, 4400);
  assert.equal(config?.cluster.autoheal, false);
});

test('node.dist_base_port must be in 1024..65535', () => {
  assert.deepEqual(messages({ node: { cookie: 'c', dist_base_port: 80 } }), ['node.dist_base_port: 80 is not in 1024..65535']);
  assert.deepEqual(messages({ node: { cookie: 'c', dist_base_port: 70000 } }), ['node.dist_base_port: 70000 is not in 1024..65535']);
  assert.deepEqual(messages({ node: { cookie: 'c', dist_base_port: 'x' } }), ["node.dist_base_port: 'x' is not an integer in 1024..65535"]);
  assert.equal(check({ node: { cookie: 'c', dist_base_port: 1024 } }).problems.length, 0);
  assert.equal(check({ node: { cookie: 'c', dist_base_port: 65535 } }).problems.length, 0);
});

test('node.dist_busy_poll is a boolean', () => {
  assert.equal(check({ node: { cookie: 'c', dist_busy_poll: false } }).config?.node.dist_busy_poll, false);
  assert.equal(check({ node: { cookie: 'c', dist_busy_poll: 'false' } }).config?.node.dist_busy_poll, false);
  assert.deepEqual(messages({ node: { cookie: 'c', dist_busy_poll: 'sometimes' } }), ["node.dist_busy_poll: 'sometimes' is not a boolean (true or false)"]);
});

test('node.cookie is required and must not be empty', () => {
  const { problems } = validateConfig({ node: {} }, { paths, env: {}, originOf: originsFor({ node: [1, 1] }) });
  assert.deepEqual(problems.map(formatProblem), ['etc/emqx.conf:1:1: node.cookie: is required but not set']);
  assert.equal(problems[0]?.key, 'node.cookie');
  assert.deepEqual(messages({}), ['node.cookie: is required but not set']);
  assert.deepEqual(messages({ node: { cookie: '' } }), ['node.cookie: must not be empty']);
});

test('a bad node name is refused with the reason', () => {
  assert.deepEqual(messages({ node: { cookie: 'c', name: 'emqx' } }, { 'node.name': [2, 10] }), [
    "etc/emqx.conf:2:10: node.name: Invalid node name 'emqx', should be of format 'name@host'.",
  ]);
  assert.deepEqual(messages({ node: { cookie: 'c', name: 'em.qx@127.0.0.1' } }), [
    "node.name: Invalid node name, should be of format '^[0-9A-Za-z_-]+$'.",
  ]);
  assert.equal(messages({ node: { cookie: 'c', name: 'emqx@myhost' } }).length, 1);
  assert.equal(check({ node: { cookie: 'c', name: 'emqx@s1.emqx.io' } }).problems.length, 0);
  // An IPv6 host needs a transport over IPv6 (start would refuse it with inet_tcp).
  assert.equal(check({ node: { cookie: 'c', name: 'emqx@::1' }, cluster: { proto_dist: 'inet6_tcp' } }).problems.length, 0);
});

test('static seeds: an array or one comma-separated string, each a valid node name', () => {
  const arr = check({ ...base, cluster: { static: { seeds: ['emqx1@127.0.0.1', 'emqx2@127.0.0.2'] } } });
  assert.deepEqual(arr.config?.cluster.static.seeds, ['emqx1@127.0.0.1', 'emqx2@127.0.0.2']);
  const str = check({ ...base, cluster: { static: { seeds: 'emqx1@127.0.0.1, emqx2@127.0.0.2,' } } });
  assert.deepEqual(str.config?.cluster.static.seeds, ['emqx1@127.0.0.1', 'emqx2@127.0.0.2']);
  assert.deepEqual(check({ ...base, cluster: { static: { seeds: '' } } }).config?.cluster.static.seeds, []);
  assert.deepEqual(messages({ ...base, cluster: { static: { seeds: ['emqx1@127.0.0.1', 'bad', 'x y@h.io'] } } }, { 'cluster.static.seeds': [9, 13] }), [
    "etc/emqx.conf:9:13: cluster.static.seeds: seed 'bad': Invalid node name 'bad', should be of format 'name@host'.; seed 'x y@h.io': Invalid node name, should be of format '^[0-9A-Za-z_-]+$'.",
  ]);
  assert.deepEqual(messages({ ...base, cluster: { static: { seeds: [1, 2] } } }), [
    'cluster.static.seeds: [1, 2] is not an array of node names or one comma-separated string',
  ]);
});

test('dns rule: record type a/aaaa needs a node name whose host is an IP of that family', () => {
  const dns = (name: string, record_type: string, proto_dist = 'inet_tcp') =>
    messages({ node: { cookie: 'c', name }, cluster: { discovery_strategy: 'dns', proto_dist, dns: { record_type } } }, { 'node.name': [2, 8] });
  assert.deepEqual(dns('emqx@127.0.0.1', 'a'), []);
  assert.deepEqual(dns('emqx@::1', 'aaaa', 'inet6_tcp'), []);
  assert.deepEqual(dns('emqx@s1.emqx.io', 'srv'), []);
  assert.deepEqual(dns('emqx@s1.emqx.io', 'a'), [
    "etc/emqx.conf:2:8: node.name: 'emqx@s1.emqx.io': with cluster.discovery_strategy = dns and cluster.dns.record_type = a, the host of the node name must be an IPv4 address (peers are found as <name>@<ip>)",
  ]);
  assert.equal(dns('emqx@127.0.0.1', 'aaaa').length, 1);
  assert.match(dns('emqx@::1', 'a')[0]!, /must be an IPv4 address/);
  // The rule only applies to the dns strategy.
  assert.deepEqual(messages({ node: { cookie: 'c', name: 'emqx@s1.emqx.io' }, cluster: { dns: { record_type: 'a' } } }), []);
});

test('dns.server (ours): host:port, normalised; port 53 when omitted', () => {
  const server = (s: unknown) => check({ ...base, cluster: { dns: { server: s } } });
  assert.equal(server('127.0.0.1:5353').config?.cluster.dns.server, '127.0.0.1:5353');
  assert.equal(server('127.0.0.1').config?.cluster.dns.server, '127.0.0.1:53');
  assert.equal(server('[::1]:5353').config?.cluster.dns.server, '[::1]:5353');
  assert.equal(server('::1').config?.cluster.dns.server, '[::1]:53');
  assert.equal(server('ns.example.com:53').config?.cluster.dns.server, 'ns.example.com:53');
  for (const bad of ['127.0.0.1:0', '127.0.0.1:99999', 'a b:53', '[127.0.0.1]:53', 53]) {
    assert.match(server(bad).problems.map(formatProblem).join(), /cluster\.dns\.server: .* is not a DNS server address \(expected host:port/, String(bad));
  }
});

test('etcd: server is a comma-separated URL list, required with the etcd strategy', () => {
  const ok = check({ ...base, cluster: { discovery_strategy: 'etcd', etcd: { server: 'http://127.0.0.1:2379, https://127.0.0.2:2379' } } });
  assert.deepEqual(ok.config?.cluster.etcd.server, ['http://127.0.0.1:2379', 'https://127.0.0.2:2379']);
  assert.deepEqual(check({ ...base, cluster: { etcd: { server: ['http://127.0.0.1:2379'] } } }).config?.cluster.etcd.server, ['http://127.0.0.1:2379']);
  assert.deepEqual(messages({ ...base, cluster: { discovery_strategy: 'etcd' } }), [
    'cluster.etcd.server: is required when cluster.discovery_strategy = etcd (e.g. "http://127.0.0.1:2379")',
  ]);
  assert.deepEqual(messages({ ...base, cluster: { etcd: { server: 'ftp://x, nope' } } }), [
    "cluster.etcd.server: 'ftp://x' must be an http:// or https:// URL; 'nope' is not a URL (expected e.g. http://127.0.0.1:2379)",
  ]);
});

test('etcd.ssl_options: present only when written; file paths expanded and resolved', () => {
  assert.equal(check(base).config?.cluster.etcd.ssl_options, undefined);
  const { config, problems } = check(
    {
      ...base,
      cluster: {
        etcd: {
          ssl_options: {
            cacertfile: '${EMQX_ETC_DIR}/certs/ca.pem',
            certfile: 'etc/certs/client.pem',
            keyfile: '/abs/key.pem',
            verify: 'verify_peer',
            server_name_indication: 'etcd.local',
            depth: 3,
          },
        },
      },
    },
    {},
    {},
  );
  assert.deepEqual(problems, []);
  assert.deepEqual(config?.cluster.etcd.ssl_options, {
    enable: true,
    cacertfile: '/opt/emqx/etc/certs/ca.pem',
    certfile: '/opt/emqx/etc/certs/client.pem',
    keyfile: '/abs/key.pem',
    verify: 'verify_peer',
    server_name_indication: 'etcd.local',
  });
  // EMQX's old name `ssl` is an alias.
  const alias = check({ ...base, cluster: { etcd: { ssl: { enable: false } } } });
  assert.deepEqual(alias.config?.cluster.etcd.ssl_options, { enable: false, verify: 'verify_none' });
  const fromEnv = check({ ...base, cluster: { etcd: { ssl_options: { cacertfile: '$CERTS/ca.pem' } } } }, {}, { CERTS: '/certs' });
  assert.equal(fromEnv.config?.cluster.etcd.ssl_options?.cacertfile, '/certs/ca.pem');
  assert.deepEqual(messages({ ...base, cluster: { etcd: { ssl_options: { cacertfile: '${NOPE}/ca.pem' } } } }), [
    "cluster.etcd.ssl_options.cacertfile: '${NOPE}/ca.pem' refers to the environment variable NOPE, which is not set",
  ]);
  assert.deepEqual(messages({ ...base, cluster: { etcd: { ssl_options: { verify: 'yes' } } } }), [
    "cluster.etcd.ssl_options.verify: 'yes' is not one of verify_peer, verify_none",
  ]);
});

test('k8s: apiserver must be a URL; token and CA files (ours) resolved', () => {
  assert.deepEqual(messages({ ...base, cluster: { k8s: { apiserver: 'kubernetes:443' } } }), [
    "cluster.k8s.apiserver: 'kubernetes:443' must be an http:// or https:// URL",
  ]);
  const { config } = check({ ...base, cluster: { k8s: { apiserver: 'http://127.0.0.1:8001', token_file: 'etc/token', cacert_file: '/ca.crt' } } });
  assert.equal(config?.cluster.k8s.apiserver, 'http://127.0.0.1:8001');
  assert.equal(config?.cluster.k8s.token_file, '/opt/emqx/etc/token');
  assert.equal(config?.cluster.k8s.cacert_file, '/ca.crt');
});

test('unknown keys under node and cluster are errors with a near-miss suggestion', () => {
  assert.deepEqual(messages({ ...base, cluster: { discovery_stratgy: 'static' } }, { 'cluster.discovery_stratgy': [3, 5] }), [
    'etc/emqx.conf:3:5: cluster.discovery_stratgy: unknown key (did you mean cluster.discovery_strategy?)',
  ]);
  assert.deepEqual(messages({ ...base, cluster: { discovery: 'static' } }), ['cluster.discovery: unknown key (did you mean cluster.discovery_strategy?)']);
  assert.deepEqual(messages({ node: { cookie: 'c', nmae: 'a@127.0.0.1' } }), ['node.nmae: unknown key (did you mean node.name?)']);
  assert.deepEqual(messages({ ...base, cluster: { static: { seed: [] } } }), ['cluster.static.seed: unknown key (did you mean cluster.static.seeds?)']);
  assert.deepEqual(messages({ ...base, cluster: { etcd: { ssl_options: { verfiy: 'verify_peer' } } } }), [
    'cluster.etcd.ssl_options.verfiy: unknown key (did you mean cluster.etcd.ssl_options.verify?)',
  ]);
  assert.deepEqual(messages({ node: { cookie: 'c', discovery_strategy: 'static' } }), ['node.discovery_strategy: unknown key (did you mean cluster.discovery_strategy?)']);
  assert.deepEqual(messages({ ...base, cluster: { frobnicate: 1 } }), ['cluster.frobnicate: unknown key']);
});

test('every problem is reported, not just the first', () => {
  const all = messages({
    node: { name: 'bad', cookie: 'c', dist_base_port: 1 },
    cluster: { discovery_strategy: 'x', autoheal: 3, autoclean: 'x', static: { seeds: ['y'] }, typo: 1 },
  });
  assert.equal(all.length, 7, all.join('\n'));
  for (const key of ['node.name', 'node.dist_base_port', 'cluster.discovery_strategy', 'cluster.autoheal', 'cluster.autoclean', 'cluster.static.seeds', 'cluster.typo']) {
    assert.ok(all.some((m) => m.startsWith(`${key}:`)), key);
  }
});

test("EMQX's node and cluster keys that we do not use are accepted", () => {
  const { problems } = check({
    node: { cookie: 'c', max_ports: 1048576, dist_buffer_size: 8192, global_gc_interval: '15m', db_role: 'core', cluster_call: { retry_interval: '1m' } },
    cluster: { prevent_overlapping_partitions: false, links: [] },
  });
  assert.deepEqual(problems, []);
  assert.equal(isKnownKey(['node', 'cluster_call', 'anything']), true);
  assert.equal(isKnownKey(['node', 'nmae']), false);
  assert.equal(isKnownKey(['cluster', 'static', 'seeds']), true);
  assert.equal(isKnownKey(['cluster', 'static', 'seeds', 'x']), false);
});

test('other roots are ignored and listed', () => {
  const { problems, ignoredRoots } = check({ ...base, gateway: { mqttsn: {} }, exhook: {}, log: { x: 1 }, rule_engine: 5 });
  assert.deepEqual(problems, []);
  assert.deepEqual(ignoredRoots, ['gateway', 'exhook', 'log', 'rule_engine']);
});

test('problems from the environment name the variable', () => {
  const { problems } = validateConfig(
    { ...base, cluster: { discovery_strategy: 'nope' } },
    { paths, env: {}, originOf: (p) => (p.join('.') === 'cluster.discovery_strategy' ? { env: 'EMQX_CLUSTER__DISCOVERY_STRATEGY' } : undefined) },
  );
  assert.deepEqual(problems.map(formatProblem), [
    "EMQX_CLUSTER__DISCOVERY_STRATEGY: cluster.discovery_strategy: 'nope' is not one of manual, static, singleton, dns, etcd, k8s",
  ]);
});

test('effective tree shows durations as written and keeps every key', () => {
  const { config } = check({ ...base, cluster: { etcd: { server: 'http://127.0.0.1:2379' } } });
  assert.ok(config);
  const tree = effectiveTree(config) as { node: Record<string, unknown>; cluster: Record<string, Record<string, unknown>> };
  assert.equal(tree.node.dist_net_ticktime, '4s');
  assert.equal(tree.cluster.autoclean, '24h');
  assert.equal(tree.cluster.etcd!.node_ttl, '1m');
  assert.equal(tree.cluster.etcd!.server, 'http://127.0.0.1:2379');
});

test('suggestions: Damerau-Levenshtein, bounded, case-insensitive', () => {
  assert.equal(editDistance('statik', 'static'), 1);
  assert.equal(editDistance('ab', 'ba'), 1);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(suggest('statik', ['manual', 'static']), 'static');
  assert.equal(suggest('Manual', ['manual', 'static']), 'manual');
  assert.equal(suggest('xyz', ['manual', 'static']), undefined);
  assert.equal(suggest('autohael', ['autoheal', 'autoclean']), 'autoheal');
});

test("a misspelt EMQX key we do not use is still an error with a suggestion", () => {
  assert.deepEqual(messages({ node: { cookie: 'c', max_port: 1024 } }), ['node.max_port: unknown key (did you mean node.max_ports?)']);
});
