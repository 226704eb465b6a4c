import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HandshakeRefusal, checkChallenge, checkHello, clientMac, macEqual, newNonce, serverMac, transcriptHash,
} from '../../src/link/handshake.js';
import { PROTOCOL_NAME, PROTOCOL_VERSION } from '../../src/link/protocol.js';

const hello = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  proto: PROTOCOL_NAME, version: PROTOCOL_VERSION, from: 'a@127.0.0.1', to: 'b@127.0.0.2', cluster: 'cl',
  nonce: newNonce(), instance: 'i1', ...over,
});

function refusal(fn: () => unknown, reason: string): void {
  assert.throws(fn, (e: unknown) => e instanceof HandshakeRefusal && e.reason === reason);
}

test('a valid hello passes; each bad field gets its own reason', () => {
  assert.equal(checkHello(hello(), 'b@127.0.0.2', 'cl').from, 'a@127.0.0.1');
  refusal(() => checkHello(hello({ version: 2 }), 'b@127.0.0.2', 'cl'), 'protocol_mismatch');
  refusal(() => checkHello(hello({ proto: 'x' }), 'b@127.0.0.2', 'cl'), 'protocol_mismatch');
  refusal(() => checkHello(hello({ nonce: 'short' }), 'b@127.0.0.2', 'cl'), 'protocol_mismatch');
  refusal(() => checkHello(hello({ to: 'c@127.0.0.3' }), 'b@127.0.0.2', 'cl'), 'name_mismatch');
  refusal(() => checkHello(hello({ from: 'b@127.0.0.2' }), 'b@127.0.0.2', 'cl'), 'name_mismatch');
  refusal(() => checkHello(hello({ cluster: 'other' }), 'b@127.0.0.2', 'cl'), 'cluster_mismatch');
  refusal(() => checkHello(hello({ from: 42 }), 'b@127.0.0.2', 'cl'), 'protocol_mismatch');
});

test('the dialer refuses a peer that is not the node it dialed', () => {
  const ch = { version: PROTOCOL_VERSION, name: 'b@127.0.0.2', cluster: 'cl', nonce: newNonce(), instance: 'i' };
  assert.equal(checkChallenge(ch, 'b@127.0.0.2', 'cl').name, 'b@127.0.0.2');
  refusal(() => checkChallenge({ ...ch, name: 'evil@127.0.0.2' }, 'b@127.0.0.2', 'cl'), 'name_mismatch');
  refusal(() => checkChallenge({ ...ch, cluster: 'x' }, 'b@127.0.0.2', 'cl'), 'cluster_mismatch');
});

test('MACs depend on the cookie, the transcript and the role', () => {
  const t1 = transcriptHash(Buffer.from('hello1'), Buffer.from('challenge1'));
  const t2 = transcriptHash(Buffer.from('hello2'), Buffer.from('challenge1'));
  const c = clientMac('cookie', t1);
  assert.ok(macEqual(c, clientMac('cookie', t1)));
  assert.ok(!macEqual(c, clientMac('Cookie', t1)));
  assert.ok(!macEqual(c, clientMac('cookie', t2)));
  // The acceptor's proof can never be replayed as a dialer's proof (reflection).
  assert.ok(!macEqual(serverMac('cookie', t1, c), c));
  assert.ok(!macEqual(undefined, c));
  assert.ok(!macEqual(c.slice(1), c));
  assert.notEqual(newNonce(), newNonce());
});
