// The HTTP API and dashboard part of a running node: the listeners from `dashboard.listeners`,
// the /api/v5 application, the `api.rpc` channel other nodes' APIs call, the /monitor sampler,
// the default administrator and the API key bootstrap file. Follows `dashboard` and `api_key`
// on reload. Comes after membership and the broker in boot order: it reads both.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { NodePart } from '../base/part.js';
import type { Counters } from '../base/metrics.js';
import type { Broker } from '../broker/broker.js';
import type { ClusterParts } from '../cluster/parts.js';
import type { Config } from '../config/types.js';
import { ADMINS_TABLE, type Admin } from '../db/admins.js';
import { hashPassword, verifyPassword } from '../db/password.js';
import type { Dist } from '../link/types.js';
import { ApiKeys, parseBootstrapFile } from './auth/api-keys.js';
import { AuthStore } from './auth/auth-store.js';
import { FailureLimiter } from './auth/rate-limit.js';
import { LocalOps } from './cluster/local-ops.js';
import { ClusterRpc } from './cluster/rpc.js';
import type { ApiContext } from './context.js';
import { DashboardListeners, isOn } from './listeners.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { authRoutes, DEFAULT_PASSWORD, defaultPasswordWarning } from './routes/auth.js';
import { userRoutes } from './routes/users.js';
import { dataBackupRoutes } from './routes/data-backup.js';
import { clientRoutes } from './routes/clients.js';
import { delayedRoutes } from './routes/delayed.js';
import { extensionRoutes } from './routes/extensions.js';
import { publishRoutes } from './routes/publish.js';
import { retainerRoutes } from './routes/retainer.js';
import { traceRoutes } from './routes/trace.js';
import { mqttListenerRoutes } from './routes/mqtt-listeners.js';
import { metricRoutes } from './routes/metrics.js';
import { mqttAuthRoutes } from './routes/mqtt-auth.js';
import { authzRoutes } from './routes/authz.js';
import { authzCommand } from './authz-ctl.js';
import { pemCacheCommand } from './pem-cache-ctl.js';
import type { CtlCommand } from '../ctl/types.js';
import type { AuthService } from '../auth/service.js';
import type { ClusterTraces } from '../trace/cluster-traces.js';
import type { Listeners } from '../mqtt/listeners.js';
import type { Alarms } from '../alarm/alarms.js';
import { alarmRoutes } from './routes/alarms.js';
import { topicMetricRoutes } from './routes/topic-metrics.js';
import { slowSubsRoutes } from './routes/slow-subs.js';
import type { TopicMetricsList } from '../router/topic-metrics-store.js';
import { nodeRoutes } from './routes/nodes.js';
import type { ApiServer } from './server.js';
import { loadStatic } from './static.js';
import { LoginLock } from './auth/login-lock.js';

export interface ApiPartHost {
  readonly config: Config;
  readonly logger: Logger;
  readonly version: string;
  readonly startedAt: number;
  dist(): Dist;
  /** Membership and the replicated tables (started before this part). */
  clusterParts(): ClusterParts | undefined;
  readonly broker: Broker;
  readonly counters: Counters;
  /** An operator-facing warning, printed by `emqx start`. */
  warn(msg: string): void;
  /** MQTT users, bans and authorization rules (auth/), for their routes. */
  auth?(): AuthService | undefined;
  /** The node's configuration in force (after every reload, whichever part it changed). */
  current?(): Config;
  /** The cluster's log traces on this node (started after this part is built). */
  traces?(): ClusterTraces | undefined;
  /** This node's MQTT listeners. */
  readonly listeners?: Listeners;
  /** This node's alarms. */
  readonly alarms?: Alarms;
  /** The cluster's metered topics, once the router runs. */
  topicMetrics?(): TopicMetricsList | undefined;
  /** Adds a command to `emqx ctl`. */
  register?(c: CtlCommand): void;
  /** Reads the configuration (and certificate files) again and applies what changed: why not, or undefined. */
  reload?(trigger: string): Promise<string | undefined>;
}

