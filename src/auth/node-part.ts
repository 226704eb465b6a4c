// Authentication and authorization as a part of the running node: built from Config (the
// `authentication`, `authorization` and `flapping_detect` roots), started after the replicated
// tables and before the MQTT listeners, following those roots on reload (an acl.conf that does
// not compile refuses the change and keeps the rules in force) and its acl.conf files whenever
// they change on disk. Registers `banned`, `users` and `acl`.
import { existsSync, readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { NodePart } from '../base/part.js';
import { LogLimiter } from '../base/log-limit.js';
import type { Config } from '../config/types.js';
import type { CtlCommand } from '../ctl/types.js';
import type { Db } from '../db/db.js';
import { watchAclFiles, type AclWatch } from './authz/acl-watch.js';
import { aclCommand, bannedCommand, usersCommand } from './ctl.js';
import { AuthService, type AuthSettings } from './service.js';

export interface AuthPartHost {
  readonly config: Config;
  readonly logger: Logger;
  /** The replicated tables (open once membership runs, before this part starts). */
  db(): Db | undefined;
  register(cmd: CtlCommand): void;
  /** An operator-facing warning, printed by `emqx start`. */
  warn(msg: string): void;
}

export interface AuthPart extends NodePart {
  readonly service: AuthService;
}

export const AUTH_KEYS = ['authentication', 'authorization', 'flapping_detect'];

const settingsOf = (c: Config): AuthSettings => ({ authentication: c.authentication, authorization: c.authorization, flapping_detect: c.flapping_detect, etcDir: c.paths.etc_dir });

const LOOPBACK = /^(127\.|\[::1\]:|localhost:)/;

/** The start-up warnings: what is configured and not served, and open doors. */
export function authWarnings(c: Config): string[] {
  const out: string[] = [];
  for (const a of c.authentication) {
    if ('unserved' in a && a.enable) out.push(`authentication: ${a.mechanism}${a.backend ? `:${a.backend}` : ''} is not served by this node; it never admits a client (as an EMQX authenticator whose backend is down)`);
  }
  for (const s of c.authorization.sources ?? []) {
    if ('unserved' in s && s.enable) out.push(`authorization: the ${s.type} source is not served by this node; it never matches (as an EMQX source whose backend is down)`);
  }
  const anonymous = !c.authentication.some((a) => a.enable);
  if (anonymous) {
    const open = Object.entries(c.listeners).flatMap(([type, byName]) =>
      Object.entries(byName)
        .filter(([, l]) => l.enable && l.shadowed_by === undefined && l.off_reason === undefined && !LOOPBACK.test(l.bind))
        .map(([name, l]) => `${type}:${name} (${l.bind})`),
    );
    if (open.length > 0) {
      out.push(`no authentication is configured: any client reaching ${open.join(', ')} is let in. Configure an authentication chain (README: Authentication and authorization) or bind the listeners to loopback`);
    }
  }
  return out;
}

export function authPart(host: AuthPartHost): AuthPart {
  const log = host.logger.child({ part: 'auth' });
  const limited = new LogLimiter(log);
  let config = host.config;
  const service = new AuthService({ db: () => host.db(), log, limited, settings: settingsOf(config) });
  let watch: AclWatch | undefined;
  let sweeper: NodeJS.Timeout | undefined;

  const rewatch = async (): Promise<void> => {
    await watch?.close();
    watch = watchAclFiles(service.watchedFiles(), (file, texts) => {
      const r = service.reloadAclFiles(texts);
      if (r.ok) log.info({ file, files: r.files }, 'acl.conf changed: rules reloaded');
      else log.error({ file, err: r.error }, `acl.conf changed but is not valid; the rules in force stay: ${r.error}`);
    });
  };

  const bootstrap = async (): Promise<void> => {
    const a = service.builtin();
    if (!a?.enable || a.bootstrap_file === undefined || !existsSync(a.bootstrap_file)) return;
    try {
      const r = await service.importFile(a.bootstrap_file, readFileSync(a.bootstrap_file, 'utf8'), a.bootstrap_type, false);
      log.info({ file: a.bootstrap_file, ...r }, 'built_in_database users bootstrapped');
    } catch (err) {
      log.warn({ file: a.bootstrap_file, err: err instanceof Error ? err.message : String(err) }, 'built_in_database bootstrap file not imported');
    }
  };

  return {
    name: 'auth',
    service,
    async start() {
      service.apply(settingsOf(config));
      for (const w of authWarnings(config)) {
        log.warn(w);
        host.warn(`WARNING: ${w}`);
      }
      await bootstrap();
      await rewatch();
      sweeper = setInterval(() => {
        service.flapping.sweep(Date.now());
        void service.banned.sweep().catch(() => undefined);
      }, 60_000);
      sweeper.unref();
      host.register(bannedCommand(service.banned));
      host.register(usersCommand(service));
      host.register(aclCommand(service));
    },
    async stop() {
      clearInterval(sweeper);
      service.chain.close();
      await watch?.close();
      watch = undefined;
      limited.clear();
    },
    reloadKeys: AUTH_KEYS,
    refusal: { key: 'authorization', reason: 'authentication and authorization stay as they were' },
    async reconfigure(next) {
      service.apply(settingsOf(next));
      config = next;
      await rewatch();
      for (const w of authWarnings(next)) log.warn(w);
    },
  };
}
