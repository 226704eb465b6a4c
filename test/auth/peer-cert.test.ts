// mqtt.peer_cert_as_username = cn on ssl and wss listeners with client certificates: the
// certificate's common name is the user name the chain checks, whatever the client wrote, so a
// client is accepted or refused by its certificate; the name also fills ${cert_common_name} in
// acl.conf.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCa, makeNodeCert, type TestCa, type TestCert } from '../helpers/certs.js';
import { createTestNode, freePort, type TestNode } from '../helpers/launcher.js';
import { closeAll, open, uniq, type OpenOptions } from '../helpers/mqtt-client.js';
import { PBKDF2_CHAIN, writeAcl } from './helpers.js';

let node: TestNode;
let dir: string;
let ca: TestCa;
let device1: TestCert;
let device2: TestCert;
let sslPort: number;
let wssPort: number;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'emqx-t-auth-certs-'));
  ca = await makeCa(join(dir, 'ca'));
  const server = await makeNodeCert(ca, join(dir, 'server'), 'broker@127.0.0.1');
  device1 = await makeNodeCert(ca, join(dir, 'd1'), 'device1', { hosts: ['127.0.0.1'] });
  device2 = await makeNodeCert(ca, join(dir, 'd2'), 'device2', { hosts: ['127.0.0.1'] });
  sslPort = await freePort();
  wssPort = await freePort();
  const ssl = `ssl_options { certfile = "${server.certFile}", keyfile = "${server.keyFile}", cacertfile = "${ca.certFile}", verify = verify_peer, fail_if_no_peer_cert = true }`;
  node = await createTestNode(undefined, {
    name: 'authcert@127.0.0.1',
    conf: [
      PBKDF2_CHAIN,
      'mqtt.peer_cert_as_username = cn',
      `listeners.ssl.default { bind = "127.0.0.1:${sslPort}", ${ssl} }`,
      `listeners.wss.default { bind = "127.0.0.1:${wssPort}", ${ssl} }`,
      'authorization { no_match = deny, sources = [{ type = file, path = "${EMQX_ETC_DIR}/acl.conf" }] }',
    ].join('\n'),
    env: { EMQX_LISTENERS__SSL__DEFAULT__ENABLE: 'true', EMQX_LISTENERS__WSS__DEFAULT__ENABLE: 'true' },
  });
  writeAcl(node.etcDir, '{allow, all, all, ["certs/${cert_common_name}/#"]}.\n');
  await node.startOk();
  const r = await node.ctl(['users', 'add', 'device1', 'd1-pw']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
});

after(async () => {
  await closeAll();
  await node?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const tls = (cert: TestCert): OpenOptions => ({ ca: readFileSync(ca.certFile), rejectUnauthorized: true, cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) });

async function refusal(opts: OpenOptions): Promise<number | undefined> {
  try {
    const c = await open(0, opts);
    await c.end();
    return 0;
  } catch (err) {
    return (err as { code?: number }).code;
  }
}

for (const [kind, url] of [['ssl', () => `mqtts://127.0.0.1:${sslPort}`], ['wss', () => `wss://127.0.0.1:${wssPort}/mqtt`]] as const) {
  test(`${kind}: the certificate's CN is the user name: device1 accepted, device2 refused even when it claims device1`, async () => {
    const c = await open(0, { url: url(), ...tls(device1), username: 'ignored', password: 'd1-pw', clientId: `d1-${uniq()}` });
    assert.equal(c.connack.reasonCode, 0);
    const shown = await node.ctl(['clients', 'show', c.mqtt.options.clientId!]);
    assert.match(shown.stdout, /username=device1,/);
    // ${cert_common_name} in acl.conf: device1 may use certs/device1/#.
    const granted = await c.subscribe('certs/device1/#', { qos: 1 });
    assert.equal(granted[0]!.qos, 1);
    await c.end();
    assert.equal(await refusal({ url: url(), ...tls(device2), username: 'device1', password: 'd1-pw', clientId: `d2-${uniq()}` }), 0x86);
  });
}
