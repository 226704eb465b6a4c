// What the MQTT channel asks at CONNECT (mqtt/port.ts AccessPort), in EMQX's order: is the
// client banned (refused 0x8A before any other work, so a banned client hammering reconnects
// costs a few lookups per attempt), count the connect for flapping detection (a client found
// flapping is banned on every node; this connect still goes on, as in EMQX), then the
// authentication chain (one step after another for MQTT 5 enhanced authentication); an admitted
// client gets its authorization view.
import type { Log } from '../base/log.js';
import type { LogLimiter } from '../base/log-limit.js';
import type { AccessPort, AccessRequest, AccessResult } from '../mqtt/port.js';
import { RC } from '../mqtt/reason-codes.js';
import type { AuthnChain, AuthnOutcome } from './authn/chain.js';
import type { Credentials } from './authn/decision.js';
import type { Authorizer } from './authz/authorizer.js';
import { hostOf } from './authz/cidr.js';
import type { Banned } from './banned/banned.js';
import type { FlappingDetector } from './banned/flapping.js';

const AUTHENTICATOR_PREFIX = /^(built_in_database|http|redis|postgresql|mysql|ldap|jwt|scram): /;

export interface AccessDeps {
  readonly chain: AuthnChain;
  readonly authorizer: Authorizer;
  readonly banned: Banned;
  readonly flapping: FlappingDetector;
  readonly log: Log;
  readonly limited: LogLimiter;
}

export interface AccessStats {
  refusedBanned: number;
  refusedAuthn: number;
  admitted: number;
  flappingBans: number;
}

export class Access implements AccessPort {
  readonly stats: AccessStats = { refusedBanned: 0, refusedAuthn: 0, admitted: 0, flappingBans: 0 };

  constructor(private readonly d: AccessDeps) {}

  async connect(req: AccessRequest): Promise<AccessResult> {
    const peerhost = hostOf(req.peer);
    const who = { clientid: req.clientId, username: req.username, peerhost };
    const ban = this.d.banned.check(who);
    if (ban) {
      this.stats.refusedBanned++;
      return { ok: false, rc: RC.banned, reason: `banned by ${ban.as}${ban.until !== undefined ? ` until ${new Date(ban.until * 1000).toISOString()}` : ''}` };
    }
    const now = Date.now();
    for (const f of this.d.flapping.detect(who, now)) {
      this.stats.flappingBans++;
      this.d.log.warn({ as: f.as, who: f.who, connects: f.count, ban_ms: f.banMs }, 'flapping detected: banned');
      const at = Math.floor(now / 1000);
      void this.d.banned.add({ as: f.as, who: f.who, by: 'flapping detector', reason: 'flapping is detected', at, until: at + Math.ceil(f.banMs / 1000) }).catch((err: unknown) => {
        this.d.log.error({ as: f.as, who: f.who, err: err instanceof Error ? err.message : String(err) }, 'could not record a flapping ban');
      });
    }
    // The listener's `enable_authn` (EMQX's pre-hook): no chain for its clients, or none for a
    // client without a user name.
    if (req.enableAuthn === false) return this.#admit(req, { ok: true, superuser: false, by: 'anonymous' });
    if (req.enableAuthn === 'quick_deny_anonymous' && (req.username === undefined || req.username === '')) {
      return this.#admit(req, { ok: false, rc: RC.notAuthorized, reason: 'no user name, and the listener has enable_authn = quick_deny_anonymous' });
    }
    return this.#admit(req, await this.d.chain.authenticate(this.#credentials(req)));
  }

  async reauthenticate(req: AccessRequest & { readonly authMethod: string }): Promise<AccessResult> {
    return this.#admit(req, await this.d.chain.authenticate(this.#credentials(req)));
  }

  #credentials(req: AccessRequest): Credentials {
    return { clientid: req.clientId, username: req.username, password: req.password, peerhost: hostOf(req.peer), certCommonName: req.certCommonName, authMethod: req.authMethod, authData: req.authData };
  }

  /** The chain's outcome (each step of an enhanced authentication in turn) as the channel's answer. */
  #admit(req: AccessRequest, r: AuthnOutcome): AccessResult {
    if (r.ok === 'continue') {
      const step = r;
      return { ok: 'continue', data: step.data, next: async (data) => this.#admit(req, await step.next(data)) };
    }
    // The user a SCRAM client proved to be is its user name; a different one in the CONNECT is
    // refused, or the client would get that user's authorization rules.
    let username = req.username;
    if (r.ok && r.identity !== undefined && r.identity !== username) {
      if (username !== undefined) r = { ok: false, rc: RC.notAuthorized, reason: `the CONNECT's user name is not ${r.identity}, whom the client proved to be` };
      else username = r.identity;
    }
    if (!r.ok) {
      this.stats.refusedAuthn++;
      // The reason stays in this node's log; the client learns only the reason code. One line per
      // interval for each listener and authenticator (the reason's prefix names it; a fixed set,
      // so a client cannot make keys), so a flood of wrong passwords does not hide that another
      // authenticator started failing.
      const by = AUTHENTICATOR_PREFIX.exec(r.reason)?.[1] ?? 'chain';
      this.d.limited.warn(`authn:${req.listener}:${by}`, { listener: req.listener, peer: req.peer, clientid: req.clientId.slice(0, 200), reason: r.reason }, 'authentication failed');
      return { ok: false, rc: r.rc, reason: 'authentication failed' };
    }
    const peerhost = hostOf(req.peer);
    if (username !== req.username) {
      const ban = this.d.banned.check({ clientid: req.clientId, username, peerhost });
      if (ban) {
        this.stats.refusedBanned++;
        return { ok: false, rc: RC.banned, reason: `banned by ${ban.as}` };
      }
    }
    this.stats.admitted++;
    const client = { username, clientid: req.clientId, peerhost, certCommonName: req.certCommonName, protoName: req.protoName, mountpoint: req.mountpoint };
    const access = this.d.authorizer.forClient(client, r.superuser, r.acl);
    return {
      ok: true,
      access,
      ...(r.expiresAt !== undefined ? { expiresAt: r.expiresAt } : {}),
      ...(r.authData !== undefined ? { authData: r.authData } : {}),
      ...(username !== req.username && username !== undefined ? { username } : {}),
    };
  }
}
