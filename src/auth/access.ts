// What the MQTT channel asks at CONNECT (mqtt/port.ts AccessPort), in EMQX's order: is the
// client banned (refused 0x8A before any other work, so a banned client hammering reconnects
// costs a few lookups per attempt), count the connect for flapping detection (a client found
// flapping is banned on every node; this connect still goes on, as in EMQX), then the
// authentication chain; an admitted client gets its authorization view.
import type { Log } from '../base/log.js';
import type { LogLimiter } from '../base/log-limit.js';
import type { AccessPort, AccessRequest, AccessResult } from '../mqtt/port.js';
import { RC } from '../mqtt/reason-codes.js';
import type { AuthnChain } from './authn/chain.js';
import type { Authorizer } from './authz/authorizer.js';
import { hostOf } from './authz/cidr.js';
import type { Banned } from './banned/banned.js';
import type { FlappingDetector } from './banned/flapping.js';

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
    const r = await this.d.chain.authenticate({ clientid: req.clientId, username: req.username, password: req.password, peerhost, certCommonName: req.certCommonName });
    if (!r.ok) {
      this.stats.refusedAuthn++;
      // The reason stays in this node's log; the client learns only the reason code.
      this.d.limited.warn(`authn:${req.listener}`, { listener: req.listener, peer: req.peer, clientid: req.clientId.slice(0, 200), reason: r.reason }, 'authentication failed');
      return { ok: false, rc: r.rc, reason: 'authentication failed' };
    }
    this.stats.admitted++;
    const client = { username: req.username, clientid: req.clientId, peerhost, certCommonName: req.certCommonName, protoName: req.protoName, mountpoint: req.mountpoint };
    const access = this.d.authorizer.forClient(client, r.superuser, r.acl);
    return { ok: true, access, ...(r.expiresAt !== undefined ? { expiresAt: r.expiresAt } : {}) };
  }
}
