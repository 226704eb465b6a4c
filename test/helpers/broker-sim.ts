// Brokers and their routers in one process over the in-memory link layer: for unit tests of
// routing across nodes without sockets. A client is a session with a recording outlet.
import { LogLimiter } from '../../src/base/log-limit.js';
import { silentLog } from '../../src/base/log.js';
import { newCounters } from '../../src/base/metrics.js';
import { Broker } from '../../src/broker/broker.js';
import type { Session } from '../../src/broker/session.js';
import { validateConfig } from '../../src/config/schema.js';
import type { Config, MqttConfig } from '../../src/config/types.js';
import type { Delivery, Message, Outlet, QoS, SubOptions } from '../../src/mqtt/port.js';
import { Router } from '../../src/router/router.js';
import { MemoryNet, type MemoryDist } from './memory-dist.js';

/** The config every broker here runs with: the schema's defaults (and `over` on top). */
export function defaultConfig(over: Record<string, unknown> = {}): Config {
  const paths = { root: '/r', etc_dir: '/r/etc', conf_file: '/r/etc/emqx.conf', log_dir: '/r/log', ssl_dist_optfile: '/r/etc/ssl_dist.conf' };
  const r = validateConfig({ node: { cookie: 'c' }, ...over }, { paths, env: {} });
  if (!r.config) throw new Error(r.problems.map((p) => p.message).join('; '));
  return r.config;
}

/** An outlet that records what it is given and acknowledges nothing by itself. */
export class RecordingOutlet implements Outlet {
  readonly got: Array<{ d: Delivery; packetId: number; dup: boolean }> = [];
  ready = true;
  maxPacketSize = Number.POSITIVE_INFINITY;
  kicked: number | undefined;
  publish(d: Delivery, packetId: number, dup: boolean): boolean {
    this.got.push({ d, packetId, dup });
    return true;
  }
  pubrel(): void {}
  kick(rc: number): void {
    this.kicked = rc;
  }
  topics(): string[] {
    return this.got.map((g) => g.d.msg.topic);
  }
}

export interface SimNode {
  readonly name: string;
  readonly dist: MemoryDist;
  readonly broker: Broker;
  readonly router: Router;
  members: Set<string>;
}

export class BrokerSim {
  readonly net = new MemoryNet();
  readonly nodes = new Map<string, SimNode>();
  /** The routers' grace for a node that went down (node.dist_net_ticktime); read when it goes down. */
  graceMs = 1000;

  constructor(readonly mqtt: MqttConfig = defaultConfig().mqtt) {}

  async add(name: string): Promise<SimNode> {
    const dist = this.net.create(name);
    await dist.start();
    const counters = newCounters();
    const broker = new Broker({ counters, log: silentLog, limited: new LogLimiter(silentLog), mqtt: this.mqtt, retainer: defaultConfig().retainer });
    const node: SimNode = { name, dist, broker, router: undefined as unknown as Router, members: new Set([name]) };
    const router = new Router({
      self: name,
      dist,
      log: silentLog,
      broker,
      isMember: (n) => node.members.has(n),
      running: () => [name, ...dist.nodes().filter((n) => node.members.has(n))],
      strategy: () => this.mqtt.shared_subscription_strategy,
      graceMs: () => this.graceMs,
    });
    (node as { router: Router }).router = router;
    broker.attachCluster(router);
    dist.on('nodeup', (n) => node.members.has(n) && router.peerUp(n));
    dist.on('nodedown', (n) => node.members.has(n) && router.peerDown(n));
    this.nodes.set(name, node);
    return node;
  }

  /** Every node a member of every other, all linked. */
  async mesh(): Promise<void> {
    const all = [...this.nodes.keys()];
    for (const n of this.nodes.values()) n.members = new Set(all);
    for (const a of all) for (const b of all) if (a < b) await this.nodes.get(a)!.dist.connect(b);
  }

  node(name: string): SimNode {
    return this.nodes.get(name)!;
  }

  /** A connected client with a session on `node`. */
  async client(node: string, clientId: string, receiveMaximum = 65535, o: { cleanStart?: boolean; expiryMs?: number } = {}): Promise<{ session: Session; outlet: RecordingOutlet; present: boolean }> {
    const r = await this.connect(node, clientId, receiveMaximum, o);
    if (!r.ok) throw new Error(r.reason);
    return r;
  }

  /** A connect that may be refused. */
  async connect(
    node: string,
    clientId: string,
    receiveMaximum = 65535,
    o: { cleanStart?: boolean; expiryMs?: number } = {},
  ): Promise<{ ok: true; session: Session; outlet: RecordingOutlet; present: boolean } | { ok: false; rc: number; reason: string }> {
    const outlet = new RecordingOutlet();
    const cleanStart = o.cleanStart ?? true;
    const r = await this.node(node).broker.connect({
      client: { clientId, username: undefined, peer: '127.0.0.1:1', listener: 'tcp:default', sockport: 1883, protoVer: 5, keepalive: 0, cleanStart, connectedAt: Date.now() },
      cleanStart,
      sessionExpiryMs: o.expiryMs ?? 0,
      receiveMaximum,
      outlet,
    });
    if (!r.ok) return r;
    return { ok: true, session: r.session as Session, outlet, present: r.sessionPresent };
  }

  stop(): void {
    for (const n of this.nodes.values()) {
      n.router.stop();
      void n.dist.stop();
    }
  }
}

export const sub = (qos: QoS = 0): SubOptions => ({ qos, nl: false, rap: false, rh: 0 });

export function message(topic: string, qos: QoS = 0, from = 'pub', payload = 'x'): Message {
  return { topic, payload: Buffer.from(payload), qos, retain: false, from, timestamp: Date.now(), expiresAt: Number.POSITIVE_INFINITY };
}

/** Lets the per-turn batches go out and arrive (a few turns of the event loop). */
export async function settle(turns = 4): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}