export interface ApiPart extends NodePart {
  /** The bound listener addresses (`http`, `https`), once started. */
  addresses(): Record<string, string>;
}

export const API_KEYS = ['dashboard', 'api_key'];
/** Deadline of one call to another node's API. */
const CALL_TIMEOUT_MS = 2000;
/** How often revocations of expired tokens are forgotten. */
const SWEEP_MS = 10 * 60 * 1000;

/** EMQX's check on dashboard.sample_interval. */
export function checkSampleInterval(ms: number): void {
  const s = ms / 1000;
  if (!Number.isInteger(s) || s < 1 || s > 60 || 60 % s !== 0) {
    throw new Error(`dashboard.sample_interval: ${s}s must be between 1 and 60 seconds and a divisor of 60`);
  }
}

export function apiPart(host: ApiPartHost): ApiPart {
  const log = host.logger.child({ part: 'api' });
  let config = host.config;
  let server: ApiServer | undefined;
  let sampler: NodeJS.Timeout | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  const parts = (): ClusterParts | undefined => host.clusterParts();
  const db = (): ClusterParts['db'] | undefined => parts()?.db;
  let apiKeys: ApiKeys | undefined;
  let store: AuthStore | undefined;
  const local = new LocalOps({
    node: config.node.name,
    version: host.version,
    startedAt: host.startedAt,
    broker: host.broker,
    counters: host.counters,
    config: () => host.current?.() ?? config,
    join: async (target) => {
      const c = parts()?.cluster;
      if (!c) throw new Error('membership is not running');
      await c.join(target);
    },
    membership: () => parts()?.cluster.status() ?? { running: [config.node.name], stopped: [] },
    traces: () => host.traces?.(),
    ...(host.listeners ? { listeners: host.listeners } : {}),
    ...(host.alarms ? { alarms: host.alarms } : {}),
    auth: () => host.auth?.(),
    db,
    busy: () => parts()?.cluster.busy(),
    ...(host.reload ? { reload: host.reload } : {}),
  });
  const rpc = new ClusterRpc({
    dist: () => host.dist(),
    local,
    status: () => parts()?.cluster.status() ?? { running: [config.node.name], stopped: [] },
    timeoutMs: CALL_TIMEOUT_MS,
  });
  const listeners = new DashboardListeners(() => server!, log);
  const ctx: ApiContext = {
    version: host.version,
    log,
    local,
    rpc,
    failures: new FailureLimiter({ max: 10, windowMs: 60_000 }),
    logins: new LoginLock(),
    config: () => host.current?.() ?? config,
    dist: () => host.dist(),
    cluster: () => parts()?.cluster,
    admins: () => parts()?.admins,
    apiKeys: () => apiKeys,
    store: () => store,
    now: () => Date.now(),
  };

  const startSampler = (): void => {
    clearInterval(sampler);
    local.monitor.intervalMs = config.dashboard.sample_interval;
    local.sample();
    sampler = setInterval(() => local.sample(), config.dashboard.sample_interval);
    sampler.unref();
  };

  /** EMQX creates the default administrator when there is none; so here, only when the table is empty. */
  const ensureAdmin = async (): Promise<void> => {
    const p = parts();
    if (!p) return;
    const { default_username: user, default_password: pwd } = config.dashboard;
    if (p.admins.list().length === 0 && user !== '' && pwd !== '') {
      // Written directly: the shipped default is shorter than `admins add` accepts from an operator.
      const admin: Admin = { username: user, pwdHash: await hashPassword(pwd), description: 'administrator', role: 'administrator', createdAt: Date.now() };
      await p.db.write(ADMINS_TABLE, user, admin);
      log.info({ username: user }, 'created the default dashboard administrator');
    }
    const a = p.admins.get(user);
    if (a && ((await verifyPassword(DEFAULT_PASSWORD, a.pwdHash)) || (await verifyPassword(pwd, a.pwdHash)))) {
      const msg = defaultPasswordWarning(user);
      log.warn({ username: user }, msg);
      host.warn(`WARNING: ${msg}`);
    }
  };

  const loadBootstrap = async (file: string | undefined): Promise<void> => {
    if (file === undefined || !apiKeys) return;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`api_key.bootstrap_file: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
    }
    const { keys, errors } = parseBootstrapFile(text);
    if (errors.length > 0) throw new Error(`api_key.bootstrap_file ${file}: ${errors.join('; ')}`);
    for (const k of keys) await apiKeys.bootstrap(k.apiKey, k.secret);
    log.info({ file, keys: keys.length }, 'API keys loaded from the bootstrap file');
  };

  /**
   * The HTTP application is built (and fastify loaded) once a dashboard listener is on: a node
   * without one never pays its start-up time and memory. The rpc channel, the sampler and the
   * administrators work without it: other nodes' APIs call this one.
   */
  const ensureServer = async (d: Config['dashboard']): Promise<void> => {
    if (server !== undefined || !(isOn(d.listeners.http) || isOn(d.listeners.https))) return;
    const { buildServer } = await import('./server.js');
    server = await buildServer(
      ctx,
      [...authRoutes(ctx), ...userRoutes(ctx), ...dataBackupRoutes(ctx), ...apiKeyRoutes(ctx), ...nodeRoutes(ctx), ...clientRoutes(ctx), ...metricRoutes(ctx), ...delayedRoutes(ctx, host.broker.delayed), ...extensionRoutes(host.broker), ...publishRoutes(host.broker, ctx.now), ...retainerRoutes(ctx, host.broker.retainer), ...traceRoutes(ctx, () => host.traces?.()), ...mqttListenerRoutes(ctx), ...alarmRoutes(ctx), ...topicMetricRoutes(ctx, () => host.topicMetrics?.()), ...slowSubsRoutes(ctx), ...mqttAuthRoutes(() => host.auth?.()), ...authzRoutes(ctx, () => host.auth?.())],
      loadStatic(),
    );
  };

  return {
    name: 'api',
    async start() {
      checkSampleInterval(config.dashboard.sample_interval);
      const d = db();
      if (d) {
        apiKeys = new ApiKeys(d);
        store = new AuthStore(d);
        await store.ensureSigningKey();
        await ensureAdmin();
        await loadBootstrap(config.api_key.bootstrap_file);
      }
      rpc.serve();
      host.register?.(authzCommand(rpc));
      host.register?.(pemCacheCommand(rpc));
      startSampler();
      sweeper = setInterval(() => void store?.sweep(Date.now()).catch((err: unknown) => log.debug({ err: String(err) }, 'token revocation sweep failed')), SWEEP_MS);
      sweeper.unref();
      await ensureServer(config.dashboard);
      await listeners.start(config.dashboard);
    },
    async stop() {
      clearInterval(sampler);
      clearInterval(sweeper);
      await listeners.stop();
      await server?.close();
      server = undefined;
    },
    reloadKeys: API_KEYS,
    refusal: { key: 'dashboard', reason: 'the dashboard listeners stay as they were' },
    async reconfigure(next, changed) {
      checkSampleInterval(next.dashboard.sample_interval);
      if (changed.some((k) => k.startsWith('dashboard.listeners'))) {
        await ensureServer(next.dashboard);
        await listeners.reconfigure(next.dashboard);
      }
      const intervalChanged = next.dashboard.sample_interval !== config.dashboard.sample_interval;
      const bootstrapChanged = next.api_key.bootstrap_file !== config.api_key.bootstrap_file;
      config = next;
      if (intervalChanged) startSampler();
      if (bootstrapChanged) await loadBootstrap(next.api_key.bootstrap_file);
    },
    addresses: () => listeners.addresses(),
  };
}
