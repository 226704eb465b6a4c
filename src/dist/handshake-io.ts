// Runs the handshake of handshake.ts over a socket, for either role. The caller bounds the whole
// exchange with a deadline (it destroys the socket); here every frame is at most 512 bytes.
import type { Socket } from 'node:net';
import { FrameDecoder, FrameTooLargeError, encodeFrame } from './framing.js';
import {
  HandshakeRefusal, checkChallenge, checkHello, clientMac, macEqual, newNonce, parseJson, refusalFrom,
  serverMac, transcriptHash,
} from './handshake.js';
import { PRE_AUTH_MAX_FRAME } from './options.js';
import { Kind, PROTOCOL_NAME, PROTOCOL_VERSION, type HelloMsg } from './protocol.js';
import { looksLikeTls, tlsFailureDetail } from './tls-errors.js';

/** Pulls pre-authentication frames off a socket one at a time. */
class FrameReader {
  readonly decoder = new FrameDecoder(PRE_AUTH_MAX_FRAME);
  private frames: Buffer[] = [];
  private failure: Error | undefined;
  private waiter: { resolve(b: Buffer): void; reject(e: Error): void } | undefined;
  private first = true;
  private readonly onData = (chunk: Buffer): void => {
    if (this.first) {
      this.first = false;
      if (!this.tls && looksLikeTls(chunk)) {
        return this.fail(new HandshakeRefusal('tls_handshake_failed', this.dialer
          ? 'peer spoke TLS (is it inet_tls?)'
          : 'peer spoke TLS on a plaintext port (is it inet_tls?)'));
      }
    }
    try {
      this.decoder.push(chunk, (b) => {
        this.frames.push(b);
        this.wake();
      });
    } catch (e) {
      // Nothing more can be read past an oversized frame: stop reading. If the handshake has
      // already got its last frame, this is the peer's first post-handshake frame, and the link
      // reads it after detach() with its own, larger limit; otherwise the handshake fails.
      this.socket.pause();
      const detail = e instanceof FrameTooLargeError ? `garbage before authentication (${e.message})` : String(e);
      this.fail(new HandshakeRefusal('protocol_mismatch', detail));
    }
  };
  private readonly onClose = (): void => this.fail(new Error('connection closed during the handshake'));
  private readonly onError = (err: Error): void => {
    const code = (err as { code?: string }).code ?? '';
    if (this.tls && (code.startsWith('ERR_SSL_') || /certificate|CERT/.test(code + err.message))) {
      this.fail(new HandshakeRefusal('tls_handshake_failed', tlsFailureDetail(err)));
    } else {
      this.fail(new Error(`connection failed during the handshake: ${err.message}`));
    }
  };

  constructor(
    private readonly socket: Socket,
    private readonly tls: boolean,
    private readonly dialer: boolean,
  ) {
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
    socket.on('error', this.onError);
    socket.resume();
    if (socket.destroyed) this.fail(new Error('connection closed before the handshake'));
  }

  next(): Promise<Buffer> {
    const f = this.frames.shift();
    if (f) return Promise.resolve(f);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  write(kind: number, body: object): Buffer {
    const rest = Buffer.from(JSON.stringify(body));
    const frame = encodeFrame(kind, rest);
    if (!this.socket.destroyed) this.socket.write(frame);
    return frame.subarray(4);
  }

  /** Stops reading for the handshake; what was already buffered stays in the decoder. */
  detach(): FrameDecoder {
    // Paused until the link takes over, so no chunk is emitted with nobody listening.
    this.socket.pause();
    this.socket.off('data', this.onData);
    this.socket.off('close', this.onClose);
    this.socket.off('error', this.onError);
    // Frames already decoded past the handshake go back in front of the rest.
    this.decoder.requeue(this.frames);
    this.frames = [];
    return this.decoder;
  }

  fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(e);
  }

  private wake(): void {
    const w = this.waiter;
    if (!w) return;
    this.waiter = undefined;
    w.resolve(this.frames.shift()!);
  }
}

export interface HandshakeResult {
  readonly peer: string;
  readonly instance: string;
  readonly decoder: FrameDecoder;
}

interface Common {
  readonly self: string;
  readonly cookie: string;
  readonly cluster: string;
  readonly instance: string;
  readonly tls: boolean;
}

function expectKind(body: Buffer, kind: number, what: string): Record<string, unknown> {
  if (body[0] === Kind.Refuse) throw refusalFrom(parseJson(body, 'refuse'));
  if (body[0] !== kind) throw new HandshakeRefusal('protocol_mismatch', `expected ${what}, got message kind ${String(body[0])}`);
  return parseJson(body, what);
}

