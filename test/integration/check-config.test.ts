// `./bin/emqx check_config` and `./bin/emqx hocon FILE` as an operator runs them: real processes,
// each config in its own temporary etc dir selected with EMQX_ETC_DIR.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN_EMQX, assertBuilt, cleanEnv, run } from '../helpers/launcher.js';
import type { RunResult } from '../helpers/launcher.js';

const GOOD = 'node {\n  name = "emqx@127.0.0.1"\n  cookie = "a-real-secret"\n}\ncluster {\n  discovery_strategy = static\n  static.seeds = ["emqx1@127.0.0.2"]\n}\n';

function etcDir(t: { after: (fn: () => void) => void }, conf?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'emqx-check-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  if (conf !== undefined) writeFileSync(join(dir, 'emqx.conf'), conf);
  return dir;
}

async function emqx(args: string[], env: Record<string, string | undefined>): Promise<RunResult> {
  return run(BIN_EMQX, args, { env: cleanEnv(env), timeoutMs: 20_000 });
}

function assertNoStackTrace(r: RunResult): void {
  assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+\)?\n/, `stack trace printed:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /TypeError|ReferenceError|node:internal/);
}

test('check_config: a good config prints `config is OK` and exits 0', { timeout: 30_000 }, async (t) => {
  assertBuilt();
  const etc = etcDir(t, GOOD);
  const r = await emqx(['check_config'], { EMQX_ETC_DIR: etc });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'config is OK\n');
  assert.equal(r.stderr, '');
});

test('check_config: the default cookie is OK with a warning on stderr', { timeout: 30_000 }, async (t) => {
  const etc = etcDir(t, 'node { cookie = emqxsecretcookie }\n');
  const r = await emqx(['check_config'], { EMQX_ETC_DIR: etc });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'config is OK\n');
  assert.match(r.stderr, /Default \(insecure\) Erlang cookie is in use\./);
});

test('check_config --print: the effective config as JSON, env applied, cookie redacted', { timeout: 30_000 }, async (t) => {
  const etc = etcDir(t, GOOD);
  const r = await emqx(['check_config', '--print'], { EMQX_ETC_DIR: etc, EMQX_CLUSTER__AUTOCLEAN: '5m', EMQX_NODE__COOKIE: 'from-env-secret' });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.endsWith('config is OK\n'));
  const json = JSON.parse(r.stdout.slice(0, r.stdout.lastIndexOf('config is OK'))) as {
    node: Record<string, unknown>;
    cluster: Record<string, unknown>;
  };
  assert.equal(json.node.cookie, '******');
  assert.equal(json.node.name, 'emqx@127.0.0.1');
  assert.equal(json.cluster.autoclean, '5m');
  assert.deepEqual(json.cluster.static, { seeds: ['emqx1@127.0.0.2'] });
  assert.ok(!r.stdout.includes('from-env-secret') && !r.stdout.includes('a-real-secret'));
});

test('check_config: a missing brace is refused with file:line:column', { timeout: 30_000 }, async (t) => {
  const etc = etcDir(t, 'node {\n  cookie = abc\n  name = "emqx@127.0.0.1"\n\ncluster {\n  name = emqxcl\n}\n');
  const r = await emqx(['check_config'], { EMQX_ETC_DIR: etc });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`^ERROR: ${join(etc, 'emqx.conf')}:\\d+:\\d+: .*'\\}'`, 'm'));
  assertNoStackTrace(r);
});

test('check_config: a wrong type names the key, the value and what is allowed', { timeout: 30_000 }, async (t) => {
  const etc = etcDir(t, 'node { cookie = abc }\ncluster {\n  autoheal = sometimes\n  autoclean = soon\n}\n');
  const r = await emqx(['check_config'], { EMQX_ETC_DIR: etc });
  assert.equal(r.code, 1);
  const file = join(etc, 'emqx.conf');
  assert.ok(r.stderr.includes(`ERROR: ${file}:3:3: cluster.autoheal: 'sometimes' is not a boolean (true or false)`), r.stderr);
  assert.ok(r.stderr.includes(`ERROR: ${file}:4:3: cluster.autoclean: 'soon' is not a duration`), r.stderr);
  assert.match(r.stderr, /config is NOT OK: 2 problems/);
  assertNoStackTrace(r);
});

test('check_config: an unknown key is refused with a suggestion', { timeout: 30_000 }, async (t) => {
  const etc = etcDir(t, 'node { cookie = abc }\ncluster {\n  discovery_strategy = statik\n  autohael = true\n}\n');
  const r = await emqx(['check_config'], { EMQX_ETC_DIR: etc });
  assert.equal(r.code, 1);
  const file = join(etc, 'emqx.conf');
  assert.ok(
    r.stderr.includes(`${file}:3:3: cluster.discovery_strategy: 'statik' is not one of manual, static, singleton, dns, etcd, k8s (did you mean static?)`),
    r.stderr,
  );
  assert.ok(r.stderr.includes(`${file}:4:3: cluster.autohael: unknown key (did you mean cluster.autoheal?)`), r.stderr);
  assertNoStackTrace(r);
});

test('check_config: a bad node name is refused', { timeout: 30_000 }, async (t) => {
  const etc = etcDir(t, 'node {\n  cookie = abc\n  name = "emqx.1@127.0.0.1"\n}\n');
  const r = await emqx(['check_config'], { EMQX_ETC_DIR: etc });
  assert.equal(r.code, 1);
  assert.ok(r.stderr.includes(`${join(etc, 'emqx.conf')}:3:3: node.name: Invalid node name, should be of format '^[0-9A-Za-z_-]+$'.`), r.stderr);
  assertNoStackTrace(r);
});

test('check_config: a bad environment value is refused naming the variable', { timeout: 30_000 }, async (t) => {
  const etc = etcDir(t, GOOD);
  const r = await emqx(['check_config'], { EMQX_ETC_DIR: etc, EMQX_NODE__DIST_BASE_PORT: '80', EMQX_CLUSTER__STATIC__SEEDS: '[ok@127.0.0.1, broken]' });
  assert.equal(r.code, 1);
  assert.ok(r.stderr.includes('ERROR: EMQX_NODE__DIST_BASE_PORT: node.dist_base_port: 80 is not in 1024..65535'), r.stderr);
  assert.ok(r.stderr.includes("ERROR: EMQX_CLUSTER__STATIC__SEEDS: cluster.static.seeds: seed 'broken'"), r.stderr);
  assertNoStackTrace(r);
});

test('check_config: an environment variable for an unknown key warns and still passes', { timeout: 30_000 }, async (t) => {
  const etc = etcDir(t, GOOD);
  const r = await emqx(['check_config'], { EMQX_ETC_DIR: etc, EMQX_NODE__COOKEI: 'x', EMQX_LISTENERS__TCP__DEFAULT__BIND: '1883' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'config is OK\n');
  assert.equal(r.stderr, 'WARNING: EMQX_NODE__COOKEI: unknown key node.cookei, variable ignored (did you mean node.cookie?)\n');
});

test('check_config: no emqx.conf where EMQX_ETC_DIR points', { timeout: 30_000 }, async (t) => {
  const etc = etcDir(t);
  const r = await emqx(['check_config'], { EMQX_ETC_DIR: etc });
  assert.equal(r.code, 1);
  assert.ok(r.stderr.includes(`ERROR: ${join(etc, 'emqx.conf')}: config file not found`), r.stderr);
  assertNoStackTrace(r);
});

test('hocon FILE prints the resolved file as JSON; a broken one its position', { timeout: 30_000 }, async (t) => {
  const dir = etcDir(t);
  writeFileSync(join(dir, 'a.conf'), 'a { b = 1, c = ${a.b} }\na.d = [x, "y"]\ninclude "b.conf"\nnode.cookie = s3cret\n');
  writeFileSync(join(dir, 'b.conf'), 'e = "included"\n');
  const ok = await emqx(['hocon', join(dir, 'a.conf')], {});
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout), { a: { b: 1, c: 1, d: ['x', 'y'] }, e: 'included', node: { cookie: '******' } });
  writeFileSync(join(dir, 'bad.conf'), 'a {\n  b = [1, 2\n}\n');
  const bad = await emqx(['hocon', join(dir, 'bad.conf')], {});
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, new RegExp(`^ERROR: ${join(dir, 'bad.conf')}:\\d+:\\d+: `));
  assertNoStackTrace(bad);
  const none = await emqx(['hocon'], {});
  assert.equal(none.code, 1);
  assert.match(none.stderr, /Usage: emqx hocon FILE/);
});

test('check_config: with inet_tls, ssl_dist.conf is checked too (syntax line, missing certificate file)', { timeout: 30_000 }, async (t) => {
  const etc = etcDir(t, 'node { cookie = abc }\ncluster { proto_dist = inet_tls }\n');
  writeFileSync(join(etc, 'ssl_dist.conf'), '[{server,\n  [{certfile, "cert.pem"}\n]}\n');
  const syntax = await emqx(['check_config'], { EMQX_ETC_DIR: etc });
  assert.equal(syntax.code, 1);
  assert.match(syntax.stderr, new RegExp(`^ERROR: ${join(etc, 'ssl_dist.conf')}:\\d+(:\\d+)?: `, 'm'));
  assertNoStackTrace(syntax);

  const other = join(etc, 'other_ssl_dist.conf');
  writeFileSync(other, '[{server, [{certfile, "nope/cert.pem"}, {keyfile, "nope/key.pem"}]}, {client, []}].\n');
  const missing = await emqx(['check_config'], { EMQX_ETC_DIR: etc, EMQX_SSL_DIST_OPTFILE: other });
  assert.equal(missing.code, 1);
  assert.ok(missing.stderr.includes(`ERROR: ${other}`), missing.stderr);
  assert.match(missing.stderr, /nope\/cert\.pem/);
  assertNoStackTrace(missing);
});

test('check_config finds what start would refuse: port past 65535, IPv4 host with inet6_tcp, a 300-character name', { timeout: 60_000 }, async (t) => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['node {\n  cookie = abc\n  name = "emqx65@127.0.0.1"\n  dist_base_port = 65500\n}\n', {}, /emqx\.conf:4:3: node\.dist_base_port: 65500 \+ 65 .* port 65565, above 65535/],
    ['node {\n  cookie = abc\n  name = "emqx@127.0.0.1"\n}\ncluster.proto_dist = inet6_tcp\n', {}, /emqx\.conf:5:1: cluster\.proto_dist: inet6_tcp links over IPv6, but the host of node\.name 'emqx@127\.0\.0\.1' is an IPv4 address/],
    ['node {\n  cookie = abc\n}\n', { EMQX_NODE__NAME: `${'n'.repeat(300)}@127.0.0.1` }, /EMQX_NODE__NAME: node\.name: is 310 bytes long; at most 255/],
  ];
  for (const [conf, env, want] of cases) {
    const etc = etcDir(t, conf);
    const data = mkdtempSync(join(tmpdir(), 'emqx-check-data-'));
    t.after(() => rmSync(data, { recursive: true, force: true }));
    const vars = { EMQX_ETC_DIR: etc, EMQX_NODE__DATA_DIR: data, EMQX_LOG_DIR: join(data, 'log'), ...env };
    const checked = await emqx(['check_config'], vars);
    assert.equal(checked.code, 1, `check_config passed:\n${conf}`);
    assert.match(checked.stderr, want);
    assertNoStackTrace(checked);
    // start refuses the same way, before anything starts.
    const started = await emqx(['start'], vars);
    assert.equal(started.code, 1, started.stdout);
    assert.match(started.stderr, want);
    assert.doesNotMatch(started.stderr, /options\.port|ENAMETOOLONG|cannot resolve this node's host/);
  }
});
