// scram + built_in_database (EMQX's emqx_authn_scram_mnesia): MQTT 5 enhanced authentication
// with SCRAM-SHA-256 or SCRAM-SHA-512 against the replicated SCRAM users. Two steps: the client's
// first message gets the user's salt and iteration count, its final message is checked against
// the stored keys and answered with the server's signature.
//
// An unknown user gets the same two steps as a known one, with a salt derived from its name
// (stable for the life of the node) and a proof that can never match: the exchange does not tell
// who exists. A user stored for the other algorithm cannot prove itself with this one and is
// treated as unknown.
import { createHmac, randomBytes } from 'node:crypto';
import type { ScramAuthenticatorConfig } from '../../config/types.js';
import { RC } from '../../mqtt/reason-codes.js';
import type { StepDecision } from './decision.js';
import { parseClientFirst, SCRAM_METHOD, ScramError, serverFirst, verifyClientFinal, type ScramSecret } from './scram.js';
import type { ScramUser, Users } from './users.js';

export class ScramAuthenticator {
  readonly #decoyKey = randomBytes(32);

  constructor(
    readonly cfg: ScramAuthenticatorConfig,
    private readonly users: Users<ScramUser>,
  ) {}

  /** The Authentication Method clients name for this authenticator. */
  get method(): string {
    return SCRAM_METHOD[this.cfg.algorithm];
  }

  #decoy(user: string): ScramSecret {
    const salt = createHmac('sha256', this.#decoyKey).update(user).digest().subarray(0, 16);
    return { algorithm: this.cfg.algorithm, iteration_count: this.cfg.iteration_count, salt: salt.toString('base64'), stored_key: randomBytes(32).toString('base64'), server_key: '' };
  }

  /** The client's first message (the CONNECT's, or a re-authentication's Authentication Data). */
  start(data: Buffer | undefined): StepDecision {
    if (data === undefined || data.length === 0) return { kind: 'deny', rc: RC.notAuthorized, reason: 'no Authentication Data (the SCRAM client-first message)' };
    let first;
    try {
      first = parseClientFirst(data);
    } catch (err) {
      return { kind: 'deny', rc: RC.notAuthorized, reason: `bad client-first message: ${(err as Error).message}` };
    }
    const stored = this.users.get(first.user);
    const user = stored?.algorithm === this.cfg.algorithm ? stored : undefined;
    const secret = user ?? this.#decoy(first.user);
    const pending = serverFirst(first, secret);
    return {
      kind: 'continue',
      data: Buffer.from(pending.serverFirst),
      next: async (final) => {
        let signature: string;
        try {
          signature = verifyClientFinal(pending, secret, final);
        } catch (err) {
          if (!(err instanceof ScramError)) throw err;
          const why = user ? err.message : stored ? `user ${first.user} is stored for ${SCRAM_METHOD[stored.algorithm]}` : 'unknown user';
          return { kind: 'deny', rc: RC.notAuthorized, reason: why };
        }
        return { kind: 'allow', superuser: user!.is_superuser === true, authData: Buffer.from(signature), identity: first.user };
      },
    };
  }
}
