// The authentication chain (EMQX's emqx_authn_chains): each enabled authenticator in order
// (built_in_database, http, redis, postgresql, mysql, ldap, jwt); one that does not know the
// client passes it on (an HTTP service that does not answer, too), the first that knows it
// decides; a chain that ends undecided refuses. No enabled authenticator at all: every client is
// let in (anonymous), as in EMQX. A client that names an Authentication Method (MQTT 5 enhanced
// authentication) is asked of the scram authenticators offering that method only (the
// password-based ones ignore it, as EMQX's do); a method none offers is refused with 0x8C. A
// refusal never says whether the user exists: an unknown user and a wrong password both get 0x86
// (3.x: 4), after the same work (a decoy hash is checked for an unknown user).
import type { AuthenticatorConfig, BuiltinAuthenticatorConfig } from '../../config/types.js';
import { ScramAuthenticator } from './scram-authn.js';
import { RC } from '../../mqtt/reason-codes.js';
import type { ClientAcl, Credentials, Decision, StepDecision } from './decision.js';
import { HttpAuthenticator } from './http-authn.js';
import { RedisAuthenticator } from './redis-authn.js';
import { SqlAuthenticator } from './sql-authn.js';
import { LdapAuthenticator } from './ldap-authn.js';
import { JwtAuthenticator } from './jwt.js';
import { checkPassword, decoyFor, type StoredPassword } from './password-hash.js';
import type { AuthnUser, ScramUser, Users } from './users.js';

export type { Credentials } from './decision.js';

export type AuthnOutcome =
  | {
      readonly ok: true;
      readonly superuser: boolean;
      readonly by: 'anonymous' | 'built_in_database' | 'http' | 'redis' | 'postgresql' | 'mysql' | 'ldap' | 'jwt' | 'scram';
      readonly acl?: ClientAcl;
      readonly expiresAt?: number;
      /** Enhanced authentication: the server's last data for the CONNACK, and the user proven. */
      readonly authData?: Buffer;
      readonly identity?: string;
    }
  | { readonly ok: false; readonly rc: number; readonly reason: string }
  /** Enhanced authentication goes on: `data` to the client in an AUTH, its answer to `next`. */
  | { readonly ok: 'continue'; readonly data: Buffer; next(data: Buffer): Promise<AuthnOutcome> };

/** A scram authenticator's decision as the chain's outcome, step after step. */
function scramOutcome(d: StepDecision): AuthnOutcome {
  switch (d.kind) {
    case 'continue':
      return { ok: 'continue', data: d.data, next: async (data) => scramOutcome(await d.next(data)) };
    case 'allow':
      return { ok: true, superuser: d.superuser, by: 'scram', ...(d.authData ? { authData: d.authData } : {}), ...(d.identity !== undefined ? { identity: d.identity } : {}) };
    case 'deny':
      return { ok: false, rc: d.rc, reason: `scram: ${d.reason}` };
    case 'ignore':
      return { ok: false, rc: RC.notAuthorized, reason: `scram: ${d.why}` };
  }
}

/** One authenticator of the chain, ready to ask. */
type Step =
  | { readonly kind: 'builtin'; readonly cfg: BuiltinAuthenticatorConfig }
  | { readonly kind: 'scram'; readonly a: ScramAuthenticator }
  | { readonly kind: 'http'; readonly a: HttpAuthenticator }
  | { readonly kind: 'redis'; readonly a: RedisAuthenticator }
  | { readonly kind: 'postgresql' | 'mysql'; readonly a: SqlAuthenticator }
  | { readonly kind: 'ldap'; readonly a: LdapAuthenticator }
  | { readonly kind: 'jwt'; readonly a: JwtAuthenticator };

/** User ids longer than this are refused before any lookup (bounded work per attempt). */
export const MAX_CREDENTIAL_BYTES = 65535;

function closeSteps(steps: readonly Step[]): void {
  for (const step of steps) if (step.kind !== 'builtin' && step.kind !== 'scram') step.a.close();
}

export class AuthnChain {
  #chain: readonly Step[] = [];
  #enabled = 0;
  #decoys = new Map<BuiltinAuthenticatorConfig, StoredPassword>();
  /** Why an authenticator ignored a client (the service down, ...), for the caller's log. */
  onIgnored: ((by: string, why: string) => void) | undefined;

  constructor(
    private readonly users: Users<AuthnUser>,
    private readonly scramUsers: Users<ScramUser>,
  ) {}

