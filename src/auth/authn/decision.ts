// What one authenticator of the chain says about a client: it does not know it (the next one is
// asked), it lets it in (perhaps as a superuser), or it refuses it with a reason code.

import type { ClientAcl } from '../authz/authorizer.js';
import { clientVar, type Vars } from '../placeholders.js';

export type { ClientAcl } from '../authz/authorizer.js';

/** What an authenticator may use of the client (the placeholders of HTTP requests and JWT claims). */
export interface Credentials {
  readonly clientid: string;
  readonly username: string | undefined;
  readonly password: Buffer | undefined;
  /** The client's address, without the port. */
  readonly peerhost?: string;
  readonly certCommonName?: string | undefined;
  readonly certSubject?: string | undefined;
}

export type Decision =
  | { readonly kind: 'ignore'; readonly why: string }
  | { readonly kind: 'allow'; readonly superuser: boolean; readonly acl?: ClientAcl; readonly expiresAt?: number }
  | { readonly kind: 'deny'; readonly rc: number; readonly reason: string };

/** The placeholders an authenticator may use (HTTP request templates, Redis keys, JWT claims to verify). */
export function credentialVars(c: Credentials): Vars {
  return (name) => (name === 'password' ? c.password?.toString('utf8') : clientVar(c, name));
}
