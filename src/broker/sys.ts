// $SYS topics as EMQX publishes them (emqx_sys): every sys_topics.sys_msg_interval the version,
// description and running nodes (retained; the running nodes also within a second of a change)
// and every stat and metric; every
// sys_topics.sys_heartbeat_interval the uptime and date; and, per sys_topics.sys_event_messages,
// a JSON message when a client connects, disconnects, subscribes or unsubscribes.
import type { Counters } from '../base/metrics.js';
import type { SysTopicsConfig } from '../config/types.js';
import type { ClientInfo, Message, SubOptions } from '../mqtt/port.js';
import type { Broker } from './broker.js';
import type { Session } from './session.js';

export interface SysOptions {
  readonly node: string;
  readonly version: string;
  readonly startedAt: number;
  readonly broker: Broker;
  readonly counters: Counters;
  /** The cluster's running nodes (this one alone until the cluster routes messages). */
  readonly runningNodes: () => readonly string[];
}

export const SYSDESCR = 'emqx-ts: an EMQX-compatible MQTT broker on Node.js';

/**
 * emqx_sys:datetime/0: RFC 3339 in local time with its numeric offset and nine fractional digits
 * (calendar:system_time_to_rfc3339 with unit nanosecond), e.g. `2024-05-01T10:00:00.123000000+00:00`.
 */
export function datetime(d = new Date()): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const off = -d.getTimezoneOffset();
  const a = Math.abs(off);
  const date = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  const time = `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}000000`;
  return `${date}T${time}${off < 0 ? '-' : '+'}${p(Math.floor(a / 60))}:${p(a % 60)}`;
}

/** A message the broker itself publishes ($SYS): QoS 0, from no client. */
export function sysMessage(topic: string, payload: string, retain: boolean): Message {
  return { topic, payload: Buffer.from(payload), qos: 0, retain, from: '', timestamp: Date.now(), expiresAt: Number.POSITIVE_INFINITY };
}

function hostOf(peer: string): { ip: string; port: number } {
  const i = peer.lastIndexOf(':');
  const ip = peer.slice(0, i);
  return { ip: ip.startsWith('[') ? ip.slice(1, -1) : ip, port: Number(peer.slice(i + 1)) };
}

export class SysPublisher {
  #config: SysTopicsConfig;
  #tick: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #members: NodeJS.Timeout | undefined;
  /** `$SYS/brokers` as last written by this node. */
  #brokers: string | undefined;
  readonly #offs: Array<() => void> = [];

  constructor(
    private readonly o: SysOptions,
    config: SysTopicsConfig,
  ) {
    this.#config = config;
  }

  /** `$SYS/brokers/<node>/<suffix>` */
  topic(suffix: string): string {
    return `$SYS/brokers/${this.o.node}/${suffix}`;
  }

