import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, resolvePaths, DEFAULT_COOKIE_WARNING } from '../../src/config/load.js';
import { ConfigError, formatProblem } from '../../src/config/types.js';
import { tlsFilesOf } from '../../src/config/tls-files.js';
import type { ConfigProblem } from '../../src/config/types.js';
import { makeCa, makeNodeCert, writeSslDistConf } from '../helpers/certs.js';
import { skipOrFail } from '../helpers/prerequisite.js';
import { installRoot } from '../helpers/install-root.js';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const corpus = resolve(projectRoot, '../shared/hocon-corpus/emqx');

function problemsOf(fn: () => unknown): ConfigProblem[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return [...err.problems];
  }
  assert.fail('expected the config to be refused');
}

test('resolvePaths: defaults under the root, location variables override', () => {
  assert.deepEqual(resolvePaths({ root: '/opt/emqx', env: {} }), {
    root: '/opt/emqx',
    etc_dir: '/opt/emqx/etc',
    conf_file: '/opt/emqx/etc/emqx.conf',
    log_dir: '/opt/emqx/log',
    ssl_dist_optfile: '/opt/emqx/etc/ssl_dist.conf',
  });
  assert.deepEqual(resolvePaths({ root: '/opt/emqx', env: { EMQX_ETC_DIR: '/n1/etc', EMQX_LOG_DIR: 'n1/log' } }), {
    root: '/opt/emqx',
    etc_dir: '/n1/etc',
    conf_file: '/n1/etc/emqx.conf',
    log_dir: '/opt/emqx/n1/log',
    ssl_dist_optfile: '/n1/etc/ssl_dist.conf',
  });
  assert.equal(resolvePaths({ root: '/opt/emqx', env: { EMQX_SSL_DIST_OPTFILE: '/tls/dist.conf' } }).ssl_dist_optfile, '/tls/dist.conf');
});

test('the shipped etc/emqx.conf loads, with the default-cookie warning and a redacted effective tree', () => {
  const loaded = loadConfig({ root: projectRoot, env: {} });
  assert.equal(loaded.config.node.name, 'emqx@127.0.0.1');
  assert.equal(loaded.config.node.cookie, 'emqxsecretcookie');
  assert.equal(loaded.config.node.data_dir, join(projectRoot, 'data'));
  assert.equal(loaded.config.cluster.name, 'emqxcl');
  assert.equal(loaded.config.cluster.discovery_strategy, 'manual');
  assert.equal(loaded.config.cluster.proto_dist, 'inet_tcp');
  assert.equal(loaded.config.cluster.autoheal, true);
  assert.equal(loaded.config.cluster.autoclean, 86_400_000);
  assert.deepEqual(loaded.warnings.map((w) => w.message), [DEFAULT_COOKIE_WARNING]);
  assert.equal(DEFAULT_COOKIE_WARNING, 'Default (insecure) Erlang cookie is in use.');
  assert.deepEqual(loaded.ignoredRoots, []);
  const effective = loaded.effective as { node: Record<string, unknown>; cluster: Record<string, unknown> };
  assert.equal(effective.node.cookie, '******');
  assert.equal(effective.cluster.autoclean, '24h');
  assert.ok(!JSON.stringify(loaded.effective).includes('emqxsecretcookie'));
  assert.ok(Object.isFrozen(loaded.config));
});

