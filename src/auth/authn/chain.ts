// The authentication chain (EMQX's emqx_authn_chains): each enabled authenticator in order; one
// that does not know the client passes it on, the first that knows it decides; a chain that ends
// undecided refuses. No enabled authenticator at all: every client is let in (anonymous), as in
// EMQX. A refusal never says whether the user exists: an unknown user and a wrong password both
// get 0x86 (3.x: 4), after the same work (a decoy hash is checked for an unknown user).
import type { AuthenticatorConfig, BuiltinAuthenticatorConfig } from '../../config/types.js';
import { RC } from '../../mqtt/reason-codes.js';
import { checkPassword, decoyFor, type StoredPassword } from './password-hash.js';
import type { Users } from './users.js';

export interface Credentials {
  readonly clientid: string;
  readonly username: string | undefined;
  readonly password: Buffer | undefined;
}

export type AuthnOutcome =
  | { readonly ok: true; readonly superuser: boolean; readonly by: 'anonymous' | 'built_in_database' }
  | { readonly ok: false; readonly rc: number; readonly reason: string };

/** User ids longer than this are refused before any lookup (bounded work per attempt). */
export const MAX_CREDENTIAL_BYTES = 65535;

export class AuthnChain {
  #chain: readonly AuthenticatorConfig[] = [];
  #decoys = new Map<BuiltinAuthenticatorConfig, StoredPassword>();

  constructor(private readonly users: Users) {}

  configure(chain: readonly AuthenticatorConfig[]): void {
    this.#chain = chain.filter((a) => a.enable);
    this.#decoys = new Map();
  }

  /** No enabled authenticator: clients are not checked. */
  get anonymous(): boolean {
    return this.#chain.length === 0;
  }

  /** The served built_in_database authenticator, if the chain has one (enabled or not). */
  static builtin(chain: readonly AuthenticatorConfig[]): BuiltinAuthenticatorConfig | undefined {
    return chain.find((a): a is BuiltinAuthenticatorConfig => !('unserved' in a));
  }

  async authenticate(c: Credentials): Promise<AuthnOutcome> {
    if (this.#chain.length === 0) return { ok: true, superuser: false, by: 'anonymous' };
    for (const a of this.#chain) {
      if ('unserved' in a) continue;
      const id = a.user_id_type === 'clientid' ? c.clientid : c.username;
      // Nothing to look up: this authenticator does not know the client (EMQX: ignore).
      if (id === undefined || id === '') continue;
      if (Buffer.byteLength(id) > MAX_CREDENTIAL_BYTES) return { ok: false, rc: RC.badUsernameOrPassword, reason: 'user id too long' };
      const user = this.users.get(id);
      let decoy = this.#decoys.get(a);
      if (decoy === undefined) this.#decoys.set(a, (decoy = decoyFor(a.password_hash_algorithm)));
      const good = await checkPassword(a.password_hash_algorithm, user ?? decoy, c.password);
      if (user && good) return { ok: true, superuser: user.is_superuser === true, by: 'built_in_database' };
      return { ok: false, rc: RC.badUsernameOrPassword, reason: user ? 'wrong password' : 'unknown user' };
    }
    return { ok: false, rc: RC.notAuthorized, reason: 'no authenticator of the chain knows the client' };
  }
}
