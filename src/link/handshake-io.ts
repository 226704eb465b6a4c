// Runs the handshake of handshake.ts over a socket, for either role. The caller bounds the whole
// exchange with a deadline (it destroys the socket); here every frame is at most 512 bytes.
import type { Socket } from 'node:net';
import { FrameTooLargeError, encodeFrame } from './framing.js';
import {
  HandshakeRefusal, checkChallenge, checkHello, clientMac, macEqual, newNonce, parseJson, refusalFrom,
  serverMac, transcriptHash,
} from './handshake.js';
import { inputOf, type FrameSink, type LinkInput } from './input.js';
import { Kind, PROTOCOL_NAME, PROTOCOL_VERSION, type HelloMsg } from './protocol.js';
import { looksLikeTls, tlsFailureDetail } from './tls-errors.js';
import { rejectTlsOnPlainSocket } from './transport.js';

/** Pulls pre-authentication frames off a socket one at a time. */
class FrameReader {
  readonly input: LinkInput;
  private frames: Buffer[] = [];
  private failure: Error | undefined;
  private waiter: { resolve(b: Buffer): void; reject(e: Error): void } | undefined;
  private first = true;
  private readonly sink: FrameSink = {
    onBytes: (bytes) => {
      if (!this.first) return true;
      this.first = false;
      if (this.tls || !looksLikeTls(bytes)) return true;
      if (this.dialer) {
        this.fail(new HandshakeRefusal('tls_handshake_failed', 'peer spoke TLS (is it inet_tls?)'));
      } else {
        // A TLS dialer on a plaintext port gets a TLS alert rather than silence.
        rejectTlsOnPlainSocket(this.socket);
        this.fail(new HandshakeRefusal('tls_handshake_failed', 'peer spoke TLS on a plaintext port (is it inet_tls?)'));
      }
      return false;
    },
    onFrame: (b) => {
      this.frames.push(b);
      this.wake();
    },
    // Nothing more can be read past an oversized frame (reading has stopped). If the handshake
    // has already got its last frame, this is the peer's first post-handshake frame, and the
    // link reads it after detach() with its own, larger limit; otherwise the handshake fails.
    onError: (e) => {
      const detail = e instanceof FrameTooLargeError ? `garbage before authentication (${e.message})` : String(e);
      this.fail(new HandshakeRefusal('protocol_mismatch', detail));
    },
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
    this.input = inputOf(socket);
    socket.on('close', this.onClose);
    socket.on('error', this.onError);
    this.input.start(this.sink);
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

  /** Stops reading for the handshake; what was already buffered stays in the input's decoder. */
  detach(): LinkInput {
    // Stopped until the link takes over, so nothing is read with nobody listening.
    this.input.stop();
    this.socket.off('close', this.onClose);
    this.socket.off('error', this.onError);
    // Frames already decoded past the handshake go back in front of the rest.
    this.input.decoder.requeue(this.frames);
    this.frames = [];
    return this.input;
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
  readonly input: LinkInput;
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
  if (socket.destroyed || socket.writableEnded || r.detail.startsWith('refused by peer')) return;
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
    return { peer: ch.name, instance: ch.instance, input: io.detach() };
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
    return { peer: hello.from, instance: hello.instance, input: io.detach() };
  } catch (e) {
    io.detach();
    if (e instanceof HandshakeRefusal) refuse(socket, e);
    throw Object.assign(e as Error, { peer });
  }
}
