import { test } from 'node:test';
import assert from 'node:assert/strict';
import { distPort, parseNodeName, qualifyNodeName, NodeNameError } from '../../src/node/name.js';

test('distPort derives the port from the trailing integer of the name part', () => {
  assert.equal(distPort('emqx@h.example.com'), 4370);
  assert.equal(distPort('emqx1@h.example.com'), 4371);
  assert.equal(distPort('emqx2@127.0.0.1'), 4372);
  assert.equal(distPort('node07@h.example.com'), 4377);
  assert.equal(distPort('n60001@::1'), 4371);
  assert.equal(distPort('n99999999999999999999999@h.io'), 4370 + Number(99999999999999999999999n % 60000n));
  assert.equal(distPort('emqx3@h.io', 5000), 5003);
});

test('parseNodeName accepts IPv4, IPv6, FQDN and localhost hosts', () => {
  assert.deepEqual(parseNodeName('emqx@127.0.0.1'), { full: 'emqx@127.0.0.1', name: 'emqx', host: '127.0.0.1', hostKind: 'ipv4' });
  assert.equal(parseNodeName('emqx@::1').hostKind, 'ipv6');
  assert.equal(parseNodeName('emqx@fd00::a:1').hostKind, 'ipv6');
  assert.equal(parseNodeName('emqx@s1.emqx.io').hostKind, 'fqdn');
  assert.equal(parseNodeName('my_node-1@localhost').host, 'localhost');
});

test('parseNodeName refuses bad names with EMQX wording', () => {
  assert.throws(() => parseNodeName('em qx@127.0.0.1'), { message: "Invalid node name, should be of format '^[0-9A-Za-z_-]+$'." });
  assert.throws(() => parseNodeName('@127.0.0.1'), NodeNameError);
  assert.throws(() => parseNodeName('emqx'), /name@host/);
  assert.throws(() => parseNodeName('emqx@a@b'), /name@host/);
  assert.throws(() => parseNodeName('emqx@myhost'), /dotless host/);
  assert.throws(() => parseNodeName('emqx@127.0.0.256'), /host '127.0.0.256'/);
  assert.throws(() => parseNodeName('emqx@-bad.example.com'), NodeNameError);
});

test('qualifyNodeName appends this node host to a bare name', () => {
  assert.equal(qualifyNodeName('emqx2', 'emqx1@127.0.0.1'), 'emqx2@127.0.0.1');
  assert.equal(qualifyNodeName('emqx2@h.io', 'emqx1@127.0.0.1'), 'emqx2@h.io');
  assert.equal(qualifyNodeName('emqx2', 'emqx1@::1'), 'emqx2@::1');
});
