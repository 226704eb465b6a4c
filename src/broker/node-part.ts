// The MQTT side of a running node, as two parts: the broker (sessions, subscriptions, retained,
// delayed, $SYS, topic rewrite, auto subscribe, slow subscriptions; follows mqtt.*, retainer.*,
// delayed.*, rewrite, auto_subscribe.*, broker.*, sys_topics.*, slow_subs.* on reload) and its
// listeners (follow listeners.* on reload, all or nothing). Two parts, so a listener that cannot bind on reload
// holds back only the listener change.
import type { Logger } from 'pino';
import type { NodePart } from '../base/part.js';
import { LogLimiter } from '../base/log-limit.js';
import { newCounters, type Counters } from '../base/metrics.js';
import type { Config } from '../config/types.js';
import type { CtlCommand } from '../ctl/types.js';
import { Listeners } from '../mqtt/listeners.js';
import { Tracer } from '../mqtt/tracer.js';
import { openTraceFile, traceCommand } from '../mqtt/trace-ctl.js';
import type { AccessPort, CongestionPort, OverloadPort } from '../mqtt/port.js';
import { Broker } from './broker.js';
import { brokerCommands } from './ctl.js';
import { SysPublisher } from './sys.js';

export interface MqttPartsHost {
  readonly config: Config;
  readonly logger: Logger;
  readonly version: string;
  readonly startedAt: number;
  /** The cluster's running nodes, this one included. */
  runningNodes(): readonly string[];
  /** The cluster's routes as [filter, node], once the router runs. */
  routes?(): Iterable<readonly [string, string]> | undefined;
  /** Kicks a client wherever its session is, once the router runs (undefined: not clustered). */
  kick?(clientId: string): Promise<boolean> | undefined;
  register(cmd: CtlCommand): void;
  /** Who may connect, publish and subscribe (auth/); absent: everyone may do everything. */
  readonly access?: AccessPort;
  /** Whether a client id is banned (auth/): its delayed messages are not published. */
  isBanned?(clientId: string): boolean;
  /** conn_congestion alarms (alarm/). */
  readonly congestion?: CongestionPort;
  /** overload_protection (alarm/). */
  readonly overload?: OverloadPort;
}

export interface MqttParts {
  readonly broker: NodePart;
  readonly listeners: NodePart;
  /** Available once built (always): the broker itself, for other parts and tests. */
  readonly core: Broker;
  readonly counters: Counters;
  readonly listenerSet: Listeners;
  /** This node's packet tracer (`ctl trace` and the cluster's traces). */
  readonly tracer: Tracer;
}

export const BROKER_KEYS = ['mqtt', 'retainer', 'delayed', 'rewrite', 'auto_subscribe', 'broker', 'sys_topics', 'slow_subs'];
export const LISTENER_KEYS = ['listeners'];

export function mqttParts(host: MqttPartsHost): MqttParts {
  const log = host.logger.child({ part: 'mqtt' });
  const limited = new LogLimiter(log);
  const counters = newCounters();
  let config = host.config;
  const broker = new Broker({
    counters,
    log,
    limited,
    mqtt: config.mqtt,
    retainer: config.retainer,
    delayed: config.delayed,
    rewrite: config.rewrite,
    autoSubscribe: config.auto_subscribe.topics,
    slowSubs: config.slow_subs,
    node: config.node.name,
    ...(host.isBanned ? { isBanned: host.isBanned } : {}),
  });
  const tracer = new Tracer(openTraceFile, (spec, err) =>
    log.warn({ trace: `${spec.type}=${spec.filter}`, file: spec.path, err: err.message }, `trace ${spec.type} ${spec.filter} stopped: writing ${spec.path} failed`),
  );
  const listeners = new Listeners({ broker, counters, log, limited, tracer, mqtt: () => config.mqtt, ...(host.access ? { access: host.access } : {}), ...(host.congestion ? { congestion: host.congestion } : {}), ...(host.overload ? { overload: host.overload } : {}) });
  const sys = new SysPublisher(
    { node: config.node.name, version: host.version, startedAt: host.startedAt, broker, counters, runningNodes: host.runningNodes },
    config.sys_topics,
  );
  let sweep: NodeJS.Timeout | undefined;

  const brokerPart: NodePart = {
    name: 'broker',
    start() {
      sys.start();
      // Expired retained messages nobody asked for are removed once a minute.
      sweep = setInterval(() => broker.retainer.sweep(), 60_000);
      sweep.unref();
      const { routes, kick } = host;
      const ctlHost = {
        node: config.node.name,
        version: host.version,
        startedAt: host.startedAt,
        broker,
        listeners,
        ...(routes ? { routes: () => routes() ?? [] } : {}),
        ...(kick ? { kick: (id: string) => kick(id) ?? Promise.resolve(broker.kick(id)) } : {}),
      };
      for (const c of brokerCommands(ctlHost)) host.register(c);
      host.register(traceCommand(tracer, config.paths.root));
    },
    stop() {
      clearInterval(sweep);
      tracer.close();
      sys.stop();
      broker.stop();
      limited.clear();
    },
    reloadKeys: BROKER_KEYS,
    reconfigure(next) {
      config = { ...config, mqtt: next.mqtt, retainer: next.retainer, delayed: next.delayed, rewrite: next.rewrite, auto_subscribe: next.auto_subscribe, broker: next.broker, sys_topics: next.sys_topics, slow_subs: next.slow_subs };
      broker.reconfigure({ mqtt: next.mqtt, retainer: next.retainer, delayed: next.delayed, rewrite: next.rewrite, autoSubscribe: next.auto_subscribe.topics, slowSubs: next.slow_subs });
      sys.reconfigure(next.sys_topics);
      listeners.refreshSettings();
    },
  };

  const listenersPart: NodePart = {
    name: 'listeners',
    async start() {
      await listeners.start(config.listeners);
      for (const l of listeners.list()) {
        if (l.running) log.info({ listener: l.id, bind: l.bind }, `listener ${l.id} started on ${l.bind}`);
        else if (l.note && l.note !== 'enable = false') log.info({ listener: l.id }, `listener ${l.id} not started: ${l.note}`);
      }
    },
    stop: () => listeners.stop(),
    reloadKeys: LISTENER_KEYS,
    refusal: { key: 'listeners', reason: 'the listeners stay as they were' },
    async reconfigure(next) {
      await listeners.reconfigure(next.listeners);
      config = { ...config, listeners: next.listeners };
    },
  };

  return { broker: brokerPart, listeners: listenersPart, core: broker, counters, listenerSet: listeners, tracer };
}
