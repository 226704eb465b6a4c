// A listener's access_rules (EMQX's, from esockd): the rules alone, then a node whose tcp and ws
// listeners refuse some loopback source addresses (127.0.0.x are all this machine's) before any
// MQTT, and a reload that lifts the rule.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqttPacket, { type Packet } from 'mqtt-packet';
import mqtt from 'mqtt';
import { accessAllowed, parseAccessRule, type AccessRule } from '../../src/mqtt/access-rules.js';
import { freePort, type TestNode } from '../helpers/launcher.js';
import { makeCa, makeNodeCert, type TestCa } from '../helpers/certs.js';
import { applyConf, poll, startMqttNode, uniq, within } from '../helpers/mqtt-client.js';

const rules = (...texts: string[]): AccessRule[] =>
  texts.map((t) => {
    const r = parseAccessRule(t);
    assert.notEqual(typeof r, 'string', `${t}: ${String(r)}`);
    return r as AccessRule;
  });

test('rules: the first that matches decides, none matching allows; CIDR ranges, lists, IPv6; mistakes named', () => {
  const r = rules('deny 10.0.0.0/8, 192.168.1.7', 'allow 10.1.0.0/16', 'allow all');
  assert.equal(accessAllowed(r, '10.1.2.3'), false, 'the deny comes first');
  assert.equal(accessAllowed(r, '192.168.1.7'), false);
  assert.equal(accessAllowed(r, '192.168.1.8'), true);
  assert.equal(accessAllowed(r, '::ffff:10.9.9.9'), false, 'a mapped IPv4 address is its IPv4 address');
  const only = rules('allow 127.0.0.1', 'allow ::1', 'deny all');
  assert.equal(accessAllowed(only, '127.0.0.1'), true);
  assert.equal(accessAllowed(only, '::1'), true);
  assert.equal(accessAllowed(only, '127.0.0.2'), false);
  assert.equal(accessAllowed(rules('deny 2001:db8::/32'), '2001:db8::5'), false);
  assert.equal(accessAllowed(rules('deny 2001:db8::/32'), '2001:db9::5'), true, 'no rule matches: allowed (esockd)');
  assert.match(String(parseAccessRule('permit all')), /is not "allow <who>" or "deny <who>"/);
  assert.match(String(parseAccessRule('deny 10.0.0.0/33')), /prefix length must be 0\.\.32/);
  assert.match(String(parseAccessRule('deny 10.0.0.0/8, nope')), /'nope' is not an IP address or CIDR range/);
});

/** CONNECT from `source` (a 127.0.0.x address): the CONNACK's code, or 'closed' when the node closes first. */
function connectFrom(port: number, source: string): Promise<number | 'closed'> {
  return within(
    new Promise((resolve) => {
      const s = connect({ host: '127.0.0.1', port, localAddress: source });
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      parser.on('packet', (p: Packet) => {
        if (p.cmd === 'connack') {
          resolve(p.returnCode ?? 0);
          s.destroy();
        }
      });
      s.on('data', (d) => parser.parse(d));
      s.on('connect', () => s.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: `ar-${uniq()}`, clean: true, keepalive: 30 })));
      s.on('close', () => resolve('closed'));
      s.on('error', () => undefined);
    }),
    5000,
    `a CONNECT from ${source}`,
  );
}

