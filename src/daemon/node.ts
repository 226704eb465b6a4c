// A running node, composed from its parts in boot order and stopped in reverse.
//
// This is the one file that wires the parts together. To add a part (membership, database,
// discovery, ...): write a `NodePart` and add it to `buildParts` at the place it belongs in
// the boot order; to add ctl commands, call `node.ctl.register(...)` from the part's start().
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { NodePart } from '../base/part.js';
import type { Dist } from '../link/index.js';
import { linkPart, type LinkPart } from '../link/node-part.js';
import { clusterPart, type ClusterPart } from '../cluster/node-part.js';
import { discoveryPart, type DiscoveryPart } from '../discovery/node-part.js';
import { mqttParts, type MqttParts } from '../broker/node-part.js';
import { routerPart, type RouterPart } from '../router/node-part.js';
import { tracePart, type TracePart } from '../trace/node-part.js';
import { apiPart, type ApiPart } from '../api/node-part.js';
import { authPart, type AuthPart } from '../auth/node-part.js';
import { alarmPart, type AlarmPart } from '../alarm/node-part.js';
import { sysMessage } from '../broker/sys.js';
import { CtlRegistry } from '../ctl/registry.js';
import { CtlServer, socketIsLive } from '../ctl/server.js';
import { RequestKind, type CtlRequest } from '../ctl/protocol.js';
import { claimPointer, pointerDir, pointerKey, removePointer, selectorEtcDir } from '../ctl/pointer.js';
import { statusCommand } from '../ctl/status.js';
import { vmCommand } from '../ctl/vm.js';
import { LogLevelControl, logCommand } from '../ctl/log.js';
import { DEFAULT_LOG_LEVEL, type LogLevel } from '../config/log-level.js';
import { confCommand } from '../ctl/conf.js';
import { effectiveTree } from '../config/schema.js';
import { redactTree } from '../config/redact.js';
import { loadNodeConfig } from './config.js';
import { tlsFilesOf } from '../config/tls-files.js';
import { configFileSet, watchConfigDir, type ConfigWatcher } from './config-watcher.js';
import { formatReloadReport, reloadConfig } from './reload.js';
import type { CtlResult } from '../ctl/types.js';
import { controlSocketPath, ensureWritableDir, mnesiaDir, otherNodesInDataDir, renameWarning } from './data-dir.js';
import type { NodeLogger, RunMode } from './logger.js';
import type { LogConfig } from '../config/types.js';
import { makeDirsSync } from '../base/make-dirs.js';

export type { NodePart } from '../base/part.js';

export interface NodeOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** The environment the node was started with (selects the ctl pointer; see src/ctl/pointer.ts). */
  readonly env: NodeJS.ProcessEnv;
  readonly version: string;
  readonly mode: RunMode;
  /** Called when a client asks the node to stop (`emqx stop`): the runner shuts the process down. */
  readonly onStopRequest?: () => void;
  /** How long one part may take to stop before the node moves on (default 10 s). */
  readonly partStopTimeoutMs?: number;
  /** Where the log goes (the runner's NodeLogger): its handlers for `emqx ctl log`, new outputs on a reload. */
  readonly logOutputs?: Pick<NodeLogger, 'setOutputs' | 'handlers'>;
}

/** The configured level of each of the logger's handlers, by EMQX's handler ids. */
const handlerLevels = (log: LogConfig): Record<string, LogLevel> => ({ default: log.file.level, console: log.console.level });

export class EmqxNode {
  readonly logger: Logger;
  readonly version: string;
  readonly ctl = new CtlRegistry();
  readonly startedAt = Date.now();
  /** Operator-facing warnings found during start (printed by `emqx start`). */
  readonly warnings: string[] = [];
  readonly socketPath: string;
  /** Links to the other nodes, listening on this node's distribution port once started. */
  readonly links: LinkPart;
  /** Membership and the replicated tables: `cluster.parts()` once started; `cluster.reconfigure(config)` on reload. */
  readonly cluster: ClusterPart;
  /** The configured discovery strategy and the autocluster loop; `discovery.reconfigure(config)` on reload. */
  readonly discovery: DiscoveryPart;
  /** Authentication, authorization, banned clients, flapping detection. */
  readonly auth: AuthPart;
  /** This node's alarms (before the broker: the listeners report congested clients to it). */
  readonly alarm: AlarmPart;
  /** The MQTT broker and its listeners. */
  readonly mqtt: MqttParts;
  /** Routes and forwarding across the cluster. */
  readonly router: RouterPart;
  /** The cluster's log traces (the API's /trace), run on this node's clients. */
  readonly traces: TracePart;
  /** The HTTP API (/api/v5) and the dashboard page on dashboard.listeners. */
  readonly api: ApiPart;
  /** The log level: from emqx.conf, `emqx ctl log`, and reloads. */
  readonly logLevel: LogLevelControl;
  readonly #opts: NodeOptions;
  /** The running configuration: replaced by each reload. */
  #config: Config;
  #watcher: ConfigWatcher | undefined;
  /** Reloads run one at a time, in the order asked. */
  #reloading: Promise<unknown> = Promise.resolve();
  #started: NodePart[] = [];
  #state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';