test("all of EMQX's example configs load when merged with its shipped emqx.conf", async (t) => {
  if (!existsSync(corpus)) return skipOrFail(t, `corpus not found at ${corpus}`);
  const base = readFileSync(join(corpus, 'emqx.conf'), 'utf8');
  const examples = readdirSync(join(corpus, 'examples')).sort();
  assert.equal(examples.length, 46);
  const root = installRoot(t, undefined);
  // The ssl and wss examples name {etc,data}/certs/{cacert,cert,key}.pem: the listeners'
  // files are read at load, so they must exist and belong together.
  const ca = await makeCa(join(root, 'ca'));
  const leaf = await makeNodeCert(ca, join(root, 'leaf'), 'localhost');
  for (const dir of [join(root, 'etc', 'certs'), join(root, 'data', 'certs')]) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'cacert.pem'), readFileSync(ca.certFile));
    writeFileSync(join(dir, 'cert.pem'), readFileSync(leaf.certFile));
    writeFileSync(join(dir, 'key.pem'), readFileSync(leaf.keyFile));
  }
  const strategies = new Set<string>();
  for (const name of examples) {
    writeFileSync(join(root, 'etc', 'emqx.conf'), `${base}\n${readFileSync(join(corpus, 'examples', name), 'utf8')}`);
    let loaded;
    try {
      loaded = loadConfig({ root, env: {} });
    } catch (err) {
      assert.fail(`${name}: ${(err as Error).message}`);
    }
    strategies.add(loaded.config.cluster.discovery_strategy);
    if (name === 'cluster-with-static.conf.example') {
      assert.deepEqual(loaded.config.cluster.static.seeds, ['emqx1@192.168.0.1', 'emqx2@192.168.0.2']);
    }
    if (name === 'cluster-with-etcd-ssl.conf.example') {
      assert.deepEqual(loaded.config.cluster.etcd.server, ['http://ur1', 'http://ur2']);
      // EMQX expands ${EMQX_ETC_DIR} at the start of certificate paths; so do we.
      assert.equal(loaded.config.cluster.etcd.ssl_options?.cacertfile, join(root, 'etc', 'certs', 'etcd-cacert.pem'));
    }
    if (['sysmon.os.conf.example', 'sysmon.vm.conf.example', 'alarm.conf.example', 'conn_congestion.conf.example'].includes(name)) {
      // Read, not ignored: EMQX's unquoted `80%` is a percentage.
      assert.deepEqual(loaded.ignoredRoots, [], name);
      assert.deepEqual(loaded.config.sysmon.os, { cpu_check_interval: 60_000, cpu_high_watermark: 0.8, cpu_low_watermark: 0.6, mem_check_interval: 60_000, sysmem_high_watermark: 0.7 });
      assert.deepEqual(loaded.config.alarm, { actions: ['log', 'publish'], size_limit: 1000, validity_period: 86_400_000 });
      assert.deepEqual(loaded.config.conn_congestion, { enable_alarm: true, min_alarm_sustain_duration: 60_000 });
      // The vm example sets long_gc = 100ms (EMQX's default: disabled).
      assert.deepEqual(loaded.config.sysmon.vm, { process_check_interval: 30_000, process_high_watermark: 0.8, process_low_watermark: 0.6, long_gc: name === 'sysmon.vm.conf.example' ? 100 : 0, long_schedule: 240 });
    }
    if (name === 'node.conf.example') {
      assert.equal(loaded.config.node.cookie, 'Yzc0NGExM2Rj');
      assert.deepEqual(loaded.warnings, []);
    }
    if (name.startsWith('listeners.')) {
      assert.deepEqual(loaded.ignoredRoots, []);
      const type = name.split('.')[1]!;
      if (type !== 'quic') {
        const named = Object.entries(loaded.config.listeners[type as 'tcp']).find(([n]) => n !== 'default');
        assert.ok(named, `${name}: its listener is read`);
        // The example takes the default listener's port: the default yields to it.
        assert.equal(loaded.config.listeners[type as 'tcp'].default?.enable, false, name);
        assert.ok(loaded.warnings.some((w) => w.message.includes(`is not started: listener ${type}:${named[0]} uses its port`)), name);
      }
    }
  }
  assert.deepEqual([...strategies].sort(), ['dns', 'etcd', 'k8s', 'manual', 'static']);
});

