// What one authenticator of the chain says about a client: it does not know it (the next one is
// asked), it lets it in (perhaps as a superuser), or it refuses it with a reason code.

import type { ClientAcl } from '../authz/authorizer.js';

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

/** `${name}` placeholders filled in from the client; a value it lacks is empty, as in EMQX. */
export function fillPlaceholders(text: string, c: Credentials, encode: (v: string) => string = (v) => v): string {
  if (!text.includes('${')) return text;
  return text.replace(/\$\{\s*([a-z_]+)\s*\}/g, (_m, name: string) => {
    const v =
      name === 'clientid'
        ? c.clientid
        : name === 'username'
          ? c.username
          : name === 'password'
            ? c.password?.toString('utf8')
            : name === 'peerhost'
              ? c.peerhost
              : name === 'cert_common_name'
                ? c.certCommonName
                : name === 'cert_subject'
                  ? c.certSubject
                  : undefined;
    return encode(v ?? '');
  });
}