  constructor(opts: NodeOptions) {
    this.#opts = opts;
    this.#config = opts.config;
    this.logger = opts.logger;
    this.version = opts.version;
    this.socketPath = controlSocketPath(opts.config.node.data_dir);
    this.links = linkPart(opts.config, opts.logger);
    this.cluster = clusterPart({ config: opts.config, logger: opts.logger, mnesiaDir: this.mnesiaDir, version: opts.version, dist: () => this.dist, register: (c) => this.ctl.register(c) });
    this.discovery = discoveryPart({
      config: opts.config,
      logger: opts.logger,
      startedAt: this.startedAt,
      dist: () => this.dist,
      cluster: () => this.cluster.parts(),
      register: (c) => this.ctl.register(c),
    });
    this.auth = authPart({
      config: opts.config,
      logger: opts.logger,
      db: () => this.cluster.parts()?.db,
      register: (c) => this.ctl.register(c),
      warn: (msg) => this.warnings.push(msg),
    });
    this.alarm = alarmPart({
      config: opts.config,
      logger: opts.logger,
      publish: (topic, payload) => this.mqtt.core.publish(sysMessage(topic, payload, false)),
      clusterEvents: () => this.cluster.parts()?.cluster.events,
      register: (c) => this.ctl.register(c),
    });
    this.mqtt = mqttParts({
      congestion: this.alarm.congestion,
      overload: this.alarm.overload,
      access: this.auth.service.access,
      isBanned: (id) => this.auth.service.banned.clientIdBanned(id),
      config: opts.config,
      logger: opts.logger,
      version: opts.version,
      startedAt: this.startedAt,
      runningNodes: () => this.cluster.parts()?.cluster.status().running ?? [this.name],
      routes: () => this.router.router()?.routeRows(),
      kick: (id) => this.router.router()?.sessions.kick(id),
      register: (c) => this.ctl.register(c),
    });
    this.api = apiPart({
      config: opts.config,
      logger: opts.logger,
      version: opts.version,
      startedAt: this.startedAt,
      dist: () => this.dist,
      clusterParts: () => this.cluster.parts(),
      broker: this.mqtt.core,
      counters: this.mqtt.counters,
      warn: (msg) => this.warnings.push(msg),
      auth: () => this.auth.service,
      current: () => this.#config,
      traces: () => this.traces.traces(),
      listeners: this.mqtt.listenerSet,
      alarms: this.alarm.alarms,
      topicMetrics: () => this.router.topicMetrics(),
      register: (c) => this.ctl.register(c),
      reload: async (trigger) => {
        const r = await this.reload(trigger);
        if (!r.ok) return r.errors.join('\n');
        return r.refused.length > 0 ? r.refused.map((x) => `${x.key}: ${x.reason}`).join('\n') : undefined;
      },
    });
    this.router = routerPart({ config: opts.config, logger: opts.logger, dist: () => this.dist, cluster: () => this.cluster.parts(), broker: this.mqtt.core });
    this.traces = tracePart({ config: opts.config, logger: opts.logger, tracer: this.mqtt.tracer, cluster: () => this.cluster.parts(), dist: () => this.dist, register: (c) => this.ctl.register(c) });
    this.ctl.register(statusCommand({ nodeName: this.name, version: this.version, startedAt: this.startedAt }));
    this.ctl.register(vmCommand());
    const log = opts.config.log;
    this.logLevel = new LogLevelControl(opts.logger, log?.level ?? DEFAULT_LOG_LEVEL, opts.logOutputs?.handlers, log ? handlerLevels(log) : {});
    this.ctl.register(logCommand(this.logLevel));
    this.ctl.register(
      confCommand({
        reload: async () => formatReloadReport(await this.reload('ctl')),
        effective: () => redactTree(effectiveTree(this.#config)) as Record<string, unknown>,
      }),
    );
  }

  get dist(): Dist {
    return this.links.dist;
  }

  get config(): Config {
    return this.#config;
  }

  get name(): string {
    return this.config.node.name;
  }

  get state(): string {
    return this.#state;
  }

  /** Where the database layer keeps this node's files. */
  get mnesiaDir(): string {
    return mnesiaDir(this.config.node.data_dir, this.name);
  }

  /** The parts in boot order. Extend here. */
  #buildParts(): NodePart[] {
    const { config, logger } = this;
    const dataDir = config.node.data_dir;
    const ptrDir = pointerDir(this.#opts.env);
    const ptrKey = pointerKey(selectorEtcDir(config.paths.root, this.#opts.env), this.#opts.env);
    const ctlServer = new CtlServer({ socketPath: this.socketPath, logger, pointerKey: ptrKey, handler: (req) => this.#handle(req) });
    return [
      {
        name: 'data_dir',
        start: () => ensureWritableDir(dataDir, 'data directory (node.data_dir)'),
        stop: () => undefined,
      },
      // The bound control socket is the data directory's lock: it comes before anything that
      // touches the data directory's contents.
      { name: 'ctl_server', start: () => ctlServer.listen(), stop: () => ctlServer.close() },
      {
        name: 'ctl_pointer',
        start: async () => {
          const res = await claimPointer(ptrDir, ptrKey, this.socketPath, (s) => socketIsLive(s));
          if (res.error) logger.warn({ err: res.error.message }, 'could not create the ctl pointer; emqx_ctl will take the slower path');
          else if (res.ambiguous) {
            logger.warn(
              { pointer_dir: ptrDir, key: ptrKey },
              'another running node was started with the same EMQX_ETC_DIR, EMQX_NODE__NAME and EMQX_NODE__DATA_DIR; emqx_ctl resolves the configuration for both (slower path)',
            );
          }
        },
        stop: () => removePointer(ptrDir, ptrKey, this.socketPath),
      },
      // The log level, file and terminal from emqx.conf, applied again on a reload that changes
      // them. The new file is opened before anything changes, so a path that cannot be written
      // refuses the change whole.
      {
        name: 'log',
        start: () => undefined,
        stop: () => undefined,
        reloadKeys: ['log'],
        reconfigure: async (config) => {
          const { log } = config;
          if (log !== undefined) await this.#opts.logOutputs?.setOutputs(log.file, log.console);
          this.logLevel.configure(log?.level ?? DEFAULT_LOG_LEVEL, log ? handlerLevels(log) : {}, 'configuration reload', log ? undefined : DEFAULT_LOG_LEVEL);
        },
      },
      {
        name: 'mnesia_dir',
        start: () => {
          const others = otherNodesInDataDir(dataDir, this.name);
          if (others.length > 0) {
            const msg = renameWarning(dataDir, this.name, others);
            logger.warn({ data_dir: dataDir, other_nodes: others }, msg);
            this.warnings.push(msg);
          }
          makeDirsSync(this.mnesiaDir);
        },
        stop: () => undefined,
      },
      this.links,
      // Membership and the replicated tables (store in mnesiaDir); registers `cluster` and `admins`.
      this.cluster,
      // Needs membership (joins through it) and wraps its `cluster` command.
      this.discovery,
      // Needs the tables (users, bans, rules); the listeners ask it about every client.
      this.auth,
      // Clients last: by the time one can connect, everything it may need runs.
      this.mqtt.broker,
      this.router,
      this.traces,
      // Publishes on $SYS through the broker; the listeners report congested clients to it.
      this.alarm,
      this.mqtt.listeners,
      // Reads membership, the tables and the broker: after them.
      this.api,
      // Last: a change is only applied to a node whose parts all run.
      {
        name: 'config_watch',
        start: async () => {
          try {
            this.#watcher = await watchConfigDir(
              config.paths.etc_dir,
              () => this.#configFiles(),
              async (unchanged) => {
                const r = await this.reload('file change', unchanged);
                return !(r.ok && r.unsettled === true);
              },
              logger.child({ part: 'reload' }),
            );
          } catch (err) {
            // Not worth refusing to start over: SIGHUP and `conf reload` still reload.
            const msg = `cannot watch ${config.paths.etc_dir} for config changes (${err instanceof Error ? err.message : String(err)}); reload with SIGHUP or 'emqx ctl conf reload'`;
            logger.warn(msg);
            this.warnings.push(msg);
          }
        },
        stop: async () => {
          await this.#watcher?.close();
          this.#watcher = undefined;
        },
      },
    ];
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`node already ${this.#state}`);
    this.#state = 'starting';
    for (const part of this.#buildParts()) {
      try {
        await part.start();
      } catch (err) {
        this.logger.error({ part: part.name, err: err instanceof Error ? err.message : String(err) }, 'start failed');
        await this.#stopParts();
        this.#state = 'stopped';
        throw err;
      }
      this.#started.push(part);
      this.logger.debug({ part: part.name }, 'started');
    }
    this.#state = 'running';
    this.logger.info({ version: this.version, data_dir: this.config.node.data_dir, mode: this.#opts.mode }, `node ${this.name} started`);
  }

  /** Graceful stop: every part in reverse boot order, each bounded in time. Idempotent. */
  async stop(): Promise<void> {
    if (this.#state === 'stopping' || this.#state === 'stopped') return;
    this.#state = 'stopping';
    this.logger.info(`node ${this.name} stopping`);
    await this.#stopParts();
    this.#state = 'stopped';
    this.logger.info(`node ${this.name} stopped`);
  }

  async #stopParts(): Promise<void> {
    const timeoutMs = this.#opts.partStopTimeoutMs ?? 10_000;
    while (this.#started.length > 0) {
      const part = this.#started.pop()!;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(() => part.stop()),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`did not stop within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
      } catch (err) {
        this.logger.error({ part: part.name, err: err instanceof Error ? err.message : String(err) }, 'stop failed');
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /**
   * The files whose content decides a reload: emqx.conf and includes, ssl_dist.conf and its
   * files, and every certificate and key file the configuration names (a renewed certificate is
   * applied as it lands on disk).
   */
  #configFiles(): string[] {
    const { paths } = this.#config;
    return configFileSet(paths.conf_file, paths.ssl_dist_optfile, tlsFilesOf(this.#config));
  }

  /**
   * SIGHUP, `conf reload`, or a change seen by the watcher: re-read the configuration and apply
   * it. A reload asked for (not seen by the watcher) re-baselines the watcher afterwards, so the
   * same change is not applied twice.
   */
  reload(trigger: string, unchanged?: () => Promise<boolean>): ReturnType<typeof reloadConfig> {
    const run = async (): ReturnType<typeof reloadConfig> => {
      this.logger.info({ trigger }, 'reload requested');
      if (this.#state !== 'running') return { ok: false, errors: [`node is ${this.#state}`] };
      const report = await reloadConfig(
        {
          logger: this.logger,
          running: () => this.#config,
          load: () => loadNodeConfig({ root: this.#config.paths.root, env: this.#opts.env }),
          ...(unchanged ? { unchanged } : {}),
          parts: () => this.#started,
          commit: (c) => {
            this.#config = c;
          },
        },
        trigger,
      );
      if (trigger !== 'file change') await this.#watcher?.sync();
      return report;
    };
    const p = this.#reloading.then(run, run);
    this.#reloading = p.catch(() => undefined);
    return p;
  }

  async #handle(req: CtlRequest): Promise<CtlResult> {
    switch (req.kind) {
      case RequestKind.ping:
        return { code: 0, output: 'pong\n' };
      case RequestKind.info:
        return { code: 0, output: `${JSON.stringify({ name: this.name, pid: process.pid, version: this.version, state: this.#state })}\n` };
      case RequestKind.stop:
        this.logger.info('stop requested over the control socket');
        // After the reply is on its way: the client then waits for this process to exit.
        setImmediate(() => this.#opts.onStopRequest?.());
        return { code: 0, output: `${process.pid}\n` };
      case RequestKind.command:
        if (this.#state !== 'running') return { code: 1, output: `Node '${this.name}' is ${this.#state}, try again shortly.\n` };
        return this.#runCommand(req.args);
    }
  }

  /** Runs a ctl command and leaves an audit line (the first two words only: later ones may be passwords). */
  async #runCommand(args: readonly string[]): Promise<CtlResult> {
    const started = performance.now();
    const res = await this.ctl.run(args, (cmd, err) => this.logger.error({ cmd, err }, 'ctl command crashed'));
    const command = args.slice(0, 2).join(' ') || 'help';
    this.logger.info({ command, code: res.code, duration_ms: Math.round(performance.now() - started) }, 'ctl command');
    return res;
  }
}
