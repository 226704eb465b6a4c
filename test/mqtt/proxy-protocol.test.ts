// The PROXY protocol parser against headers written by hand from HAProxy's specification: v1
// (TCP4, TCP6, UNKNOWN), v2 (IPv4, IPv6, LOCAL, the SSL TLV's common name), headers cut short,
// too long or malformed, and what follows a header left to the client's protocol; and the
// forwarded-address headers of a WebSocket upgrade.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProxyHeader } from '../../src/mqtt/proxy-protocol.js';
import { forwardedPeer } from '../../src/mqtt/forwarded-peer.js';

const SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

function v2(verCmd: number, fam: number, body: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(body.length);
  return Buffer.concat([SIG, Buffer.from([verCmd, fam]), len, body]);
}

function tlv(type: number, value: Buffer): Buffer {
  const h = Buffer.from([type, 0, 0]);
  h.writeUInt16BE(value.length, 1);
  return Buffer.concat([h, value]);
}

const ipv4Body = (extra = Buffer.alloc(0)): Buffer => Buffer.concat([Buffer.from([203, 0, 113, 7, 10, 0, 0, 1]), Buffer.from([0xc3, 0x50, 0x07, 0x5b]), extra]);

test('v1: TCP4 and TCP6 give the client, UNKNOWN gives none; what follows is the client\'s', () => {
  const line = 'PROXY TCP4 203.0.113.7 10.0.0.1 50000 1883\r\n';
  assert.deepEqual(parseProxyHeader(Buffer.from(`${line}\x10\x0c`)), { length: line.length, source: { address: '203.0.113.7', port: 50000 } });
  const six = 'PROXY TCP6 2001:db8::7 2001:db8::1 443 8883\r\n';
  assert.deepEqual(parseProxyHeader(Buffer.from(six)), { length: six.length, source: { address: '2001:db8::7', port: 443 } });
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n')), { length: 15 });
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY UNKNOWN ffff:f::1 ffff:f::2 1 2\r\n')), { length: 39 });
});

test('v1: cut short asks for more; too long, malformed or not a header is refused', () => {
  for (const part of ['P', 'PROXY', 'PROXY TCP4 203.0.113.7 10.0.0.1 50000 18']) assert.deepEqual(parseProxyHeader(Buffer.from(part)), { need: true }, part);
  assert.match(String((parseProxyHeader(Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`)) as { error: string }).error), /longer than 107 bytes/);
  for (const bad of [
    'PROXY TCP4 203.0.113.999 10.0.0.1 50000 1883\r\n',
    'PROXY TCP4 203.0.113.7 10.0.0.1 70000 1883\r\n',
    'PROXY TCP4 2001:db8::7 10.0.0.1 1 2\r\n',
    'PROXY TCP6 203.0.113.7 10.0.0.1 1 2\r\n',
    'PROXY UDP4 203.0.113.7 10.0.0.1 1 2\r\n',
    'PROXY TCP4 203.0.113.7 10.0.0.1 +1 2\r\n',
    'PROXY TCP4 203.0.113.7  10.0.0.1 1 2\r\n',
  ]) {
    assert.match(String((parseProxyHeader(Buffer.from(bad)) as { error: string }).error), /malformed PROXY v1 line/, bad);
  }
  assert.match(String((parseProxyHeader(Buffer.from([0x10, 0x0c, 0x00, 0x04])) as { error: string }).error), /does not start with a PROXY protocol header/);
  assert.match(String((parseProxyHeader(Buffer.from('GET / HTTP/1.1\r\n')) as { error: string }).error), /does not start/);
});

test('v2: IPv4 and IPv6 give the client; LOCAL gives none; the SSL TLV names the certificate', () => {
  const four = v2(0x21, 0x11, ipv4Body());
  assert.deepEqual(parseProxyHeader(Buffer.concat([four, Buffer.from([0x10])])), { length: four.length, source: { address: '203.0.113.7', port: 50000 } });

  const src = Buffer.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]);
  const dst = Buffer.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  const six = v2(0x21, 0x21, Buffer.concat([src, dst, Buffer.from([0x01, 0xbb, 0x22, 0xb3])]));
  assert.deepEqual(parseProxyHeader(six), { length: six.length, source: { address: '2001:db8::7', port: 443 } });

  const local = v2(0x20, 0x00, Buffer.alloc(0));
  assert.deepEqual(parseProxyHeader(local), { length: 16 });

  // PP2_TYPE_ALPN first (skipped), then PP2_TYPE_SSL: client flags, verify result, sub-TLVs (version, CN).
  const ssl = Buffer.concat([Buffer.from([0x07, 0, 0, 0, 0]), tlv(0x21, Buffer.from('TLSv1.3')), tlv(0x22, Buffer.from('device-7'))]);
  const withCn = v2(0x21, 0x11, ipv4Body(Buffer.concat([tlv(0x01, Buffer.from('mqtt')), tlv(0x20, ssl)])));
  assert.deepEqual(parseProxyHeader(withCn), { length: withCn.length, source: { address: '203.0.113.7', port: 50000 }, sslCn: 'device-7' });
});

test('v2: cut short asks for more; another version or command, too long, or short addresses is refused', () => {
  const four = v2(0x21, 0x11, ipv4Body());
  for (const n of [1, 11, 12, 15, 16, four.length - 1]) assert.deepEqual(parseProxyHeader(four.subarray(0, n)), { need: true }, `${n} bytes`);
  assert.match(String((parseProxyHeader(v2(0x11, 0x11, ipv4Body())) as { error: string }).error), /version 1/);
  assert.match(String((parseProxyHeader(v2(0x22, 0x11, ipv4Body())) as { error: string }).error), /command 2/);
  assert.match(String((parseProxyHeader(v2(0x21, 0x11, Buffer.alloc(5000))) as { error: string }).error), /at most 4096/);
  assert.match(String((parseProxyHeader(v2(0x21, 0x11, Buffer.alloc(8))) as { error: string }).error), /too short for IPv4/);
  assert.match(String((parseProxyHeader(v2(0x21, 0x21, Buffer.alloc(20))) as { error: string }).error), /too short for IPv6/);
  // A TLV that claims more than there is carries no name; the address stands.
  const cut = v2(0x21, 0x11, ipv4Body(Buffer.from([0x20, 0x00, 0x40, 0x07])));
  assert.deepEqual(parseProxyHeader(cut), { length: cut.length, source: { address: '203.0.113.7', port: 50000 } });
});

test('forwarded headers: the leftmost address, the port; anything else falls back to the socket', () => {
  const sock = { address: '10.0.0.2', port: 5555 };
  const names = { address: 'X-Forwarded-For', port: 'x-forwarded-port' };
  assert.deepEqual(forwardedPeer({ 'x-forwarded-for': '203.0.113.7, 10.0.0.1', 'x-forwarded-port': '4321' }, names, sock), { address: '203.0.113.7', port: 4321 });
  assert.deepEqual(forwardedPeer({ 'x-forwarded-for': '[2001:db8::7]' }, names, sock), { address: '2001:db8::7', port: 5555 });
  assert.deepEqual(forwardedPeer({ 'x-forwarded-for': 'unknown', 'x-forwarded-port': '70000' }, names, sock), sock);
  assert.deepEqual(forwardedPeer({ 'x-forwarded-for': '203.0.113.7' }, { address: '', port: '' }, sock), sock, 'off (the default): never read');
});