test('a missing emqx.conf is a problem naming the path', (t) => {
  const root = installRoot(t, undefined);
  const problems = problemsOf(() => loadConfig({ root, env: {} }));
  assert.equal(problems.length, 1);
  assert.equal(problems[0]?.file, join(root, 'etc', 'emqx.conf'));
  assert.match(formatProblem(problems[0]!), /emqx\.conf: config file not found \(set EMQX_ETC_DIR/);
  const elsewhere = problemsOf(() => loadConfig({ root, env: { EMQX_ETC_DIR: '/nonexistent/etc' } }));
  assert.equal(elsewhere[0]?.file, '/nonexistent/etc/emqx.conf');
});

test('a syntax error is one problem with file, line and column', (t) => {
  const root = installRoot(t, 'node {\n  cookie = x\n  name = "emqx@127.0.0.1"\n\ncluster {\n  name = x\n}\n');
  const problems = problemsOf(() => loadConfig({ root, env: {} }));
  assert.equal(problems.length, 1);
  assert.equal(problems[0]?.file, join(root, 'etc', 'emqx.conf'));
  assert.ok((problems[0]?.line ?? 0) >= 1);
  assert.ok((problems[0]?.column ?? 0) >= 1);
  assert.match(formatProblem(problems[0]!), new RegExp(`^${join(root, 'etc', 'emqx.conf')}:\\d+:\\d+: `));
});

test('schema problems carry the file position of the offending key, all of them', (t) => {
  const conf = ['node {', '  cookie = abc', '  name = bad', '}', 'cluster {', '  discovery_strategy = statik', '  autoheal = maybe', '  discovery_stratgy = manual', '}', ''].join('\n');
  const root = installRoot(t, conf);
  const file = join(root, 'etc', 'emqx.conf');
  const problems = problemsOf(() => loadConfig({ root, env: {} }));
  const byKey = new Map(problems.map((p) => [p.key, p]));
  assert.equal(problems.length, 4, problems.map(formatProblem).join('\n'));
  assert.equal(byKey.get('node.name')?.line, 3);
  assert.equal(byKey.get('cluster.discovery_strategy')?.line, 6);
  assert.equal(byKey.get('cluster.autoheal')?.line, 7);
  assert.equal(byKey.get('cluster.discovery_stratgy')?.line, 8);
  for (const p of problems) {
    assert.equal(p.file, file);
    assert.ok((p.column ?? 0) >= 1);
  }
  const statik = formatProblem(byKey.get('cluster.discovery_strategy')!);
  assert.match(statik, new RegExp(`^${file}:6:\\d+: cluster\\.discovery_strategy: 'statik' is not one of manual, static, singleton, dns, etcd, k8s`));
  assert.match(formatProblem(byKey.get('cluster.discovery_stratgy')!), /:8:\d+: cluster\.discovery_stratgy: unknown key \(did you mean cluster\.discovery_strategy\?\)$/);
});

test('environment beats the file, and merges into objects', (t) => {
  const root = installRoot(t, 'node { cookie = filecookie, name = "a@127.0.0.1" }\ncluster { dns { name = "emqx.local" } }\n');
  const loaded = loadConfig({
    root,
    env: {
      EMQX_NODE__NAME: 'b@127.0.0.2',
      EMQX_NODE_COOKIE: 'envcookie',
      EMQX_CLUSTER__DNS: '{record_type = srv}',
      EMQX_CLUSTER__STATIC__SEEDS: 'a@127.0.0.1, c@127.0.0.3',
    },
  });
  assert.equal(loaded.config.node.name, 'b@127.0.0.2');
  assert.equal(loaded.config.node.cookie, 'envcookie');
  assert.deepEqual(loaded.config.cluster.dns, { name: 'emqx.local', record_type: 'srv' });
  assert.deepEqual(loaded.config.cluster.static.seeds, ['a@127.0.0.1', 'c@127.0.0.3']);
});

test('an environment value that is bad refuses to load, naming the variable', (t) => {
  const root = installRoot(t, 'node { cookie = c }\n');
  const problems = problemsOf(() => loadConfig({ root, env: { EMQX_CLUSTER__AUTOHEAL: 'perhaps', EMQX_NODE__NAME: 'nohost' } }));
  assert.deepEqual(problems.map(formatProblem).sort(), [
    "EMQX_CLUSTER__AUTOHEAL: cluster.autoheal: 'perhaps' is not a boolean (true or false)",
    "EMQX_NODE__NAME: node.name: Invalid node name 'nohost', should be of format 'name@host'.",
  ]);
});

test('an environment variable naming an unknown key is a warning, not a failure', (t) => {
  const root = installRoot(t, 'node { cookie = c }\n');
  const loaded = loadConfig({ root, env: { EMQX_CLUSTER__AUTOHEEL: 'false' } });
  assert.equal(loaded.config.cluster.autoheal, true);
  assert.deepEqual(loaded.warnings.map(formatProblem), [
    'EMQX_CLUSTER__AUTOHEEL: unknown key cluster.autoheel, variable ignored (did you mean cluster.autoheal?)',
  ]);
});

test('file and environment problems are reported together', (t) => {
  const root = installRoot(t, 'node { cookie = c }\ncluster { proto_dist = tcp }\n');
  const problems = problemsOf(() => loadConfig({ root, env: { EMQX_NODE__DIST_BASE_PORT: '99' } }));
  assert.equal(problems.length, 2);
  assert.ok(problems.some((p) => p.env === 'EMQX_NODE__DIST_BASE_PORT'));
  assert.ok(problems.some((p) => p.key === 'cluster.proto_dist' && p.line === 2));
});

test('node.cookie missing everywhere is refused; the environment can supply it', (t) => {
  const root = installRoot(t, 'node { name = "emqx@127.0.0.1" }\n');
  const problems = problemsOf(() => loadConfig({ root, env: {} }));
  assert.deepEqual(problems.map((p) => p.message), ['node.cookie: is required but not set']);
  assert.equal(problems[0]?.line, 1);
  assert.equal(loadConfig({ root, env: { EMQX_NODE__COOKIE: 'fromenv' } }).config.node.cookie, 'fromenv');
});

test('includes are resolved relative to emqx.conf; roots this node does not read are listed as ignored', (t) => {
  const root = installRoot(t, 'include "cluster.conf"\nnode { cookie = c }\nlisteners.tcp.default.bind = "0.0.0.0:1883"\ngateway { mqttsn.enable = true }\n', {
    'etc/cluster.conf': 'cluster { discovery_strategy = singleton }\n',
  });
  const loaded = loadConfig({ root, env: {} });
  assert.equal(loaded.config.cluster.discovery_strategy, 'singleton');
  assert.deepEqual(loaded.ignoredRoots.sort(), ['gateway']);
  assert.equal(loaded.config.listeners.tcp.default?.bind, '0.0.0.0:1883');
});

test('node.data_dir relative to the install root, not the etc dir or the working directory', (t) => {
  const root = installRoot(t, 'node { cookie = c, data_dir = "var/n1" }\n');
  const etc = join(root, 'elsewhere');
  mkdirSync(etc);
  writeFileSync(join(etc, 'emqx.conf'), 'node { cookie = c, data_dir = "var/n2" }\n');
  assert.equal(loadConfig({ root, env: {} }).config.node.data_dir, join(root, 'var', 'n1'));
  assert.equal(loadConfig({ root, env: { EMQX_ETC_DIR: etc } }).config.node.data_dir, join(root, 'var', 'n2'));
});

test('a TLS transport needs a readable ssl_dist.conf; its problem names the file', (t) => {
  const root = installRoot(t, 'node { cookie = c }\ncluster { proto_dist = inet_tls }\n');
  const missing = join(root, 'etc', 'missing_ssl_dist.conf');
  const problems = problemsOf(() => loadConfig({ root, env: { EMQX_SSL_DIST_OPTFILE: missing } }));
  assert.ok(problems.length >= 1);
  assert.ok(problems.every((p) => p.file === missing), problems.map(formatProblem).join('\n'));
});

test('${EMQX_ETC_DIR} substitutions resolve to the etc dir in use even when the variable is unset', (t) => {
  const root = installRoot(t, 'node { cookie = c }\ncluster.etcd.ssl_options.cacertfile = ${EMQX_ETC_DIR}"/ca.pem"\n');
  const loaded = loadConfig({ root, env: {} });
  assert.equal(loaded.config.cluster.etcd.ssl_options?.cacertfile, join(root, 'etc', 'ca.pem'));
});

test('a pathologically deep file is refused as a problem, not a crash', (t) => {
  const depth = 20_000;
  const root = installRoot(t, `node.cookie = c\nlisteners = ${'['.repeat(depth)}${']'.repeat(depth)}\n`);
  const problems = problemsOf(() => loadConfig({ root, env: {} }));
  assert.equal(problems.length, 1);
  assert.equal(problems[0]?.file, join(root, 'etc', 'emqx.conf'));
});

test('inet_tls: ssl_dist.conf is loaded into config.tls; its warnings join the list', async (t) => {
  const root = installRoot(t, 'node { cookie = c }\ncluster { proto_dist = inet_tls }\n');
  const certs = join(root, 'etc', 'certs');
  mkdirSync(certs);
  const ca = await makeCa(certs);
  const cert = await makeNodeCert(ca, certs, 'emqx@127.0.0.1');
  await writeSslDistConf(join(root, 'etc', 'ssl_dist.conf'), { certfile: cert.certFile, keyfile: cert.keyFile, cacertfile: ca.certFile });
  const loaded = loadConfig({ root, env: {} });
  assert.ok(loaded.config.tls, 'config.tls is set');
  assert.ok(loaded.config.tls.server.cert !== undefined && loaded.config.tls.client.ca !== undefined);
  assert.ok(Object.isFrozen(loaded.config.tls));
  assert.deepEqual(loaded.warnings.filter((w) => w.file !== undefined), []);
  // Without TLS the file is not read at all.
  const plain = loadConfig({ root, env: { EMQX_CLUSTER__PROTO_DIST: 'inet_tcp' } });
  assert.equal(plain.config.tls, undefined);

  const lax = join(root, 'etc', 'lax_ssl_dist.conf');
  await writeSslDistConf(lax, { certfile: cert.certFile, keyfile: cert.keyFile, cacertfile: ca.certFile, verify: 'verify_none' });
  const warned = loadConfig({ root, env: { EMQX_SSL_DIST_OPTFILE: lax } });
  const tlsWarnings = warned.warnings.filter((w) => w.file === lax);
  assert.ok(tlsWarnings.some((w) => /verify_none/.test(w.message)), tlsWarnings.map(formatProblem).join('\n'));
});

test('inet6_tls: a syntax error in ssl_dist.conf is reported with its line, alongside emqx.conf problems', (t) => {
  const root = installRoot(t, 'node { cookie = c }\ncluster { proto_dist = inet6_tls }\n', {
    'etc/ssl_dist.conf': '[{server,\n  [{certfile, "a.pem"}\n]}\n',
  });
  const problems = problemsOf(() => loadConfig({ root, env: { EMQX_CLUSTER__AUTOHEAL: 'nope' } }));
  const tls = problems.filter((p) => p.file === join(root, 'etc', 'ssl_dist.conf'));
  assert.equal(tls.length, 1, problems.map(formatProblem).join('\n'));
  assert.ok((tls[0]?.line ?? 0) >= 1);
  assert.ok(problems.some((p) => p.env === 'EMQX_CLUSTER__AUTOHEAL'));
});

test('text keys set from the environment keep the text as written (no number or boolean reading)', (t) => {
  const root = installRoot(t, 'node { cookie = c }\n');
  const loaded = loadConfig({
    root,
    env: { EMQX_NODE__COOKIE: '00123456789012345678901', EMQX_CLUSTER__DNS__NAME: 'true', EMQX_CLUSTER__K8S__SUFFIX: '1.5' },
  });
  assert.equal(loaded.config.node.cookie, '00123456789012345678901');
  assert.equal(loaded.config.cluster.dns.name, 'true');
  assert.equal(loaded.config.cluster.k8s.suffix, '1.5');
  // Typed keys still get HOCON's reading.
  const typed = loadConfig({ root, env: { EMQX_CLUSTER__AUTOHEAL: 'false', EMQX_NODE__DIST_BASE_PORT: '5000' } });
  assert.equal(typed.config.cluster.autoheal, false);
  assert.equal(typed.config.node.dist_base_port, 5000);
});

test('every certificate and key file the shipped configuration names is watched for renewal', () => {
  const { config } = loadConfig({ root: projectRoot, env: {} });
  const files = tlsFilesOf(config);
  // The ssl and wss listeners' defaults (etc/certs), whether or not the files exist here.
  for (const f of ['cert.pem', 'key.pem']) assert.ok(files.some((x) => x.endsWith(`/certs/${f}`)), `${f} in ${files.join(', ')}`);
  assert.deepEqual(tlsFilesOf({ a: { ssl_options: { certfile: '/c.pem', keyfile: '/k.pem', cacertfile: '' } }, b: [{ certfile: '/c.pem' }], tls: { cert: Buffer.from('x') } }), ['/c.pem', '/k.pem']);
});
