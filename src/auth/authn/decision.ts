// What one authenticator of the chain says about a client: it does not know it (the next one is
// asked), it lets it in (perhaps as a superuser), it refuses it with a reason code, or (MQTT 5
// enhanced authentication) it asks the client for one more step.

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
  /** MQTT 5 enhanced authentication: the CONNECT's (or a re-authentication's) method and data. */
  readonly authMethod?: string | undefined;
  readonly authData?: Buffer | undefined;
}

export type Decision =
  | { readonly kind: 'ignore'; readonly why: string }
  | {
      readonly kind: 'allow';
      readonly superuser: boolean;
      readonly acl?: ClientAcl;
      readonly expiresAt?: number;
      /** Enhanced authentication: the server's last data (SCRAM's signature) and who the client proved to be. */
      readonly authData?: Buffer;
      readonly identity?: string;
    }
  | { readonly kind: 'deny'; readonly rc: number; readonly reason: string };

/** An enhanced authenticator's: a Decision, or one more step (`data` goes to the client in an AUTH, its answer to `next`). */
export type StepDecision = Decision | { readonly kind: 'continue'; readonly data: Buffer; next(data: Buffer): Promise<StepDecision> };

/** The placeholders an authenticator may use (HTTP request templates, Redis keys, JWT claims to verify). */
export function credentialVars(c: Credentials): Vars {
  return (name) => (name === 'password' ? c.password?.toString('utf8') : clientVar(c, name));
}