  start(): void {
    const b = this.o.broker;
    const on = <K extends 'connected' | 'disconnected' | 'subscribed' | 'unsubscribed'>(ev: K, fn: (...a: never[]) => void): void => {
      b.on(ev, fn as never);
      this.#offs.push(() => b.off(ev, fn as never));
    };
    on('connected', (client: ClientInfo, s: Session) => {
      if (!this.#config.sys_event_messages.client_connected) return;
      this.#event(client.clientId, 'connected', () => ({ ...this.#common(client), keepalive: client.keepalive, clean_start: client.cleanStart, expiry_interval: s.expiryMs === Number.POSITIVE_INFINITY ? 0xffffffff * 1000 : s.expiryMs }));
    });
    on('disconnected', (client: ClientInfo, reason: string) => {
      if (!this.#config.sys_event_messages.client_disconnected) return;
      this.#event(client.clientId, 'disconnected', () => ({ ...this.#common(client), reason, disconnected_at: Date.now() }));
    });
    on('subscribed', (clientId: string, filter: string, opts: SubOptions) => {
      if (!this.#config.sys_event_messages.client_subscribed) return;
      const username = b.sessions.get(clientId)?.client.username ?? null;
      this.#event(clientId, 'subscribed', () => ({ clientid: clientId, username, protocol: 'mqtt', topic: filter, subopts: { qos: opts.qos, nl: Number(opts.nl), rap: Number(opts.rap), rh: opts.rh }, ts: Date.now() }));
    });
    on('unsubscribed', (clientId: string, filter: string) => {
      if (!this.#config.sys_event_messages.client_unsubscribed) return;
      const username = b.sessions.get(clientId)?.client.username ?? null;
      this.#event(clientId, 'unsubscribed', () => ({ clientid: clientId, username, protocol: 'mqtt', topic: filter, ts: Date.now() }));
    });
    this.#schedule();
  }

  stop(): void {
    clearInterval(this.#tick);
    clearInterval(this.#heartbeat);
    clearInterval(this.#members);
    this.#offs.splice(0).forEach((off) => off());
  }

  reconfigure(config: SysTopicsConfig): void {
    const timers = config.sys_msg_interval !== this.#config.sys_msg_interval || config.sys_heartbeat_interval !== this.#config.sys_heartbeat_interval;
    this.#config = config;
    if (timers) this.#schedule();
  }

  #schedule(): void {
    clearInterval(this.#tick);
    clearInterval(this.#heartbeat);
    clearInterval(this.#members);
    const { sys_msg_interval: msg, sys_heartbeat_interval: hb } = this.#config;
    if (msg > 0) {
      this.#tick = setInterval(() => this.tick(), msg);
      this.#tick.unref();
      // Ours: `$SYS/brokers` follows the running nodes within a second, not one interval later.
      this.#members = setInterval(() => {
        if (this.o.runningNodes().join(',') !== this.#brokers) this.#publishBrokers();
      }, 1000);
      this.#members.unref();
      // The retained facts are there from the start, not one interval later.
      setImmediate(() => this.tick());
    }
    if (hb > 0) {
      this.#heartbeat = setInterval(() => this.heartbeat(), hb);
      this.#heartbeat.unref();
    }
  }

  tick(): void {
    this.#publish(this.topic('version'), this.o.version, true);
    this.#publish(this.topic('sysdescr'), SYSDESCR, true);
    this.#publishBrokers();
    for (const [name, v] of Object.entries(this.o.broker.stats()).sort()) this.#publish(this.topic(`stats/${name.replaceAll('.', '/')}`), String(v), false);
    for (const [name, v] of Object.entries(this.o.counters)) this.#publish(this.topic(`metrics/${name.replaceAll('.', '/')}`), String(v), false);
  }

  #publishBrokers(): void {
    this.#brokers = this.o.runningNodes().join(',');
    this.#publish('$SYS/brokers', this.#brokers, true);
  }

  heartbeat(): void {
    this.#publish(this.topic('uptime'), String(Date.now() - this.o.startedAt), false);
    this.#publish(this.topic('datetime'), datetime(), false);
  }

  #common(client: ClientInfo): Record<string, unknown> {
    const { ip } = hostOf(client.peer);
    return {
      clientid: client.clientId,
      username: client.username ?? null,
      ipaddress: ip,
      sockport: client.sockport,
      protocol: 'mqtt',
      proto_name: client.protoVer === 3 ? 'MQIsdp' : 'MQTT',
      proto_ver: client.protoVer,
      connected_at: client.connectedAt,
      ts: Date.now(),
    };
  }

  #event(clientId: string, event: string, payload: () => Record<string, unknown>): void {
    const topic = this.topic(`clients/${clientId}/${event}`);
    // A connect and a disconnect each make one: built only when someone subscribes to them.
    if (!this.o.broker.wouldReach(topic)) return;
    this.#publish(topic, JSON.stringify(payload()), false);
  }

  #publish(topic: string, payload: string, retain: boolean): void {
    this.o.broker.publish(sysMessage(topic, payload, retain));
  }
}
