import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactTree, redactConfig, isSecretKey, REDACTED } from '../../src/config/redact.js';
import { validateConfig } from '../../src/config/schema.js';

const paths = { root: '/r', etc_dir: '/r/etc', conf_file: '/r/etc/emqx.conf', log_dir: '/r/log', ssl_dist_optfile: '/r/etc/ssl_dist.conf' };

test('the cookie and any password or secret are replaced, at any depth', () => {
  const tree = {
    node: { name: 'emqx@127.0.0.1', cookie: 'topsecret' },
    cluster: { etcd: { ssl_options: { password: 'p', keyfile: '/k.pem', certfile: '/c.pem' } } },
    other: [{ client_secret: 's', api_password: 'q', token: 't', token_file: '/var/run/token' }],
    tls: { server: { key: Buffer.from('PEM'), passphrase: 'x', cert: Buffer.from('CERT') } },
  };
  const out = redactTree(tree) as typeof tree;
  assert.equal(out.node.cookie, REDACTED);
  assert.equal(out.node.name, 'emqx@127.0.0.1');
  assert.equal(out.cluster.etcd.ssl_options.password, REDACTED);
  assert.equal(out.cluster.etcd.ssl_options.keyfile, '/k.pem');
  assert.equal(out.other[0]!.client_secret, REDACTED);
  assert.equal(out.other[0]!.api_password, REDACTED);
  assert.equal(out.other[0]!.token, REDACTED);
  assert.equal(out.other[0]!.token_file, '/var/run/token');
  assert.equal(out.tls.server.key as unknown, REDACTED);
  assert.equal(out.tls.server.passphrase, REDACTED);
  assert.ok(Buffer.isBuffer(out.tls.server.cert));
  // The input is untouched.
  assert.equal(tree.node.cookie, 'topsecret');
  assert.ok(!JSON.stringify(out).includes('topsecret'));
});

test('secret key names', () => {
  for (const k of ['cookie', 'password', 'Password', 'secret', 'client_secret', 'passphrase', 'key', 'token']) assert.ok(isSecretKey(k), k);
  for (const k of ['keyfile', 'token_file', 'cacert_file', 'name', 'keys', 'server_name_indication']) assert.ok(!isSecretKey(k), k);
});

test('redactConfig leaves no cookie in a printed Config', () => {
  const { config } = validateConfig({ node: { cookie: 'c00kie-value' } }, { paths, env: {} });
  assert.ok(config);
  const printed = JSON.stringify(redactConfig(config));
  assert.ok(!printed.includes('c00kie-value'));
  assert.match(printed, /"cookie":"\*\*\*\*\*\*"/);
});
