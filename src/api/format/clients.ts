// One session as EMQX's GET /clients shows it (emqx_mgmt_api_clients format_channel_info), and
// the list filters. Pure: the broker's Session in, plain JSON out.
import type { Session } from '../../broker/session.js';
import { matches, parseShared } from '../../mqtt/topic.js';
import { rfc3339 } from './time.js';

export type Json = Record<string, unknown>;

/** `1.2.3.4:5` / `[::1]:5` → address and port. */
export function splitPeer(peer: string): { ip: string; port: number | null } {
  const i = peer.lastIndexOf(':');
  if (i < 0) return { ip: peer, port: null };
  const port = Number(peer.slice(i + 1));
  return { ip: peer.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number.isInteger(port) ? port : null };
}

const limit = (n: number): number | 'infinity' => (n === Number.POSITIVE_INFINITY ? 'infinity' : n);

export interface ClientLimits {
  readonly maxInflight: number;
  readonly maxMqueue: number;
  readonly maxAwaitingRel: number;
  readonly maxSubscriptions: number;
}

export function clientJson(s: Session, node: string, lim: ClientLimits): Json {
  const c = s.client;
  const { ip, port } = splitPeer(c.peer);
  const connected = s.outlet !== undefined;
  return {
    clientid: c.clientId,
    username: c.username ?? null,
    node,
    ip_address: ip,
    port,
    listener: c.listener,
    connected,
    conn_state: connected ? 'connected' : 'disconnected',
    created_at: rfc3339(s.createdAt),
    connected_at: rfc3339(c.connectedAt),
    ...(s.disconnectedAt !== undefined ? { disconnected_at: rfc3339(s.disconnectedAt) } : {}),
    clean_start: c.cleanStart,
    keepalive: c.keepalive,
    expiry_interval: s.expiryMs === Number.POSITIVE_INFINITY ? 0xffffffff : Math.floor(s.expiryMs / 1000),
    proto_name: c.protoVer === 3 ? 'MQIsdp' : 'MQTT',
    proto_ver: c.protoVer,
    subscriptions_cnt: s.subscriptions.size,
    subscriptions_max: limit(lim.maxSubscriptions),
    inflight_cnt: s.inflight.size,
    inflight_max: lim.maxInflight,
    mqueue_len: s.queue.length,
    mqueue_max: limit(lim.maxMqueue),
    mqueue_dropped: s.queue.dropped,
    awaiting_rel_cnt: s.awaiting.size,
    awaiting_rel_max: limit(lim.maxAwaitingRel),
    send_msg: s.delivered,
    is_bridge: false,
    is_expired: false,
    durable: false,
    mountpoint: null,
  };
}

/** The filters of GET /clients this node applies (paging and `node` are the coordinator's). */
export interface ClientFilter {
  readonly clientid?: readonly string[];
  readonly username?: readonly string[];
  readonly like_clientid?: string;
  readonly like_username?: string;
  readonly ip_address?: string;
  readonly conn_state?: 'connected' | 'idle' | 'disconnected';
  readonly clean_start?: boolean;
  readonly proto_ver?: number;
  readonly gte_created_at?: number;
  readonly lte_created_at?: number;
  readonly gte_connected_at?: number;
  readonly lte_connected_at?: number;
}

export function clientMatches(s: Session, f: ClientFilter): boolean {
  const c = s.client;
  if (f.clientid && !f.clientid.includes(c.clientId)) return false;
  if (f.username && (c.username === undefined || !f.username.includes(c.username))) return false;
  if (f.like_clientid !== undefined && !c.clientId.includes(f.like_clientid)) return false;
  if (f.like_username !== undefined && !(c.username ?? '').includes(f.like_username)) return false;
  if (f.ip_address !== undefined && splitPeer(c.peer).ip !== f.ip_address) return false;
  if (f.conn_state !== undefined) {
    const state = s.outlet !== undefined ? 'connected' : 'disconnected';
    // EMQX's `idle` is a connection that has not finished CONNECT: a session never is.
    if (f.conn_state !== state) return false;
  }
  if (f.clean_start !== undefined && c.cleanStart !== f.clean_start) return false;
  if (f.proto_ver !== undefined && c.protoVer !== f.proto_ver) return false;
  if (f.gte_created_at !== undefined && s.createdAt < f.gte_created_at) return false;
  if (f.lte_created_at !== undefined && s.createdAt > f.lte_created_at) return false;
  if (f.gte_connected_at !== undefined && c.connectedAt < f.gte_connected_at) return false;
  if (f.lte_connected_at !== undefined && c.connectedAt > f.lte_connected_at) return false;
  return true;
}

/** GET /subscriptions filters. */
export interface SubscriptionFilter {
  readonly clientid?: string;
  readonly qos?: number;
  readonly topic?: string;
  readonly match_topic?: string;
  readonly share_group?: string;
}

export function subscriptionRows(s: Session, node: string, f: SubscriptionFilter): Json[] {
  if (f.clientid !== undefined && s.clientId !== f.clientid) return [];
  const out: Json[] = [];
  for (const [topic, o] of s.subscriptions) {
    if (f.qos !== undefined && o.qos !== f.qos) continue;
    if (f.topic !== undefined && topic !== f.topic) continue;
    const shared = parseShared(topic);
    const plain = shared !== undefined && typeof shared !== 'string' ? shared.filter : topic;
    if (f.share_group !== undefined && (shared === undefined || typeof shared === 'string' || shared.group !== f.share_group)) continue;
    if (f.match_topic !== undefined && !matches(f.match_topic, plain)) continue;
    out.push({ node, topic, clientid: s.clientId, qos: o.qos, nl: Number(o.nl), rap: Number(o.rap), rh: o.rh, durable: false });
  }
  return out;
}
