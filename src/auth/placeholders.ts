// `${name}` placeholders in what authenticators and authorization sources send out (HTTP request
// templates, Redis keys, JWT claims to verify): filled in per client and request, a value the
// client lacks as empty, as EMQX does. Each user adds its own names to the client's.

/** A placeholder's value by name; undefined: none (filled in as empty). */
export type Vars = (name: string) => string | undefined;

const PLACEHOLDER = /\$\{\s*([a-z_]+)\s*\}/g;

export function fillTemplate(text: string, vars: Vars, encode: (v: string) => string = (v) => v): string {
  if (!text.includes('${')) return text;
  return text.replace(PLACEHOLDER, (_m, name: string) => encode(vars(name) ?? ''));
}

/** What any placeholder may name of the client. */
export interface ClientFacts {
  readonly clientid: string;
  readonly username: string | undefined;
  /** The client's address, without the port. */
  readonly peerhost?: string | undefined;
  readonly certCommonName?: string | undefined;
  readonly certSubject?: string | undefined;
}

/** `${clientid}`, `${username}`, `${peerhost}`, `${cert_common_name}`, `${cert_subject}`. */
export function clientVar(c: ClientFacts, name: string): string | undefined {
  switch (name) {
    case 'clientid':
      return c.clientid;
    case 'username':
      return c.username;
    case 'peerhost':
      return c.peerhost;
    case 'cert_common_name':
      return c.certCommonName;
    case 'cert_subject':
      return c.certSubject;
    default:
      return undefined;
  }
}
