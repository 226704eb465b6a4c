// The authenticated handshake, as pure functions (no sockets):
//   dialer   → Hello {from, to, cluster, nonceD}
//   acceptor → Challenge {name, cluster, nonceA}
//   dialer   → Proof {HMAC(cookie, "client" ‖ T)}          T = SHA-256(Hello body ‖ Challenge body)
//   acceptor → Accept {HMAC(cookie, "server" ‖ T ‖ proof)}
//   dialer   → Confirm
// Both MACs bind both names, the cluster name and both fresh nonces, so a recorded exchange is
// useless later and the two roles' MACs can never be swapped (reflection).
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { LinkRefusal } from './types.js';
import { PROTOCOL_NAME, PROTOCOL_VERSION, type ChallengeMsg, type HelloMsg } from './protocol.js';

const LABEL_CLIENT = `${PROTOCOL_NAME}/${PROTOCOL_VERSION} client proof\0`;
const LABEL_SERVER = `${PROTOCOL_NAME}/${PROTOCOL_VERSION} server proof\0`;

export function newNonce(): string {
  return randomBytes(32).toString('hex');
}

export function transcriptHash(helloBody: Buffer, challengeBody: Buffer): Buffer {
  return createHash('sha256').update(helloBody).update(challengeBody).digest();
}

export function clientMac(cookie: string, transcript: Buffer): string {
  return createHmac('sha256', cookie).update(LABEL_CLIENT).update(transcript).digest('hex');
}

export function serverMac(cookie: string, transcript: Buffer, clientProof: string): string {
  return createHmac('sha256', cookie).update(LABEL_SERVER).update(transcript).update(clientProof).digest('hex');
}

/** Constant-time comparison of two hex MACs. */
export function macEqual(a: unknown, b: string): boolean {
  if (typeof a !== 'string' || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

export class HandshakeRefusal extends Error {
  constructor(
    readonly reason: LinkRefusal | 'duplicate',
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'HandshakeRefusal';
  }
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Parses a JSON control body; garbage is a protocol mismatch. */
export function parseJson(body: Buffer, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8', 1));
  } catch {
    throw new HandshakeRefusal('protocol_mismatch', `malformed ${what} message`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new HandshakeRefusal('protocol_mismatch', `malformed ${what} message`);
  }
  return v as Record<string, unknown>;
}

function str(o: Record<string, unknown>, k: string, what: string): string {
  const v = o[k];
  if (typeof v !== 'string' || v.length > 300) throw new HandshakeRefusal('protocol_mismatch', `${what}: bad field ${k}`);
  return v;
}

/** Acceptor side: validates a Hello (everything except name ownership, which needs DNS). */
export function checkHello(o: Record<string, unknown>, self: string, cluster: string): HelloMsg {
  if (o.proto !== PROTOCOL_NAME) throw new HandshakeRefusal('protocol_mismatch', 'not a link handshake');
  if (o.version !== PROTOCOL_VERSION) {
    throw new HandshakeRefusal('protocol_mismatch', `peer speaks protocol version ${String(o.version)}, we speak ${PROTOCOL_VERSION}`);
  }
  const hello: HelloMsg = {
    proto: PROTOCOL_NAME,
    version: PROTOCOL_VERSION,
    from: str(o, 'from', 'hello'),
    to: str(o, 'to', 'hello'),
    cluster: str(o, 'cluster', 'hello'),
    nonce: str(o, 'nonce', 'hello'),
    instance: str(o, 'instance', 'hello'),
  };
  if (!HEX64.test(hello.nonce)) throw new HandshakeRefusal('protocol_mismatch', 'hello: bad nonce');
  if (hello.to !== self) throw new HandshakeRefusal('name_mismatch', `peer dialed ${hello.to}, this node is ${self}`);
  if (hello.from === self) throw new HandshakeRefusal('name_mismatch', `peer claims this node's own name ${self}`);
  if (hello.cluster !== cluster) {
    throw new HandshakeRefusal('cluster_mismatch', `peer is in cluster ${hello.cluster}, this node is in ${cluster}`);
  }
  return hello;
}

/** Dialer side: validates a Challenge against the node we dialed. */
export function checkChallenge(o: Record<string, unknown>, dialed: string, cluster: string): ChallengeMsg {
  if (o.version !== PROTOCOL_VERSION) {
    throw new HandshakeRefusal('protocol_mismatch', `peer speaks protocol version ${String(o.version)}, we speak ${PROTOCOL_VERSION}`);
  }
  const ch: ChallengeMsg = {
    version: PROTOCOL_VERSION,
    name: str(o, 'name', 'challenge'),
    cluster: str(o, 'cluster', 'challenge'),
    nonce: str(o, 'nonce', 'challenge'),
    instance: str(o, 'instance', 'challenge'),
  };
  if (!HEX64.test(ch.nonce)) throw new HandshakeRefusal('protocol_mismatch', 'challenge: bad nonce');
  if (ch.name !== dialed) throw new HandshakeRefusal('name_mismatch', `dialed ${dialed} but the peer is ${ch.name}`);
  if (ch.cluster !== cluster) {
    throw new HandshakeRefusal('cluster_mismatch', `peer is in cluster ${ch.cluster}, this node is in ${cluster}`);
  }
  return ch;
}

const REFUSALS = new Set<string>([
  'authentication_failed', 'tls_handshake_failed', 'name_mismatch', 'protocol_mismatch',
  'unreachable', 'timeout', 'cluster_mismatch', 'duplicate',
]);

/** The reason from a peer's Refuse message; unknown codes map to protocol_mismatch. */
export function refusalFrom(o: Record<string, unknown>): HandshakeRefusal {
  const reason = typeof o.reason === 'string' && REFUSALS.has(o.reason) ? (o.reason as LinkRefusal | 'duplicate') : 'protocol_mismatch';
  const detail = typeof o.detail === 'string' ? o.detail.slice(0, 300) : '';
  return new HandshakeRefusal(reason, `refused by peer: ${detail}`);
}
