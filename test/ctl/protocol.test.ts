import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeReply, encodeReplyHeader, encodeRequest, MAX_BODY_LENGTH, parseReply, parseRequest, RequestKind } from '../../src/ctl/protocol.js';

test('a request round-trips, byte by byte', () => {
  const req = { kind: RequestKind.command, args: ['cluster', 'join', 'emqx2@127.0.0.1', 'ünïcode', ''] };
  const bytes = encodeRequest(req);
  for (let i = 0; i < bytes.length; i++) assert.equal(parseRequest(bytes.subarray(0, i)).status, 'incomplete', `prefix ${i}`);
  assert.deepEqual(parseRequest(bytes), { status: 'ok', request: req });
});

test('a request without arguments', () => {
  assert.deepEqual(parseRequest(encodeRequest({ kind: RequestKind.ping, args: [] })), { status: 'ok', request: { kind: 'P', args: [] } });
});

test('garbage is rejected at the first wrong byte, with a reason', () => {
  const bad = (b: Buffer): string => {
    const r = parseRequest(b);
    assert.equal(r.status, 'invalid');
    return r.status === 'invalid' ? r.reason : '';
  };
  assert.match(bad(Buffer.from('G')), /bad magic/);
  assert.match(bad(Buffer.from('GET / HTTP/1.1\r\n')), /bad magic/);
  assert.match(bad(Buffer.from('ECTLx\0\0\0\0')), /unknown request kind/);
  const huge = Buffer.from('ECTLC\0\0\0\0', 'latin1');
  huge.writeUInt32BE(MAX_BODY_LENGTH + 1, 5);
  assert.match(bad(huge), /too large/);
  assert.match(bad(Buffer.concat([encodeRequest({ kind: 'C', args: ['a'] }), Buffer.from('x')])), /trailing/);
  const unterminated = Buffer.from('ECTLC\0\0\0\x01a', 'latin1');
  assert.match(bad(unterminated), /NUL-terminated/);
});

test('reply header carries the exit code; out-of-range codes become 1', () => {
  const reply = Buffer.concat([encodeReplyHeader(3), Buffer.from('hello\n')]);
  const r = parseReply(reply);
  assert.equal(r.status, 'ok');
  if (r.status === 'ok') {
    assert.equal(r.code, 3);
    assert.equal(r.output.toString(), 'hello\n');
  }
  assert.equal(encodeReplyHeader(300)[4], 1);
  assert.equal(encodeReplyHeader(-1)[4], 1);
  assert.equal(parseReply(Buffer.from('ECT')).status, 'incomplete');
  assert.equal(parseReply(Buffer.from('XXXX\0')).status, 'invalid');
});

test('a keyed request carries the pointer key the client computed; mismatch replies are recognised', () => {
  const bytes = encodeRequest({ kind: RequestKind.command, args: ['status'], expectedKey: '0123456789abcdef' });
  assert.equal(bytes.toString('latin1', 4, 5), 'c');
  assert.deepEqual(parseRequest(bytes), { status: 'ok', request: { kind: 'C', args: ['status'], expectedKey: '0123456789abcdef' } });
  const ping = encodeRequest({ kind: RequestKind.ping, args: [], expectedKey: 'k' });
  assert.deepEqual(parseRequest(ping), { status: 'ok', request: { kind: 'P', args: [], expectedKey: 'k' } });
  assert.deepEqual(parseRequest(Buffer.from('ECTLc\0\0\0\0', 'latin1')), { status: 'invalid', reason: 'keyed request without a key' });
  assert.deepEqual(parseReply(Buffer.from('ECTM')), { status: 'mismatch' });
});

test('a reply with stderr lines carries the stdout length first; without any, the reply is as before', () => {
  assert.deepEqual(encodeReply(2, 'out\n'), Buffer.concat([encodeReplyHeader(2), Buffer.from('out\n')]));
  const bytes = encodeReply(1, 'Failed: x\n', 'a hint\n');
  assert.equal(bytes.toString('latin1', 0, 4), 'ECTE');
  for (let i = 0; i < 9 + 'Failed: x\n'.length; i++) assert.equal(parseReply(bytes.subarray(0, i)).status, 'incomplete', `prefix ${i}`);
  const r = parseReply(bytes);
  assert.equal(r.status, 'ok');
  if (r.status === 'ok') assert.deepEqual([r.code, r.output.toString(), r.stderr.toString()], [1, 'Failed: x\n', 'a hint\n']);
});