describe('a node with access_rules on its listeners', () => {
  let node: TestNode;
  let certDir: string;
  let ca: TestCa;
  let sslConf = '';
  let sslPort = 0;
  const conf = (tcpRules: string): string => `listeners.tcp.default.access_rules = ${tcpRules}
listeners.ws.default.access_rules = ["allow 127.0.0.1", "deny all"]
${sslConf}`;

  before(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'emqx-t-access-'));
    ca = await makeCa(join(certDir, 'ca'));
    const server = await makeNodeCert(ca, join(certDir, 'server'), 'broker@127.0.0.1');
    sslPort = await freePort();
    // A listener of its own: the test launcher turns the default ones off through the environment.
    sslConf = `listeners.ssl.guarded { bind = "127.0.0.1:${sslPort}", access_rules = ["deny 127.0.0.5", "allow all"]
  ssl_options { certfile = "${server.certFile}", keyfile = "${server.keyFile}", cacertfile = "${ca.certFile}" } }`;
    node = await startMqttNode({ name: 'accessrules@127.0.0.1', mqtt: { ws: true }, conf: conf('["deny 127.0.0.2", "allow all"]') });
  });

  after(async () => {
    await node?.cleanup();
    rmSync(certDir, { recursive: true, force: true });
  });

  test('ssl: a denied source is closed before the TLS handshake', async () => {
    const handshake = (source: string): Promise<'secure' | 'closed'> =>
      within(
        new Promise((resolve) => {
          const raw = connect({ host: '127.0.0.1', port: sslPort, localAddress: source });
          raw.on('error', () => undefined);
          // Not verified: the test is about whether the handshake happens at all.
          const s = tlsConnect({ socket: raw, rejectUnauthorized: false });
          s.on('secureConnect', () => {
            resolve('secure');
            s.end();
          });
          s.on('close', () => resolve('closed'));
          s.on('error', () => undefined);
        }),
        5000,
        `a TLS handshake from ${source}`,
      );
    assert.equal(await handshake('127.0.0.5'), 'closed');
    await poll(() => (/"listener":"ssl:guarded","peer":"127\.0\.0\.5".*connection refused by the listener's access_rules/.test(node.logText()) ? true : undefined), 5000, 'the refusal in the log');
    // Checked before the allowed handshake below, whose own close could be logged by TLS.
    assert.doesNotMatch(node.logText(), /TLS handshake failed/, 'refused before TLS, not by it');
    assert.equal(await handshake('127.0.0.1'), 'secure');
  });

  test('tcp: a denied source is closed before any MQTT; others are served', async () => {
    assert.equal(await connectFrom(node.mqttPort!, '127.0.0.2'), 'closed');
    assert.equal(await connectFrom(node.mqttPort!, '127.0.0.1'), 0);
    assert.equal(await connectFrom(node.mqttPort!, '127.0.0.3'), 0);
    assert.match(node.logText(), /"listener":"tcp:default","peer":"127\.0\.0\.2".*connection refused by the listener's access_rules/);
    const listeners = (await node.ctl(['listeners'])).stdout;
    assert.match(listeners, /tcp:default\n(?: {2}.*\n)*? {2}shutdown_count\s*: \[\{access_denied,1\}\]\n/);
  });

  test('ws: "deny all" after the allowed address refuses the rest before the upgrade', async () => {
    const ok = await mqtt.connectAsync(`ws://127.0.0.1:${node.wsPort}/mqtt`, { reconnectPeriod: 0, connectTimeout: 5000, clientId: `ws-${uniq()}` });
    await ok.endAsync();
    await assert.rejects(mqtt.connectAsync(`ws://127.0.0.1:${node.wsPort}/mqtt`, { reconnectPeriod: 0, connectTimeout: 5000, clientId: `ws-${uniq()}`, wsOptions: { localAddress: '127.0.0.4' } }));
    assert.match(node.logText(), /"listener":"ws:default","peer":"127\.0\.0\.4".*connection refused by the listener's access_rules/);
  });

  test('a reload changes the rules for the next connections; a bad rule is refused with the key named', async () => {
    await applyConf(node, conf('["allow all"]'));
    let got: number | 'closed' = 'closed';
    for (let i = 0; i < 50 && got !== 0; i++) {
      got = await connectFrom(node.mqttPort!, '127.0.0.2');
      if (got !== 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(got, 0, '127.0.0.2 let in after the reload');
    const bad = await applyConf(node, conf('["refuse 127.0.0.5"]'));
    assert.notEqual(bad.code, 0);
    assert.match(bad.stdout + bad.stderr, /listeners\.tcp\.default\.access_rules: \[1\] 'refuse 127\.0\.0\.5' is not "allow <who>" or "deny <who>"/);
    assert.equal(await connectFrom(node.mqttPort!, '127.0.0.2'), 0, 'the rules in force stay');
  });
});