/** Sends our refusal when it is ours to send (not an echo of the peer's, not a dead socket). */
function refuse(socket: Socket, r: HandshakeRefusal): void {
  if (socket.destroyed || r.detail.startsWith('refused by peer')) return;
  socket.end(encodeFrame(Kind.Refuse, Buffer.from(JSON.stringify({ reason: r.reason, detail: r.detail }))));
}

export async function dialerHandshake(socket: Socket, c: Common & { readonly dialed: string }): Promise<HandshakeResult> {
  const io = new FrameReader(socket, c.tls, true);
  try {
    const hello: HelloMsg = {
      proto: PROTOCOL_NAME, version: PROTOCOL_VERSION, from: c.self, to: c.dialed, cluster: c.cluster,
      nonce: newNonce(), instance: c.instance,
    };
    const helloBody = io.write(Kind.Hello, hello);
    const challengeBody = await io.next().catch((e: unknown) => {
      // Our listeners always say why they refuse; a silent close means the peer did not
      // understand us at the transport level.
      if (e instanceof HandshakeRefusal) throw e;
      throw new HandshakeRefusal('tls_handshake_failed', c.tls
        ? 'peer closed the connection right after the TLS handshake (did it reject our certificate?)'
        : 'peer closed the connection without answering (does it expect TLS, inet_tls?)');
    });
    const ch = checkChallenge(expectKind(challengeBody, Kind.Challenge, 'challenge'), c.dialed, c.cluster);
    const th = transcriptHash(helloBody, challengeBody);
    const proof = clientMac(c.cookie, th);
    io.write(Kind.Proof, { mac: proof });
    const acc = expectKind(await io.next(), Kind.Accept, 'accept');
    if (!macEqual(acc.mac, serverMac(c.cookie, th, proof))) {
      throw new HandshakeRefusal('authentication_failed', `${c.dialed} could not prove it knows the cookie`);
    }
    io.write(Kind.Confirm, {});
    return { peer: ch.name, instance: ch.instance, decoder: io.detach() };
  } catch (e) {
    io.detach();
    if (e instanceof HandshakeRefusal) refuse(socket, e);
    throw e;
  }
}

export type AcceptDecision = 'accept' | 'duplicate';

export interface AcceptorHooks {
  /** Whether the connection's source may claim this name (resolves the claimed host). */
  ownsName(claimed: string): Promise<boolean>;
  /** After authentication: keep this link, or refuse it because our own dial wins. */
  decide(peer: string, instance: string): AcceptDecision;
}

export async function acceptorHandshake(socket: Socket, c: Common, hooks: AcceptorHooks): Promise<HandshakeResult> {
  const io = new FrameReader(socket, c.tls, false);
  let peer: string | undefined;
  try {
    const helloBody = await io.next();
    const raw = expectKind(helloBody, Kind.Hello, 'hello');
    if (typeof raw.from === 'string') peer = raw.from.slice(0, 300);
    const hello = checkHello(raw, c.self, c.cluster);
    peer = hello.from;
    const challengeBody = io.write(Kind.Challenge, {
      version: PROTOCOL_VERSION, name: c.self, cluster: c.cluster, nonce: newNonce(), instance: c.instance,
    });
    const th = transcriptHash(helloBody, challengeBody);
    const proof = expectKind(await io.next(), Kind.Proof, 'proof');
    const expected = clientMac(c.cookie, th);
    if (!macEqual(proof.mac, expected)) {
      throw new HandshakeRefusal('authentication_failed', `${hello.from} could not prove it knows the cookie`);
    }
    // Only now, for a peer that knows the cookie: checking the name may resolve its host, and a
    // stranger must not be able to make us look up names of its choosing.
    if (!(await hooks.ownsName(hello.from))) {
      throw new HandshakeRefusal('name_mismatch', `${hello.from}: the connection does not come from that host's address`);
    }
    if (hooks.decide(hello.from, hello.instance) === 'duplicate') {
      throw new HandshakeRefusal('duplicate', 'simultaneous dial: the other link wins');
    }
    io.write(Kind.Accept, { mac: serverMac(c.cookie, th, expected) });
    expectKind(await io.next(), Kind.Confirm, 'confirm');
    return { peer: hello.from, instance: hello.instance, decoder: io.detach() };
  } catch (e) {
    io.detach();
    if (e instanceof HandshakeRefusal) refuse(socket, e);
    throw Object.assign(e as Error, { peer });
  }
}
