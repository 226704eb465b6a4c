// Wire vocabulary of a link: message kinds and the control messages' shapes.

export const PROTOCOL_NAME = 'emqx-ts-dist';
export const PROTOCOL_VERSION = 1;

export const Kind = {
  // Before authentication (JSON bodies, each frame at most PRE_AUTH_MAX_FRAME bytes).
  Hello: 1,
  Challenge: 2,
  Proof: 3,
  Accept: 4,
  Confirm: 5,
  Refuse: 6,
  // After authentication.
  Tick: 16,
  Send: 17,
  Call: 18,
  Reply: 19,
  Error: 20,
  Peers: 21,
  Bye: 22,
} as const;
export type KindCode = (typeof Kind)[keyof typeof Kind];

/** Dialer → acceptor: who I am, whom I dialed, a fresh nonce. */
export interface HelloMsg {
  readonly proto: string;
  readonly version: number;
  readonly from: string;
  readonly to: string;
  readonly cluster: string;
  /** hex, 32 random bytes */
  readonly nonce: string;
  /** Random per process start: tells a restarted peer from a duplicate link. */
  readonly instance: string;
}

/** Acceptor → dialer: my name and nonce (no proof yet: the dialer proves first). */
export interface ChallengeMsg {
  readonly version: number;
  readonly name: string;
  readonly cluster: string;
  readonly nonce: string;
  readonly instance: string;
}

export interface ProofMsg {
  readonly mac: string;
}
export interface AcceptMsg {
  readonly mac: string;
}

/** Either side, then close. `duplicate` is not a failure: the other link of a simultaneous dial won. */
export interface RefuseMsg {
  readonly reason: string;
  readonly detail: string;
}