  /** Throws when an authenticator cannot be built (a CA file gone since the config was read). */
  configure(chain: readonly AuthenticatorConfig[]): void {
    const on = chain.filter((a) => a.enable);
    const steps: Step[] = [];
    try {
      for (const a of on) {
        if ('unserved' in a) continue;
        if (a.mechanism === 'jwt') steps.push({ kind: 'jwt', a: new JwtAuthenticator(a, (why) => this.onIgnored?.('jwt', why)) });
        else if (a.backend === 'http') steps.push({ kind: 'http', a: new HttpAuthenticator(a) });
        else if (a.backend === 'redis') steps.push({ kind: 'redis', a: new RedisAuthenticator(a) });
        else if ('query' in a) steps.push({ kind: a.backend, a: new SqlAuthenticator(a) });
        else if ('base_dn' in a) steps.push({ kind: 'ldap', a: new LdapAuthenticator(a) });
        else if (a.mechanism === 'scram') steps.push({ kind: 'scram', a: new ScramAuthenticator(a, this.scramUsers) });
        else steps.push({ kind: 'builtin', cfg: a });
      }
    } catch (err) {
      // The chain in force stays; what was built for the new one closes again.
      closeSteps(steps);
      throw err;
    }
    this.close();
    this.#chain = steps;
    this.#enabled = on.length;
    this.#decoys = new Map();
  }

  /** Stops what the authenticators run in the background (JWKS refreshes) and their connections. */
  close(): void {
    closeSteps(this.#chain);
  }

  /** No enabled authenticator: clients are not checked. */
  get anonymous(): boolean {
    return this.#enabled === 0;
  }

  /** The served built_in_database authenticator, if the chain has one (enabled or not). */
  static builtin(chain: readonly AuthenticatorConfig[]): BuiltinAuthenticatorConfig | undefined {
    return chain.find((a): a is BuiltinAuthenticatorConfig => !('unserved' in a) && a.mechanism === 'password_based' && a.backend === 'built_in_database');
  }

  async authenticate(c: Credentials): Promise<AuthnOutcome> {
    if (c.authMethod !== undefined) {
      const scram = this.#chain.find((s): s is Step & { kind: 'scram' } => s.kind === 'scram' && s.a.method === c.authMethod);
      if (!scram) return { ok: false, rc: RC.badAuthenticationMethod, reason: `no authenticator offers the authentication method '${c.authMethod.slice(0, 64)}'` };
      return scramOutcome(scram.a.start(c.authData));
    }
    if (this.#enabled === 0) return { ok: true, superuser: false, by: 'anonymous' };
    for (const step of this.#chain) {
      if (step.kind === 'scram') continue;
      const by = step.kind === 'builtin' ? 'built_in_database' : step.kind;
      const d: Decision = step.kind === 'builtin' ? await this.#builtin(step.cfg, c) : step.kind === 'jwt' ? step.a.authenticate(c, Math.floor(Date.now() / 1000)) : await step.a.authenticate(c);
      if (d.kind === 'allow') return { ok: true, superuser: d.superuser, by, ...(d.acl ? { acl: d.acl } : {}), ...(d.expiresAt !== undefined ? { expiresAt: d.expiresAt } : {}) };
      if (d.kind === 'deny') return { ok: false, rc: d.rc, reason: `${by}: ${d.reason}` };
      if (step.kind === 'http' || (step.kind !== 'builtin' && step.kind !== 'jwt' && d.why !== 'no such user' && d.why !== 'no password') || d.why.startsWith('the JWKS')) this.onIgnored?.(by, d.why);
    }
    return { ok: false, rc: RC.notAuthorized, reason: 'no authenticator of the chain knows the client' };
  }

  async #builtin(a: BuiltinAuthenticatorConfig, c: Credentials): Promise<Decision> {
    const id = a.user_id_type === 'clientid' ? c.clientid : c.username;
    // Nothing to look up: this authenticator does not know the client (EMQX: ignore).
    if (id === undefined || id === '') return { kind: 'ignore', why: 'no user id' };
    if (Buffer.byteLength(id) > MAX_CREDENTIAL_BYTES) return { kind: 'deny', rc: RC.badUsernameOrPassword, reason: 'user id too long' };
    const user = this.users.get(id);
    let decoy = this.#decoys.get(a);
    if (decoy === undefined) this.#decoys.set(a, (decoy = decoyFor(a.password_hash_algorithm)));
    const good = await checkPassword(a.password_hash_algorithm, user ?? decoy, c.password);
    if (user && good) return { kind: 'allow', superuser: user.is_superuser === true };
    return { kind: 'deny', rc: RC.badUsernameOrPassword, reason: user ? 'wrong password' : 'unknown user' };
  }
}
