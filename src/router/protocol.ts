// What nodes tell each other about routes and forwarded messages, and the checks that turn a
// peer's payload (unknown until parsed) into these values. The link layer carries them in order
// per pair of nodes.
import type { Message, MessageProps, QoS } from '../mqtt/port.js';

export const ROUTER_CHANNELS = {
  /** A node's own routes and shared-group members: changes, or (reset) its whole set. */
  routes: 'router.routes',
  /** Asks a node to send its whole set again (a gap in its changes was seen). */
  resync: 'router.resync',
  /** The receiver applied the sender's route changes up to `seq`. */
  routesAck: 'router.routes_ack',
  /** Messages for the receiver's subscribers. */
  forward: 'router.fwd',
  /** The receiver holds every QoS 1/2 batch up to `seq`. */
  ack: 'router.ack',
  /** To a client id's owner: a connect for it here; answers the node that held it before. */
  claim: 'router.claim',
  /** To the node holding a session: hand it over (or discard it, with clean start). */
  takeover: 'router.takeover',
  /** To the node holding a session: close it and discard the session (`clients kick`). */
  kick: 'router.kick',
} as const;

/** One change: a route, a shared-group member or a session of the sender, added or removed. */
export type RouteOp = readonly ['+' | '-' | 'c+' | 'c-', string] | readonly ['s+' | 's-', string, string, string];

export interface RoutesMsg {
  /** The sender's incarnation: a restarted node starts a new sequence. */
  readonly epoch: string;
  readonly seq: number;
  /** The receiver drops what it holds of the sender before applying `ops`. */
  readonly reset: boolean;
  readonly ops: readonly RouteOp[];
}

/** A message as it travels between nodes: what the receiving broker needs to deliver it. */
export interface WireMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly from: string;
  readonly timestamp: number;
  /** Absent: never expires (Infinity does not travel as such). */
  readonly expiresAt?: number;
  readonly props?: MessageProps;
  /** Set for a shared-group delivery: [group, filter, client id] of the picked member. */
  readonly target?: readonly [string, string, string];
}

export interface ForwardMsg {
  readonly epoch: string;
  /** Present on batches holding QoS 1/2 messages: acknowledged, resent after a reconnect. */
  readonly seq?: number;
  /** With seq: the oldest batch the sender still waits on (a receiver with no record starts there). */
  readonly base?: number;
  readonly msgs: readonly WireMessage[];
}

export interface AckMsg {
  readonly epoch: string;
  readonly seq: number;
}

const isStr = (v: unknown): v is string => typeof v === 'string';

function isOp(v: unknown): v is RouteOp {
  if (!Array.isArray(v)) return false;
  if ((v[0] === '+' || v[0] === '-' || v[0] === 'c+' || v[0] === 'c-') && v.length === 2) return isStr(v[1]);
  if ((v[0] === 's+' || v[0] === 's-') && v.length === 4) return isStr(v[1]) && isStr(v[2]) && isStr(v[3]);
  return false;
}

export function parseRoutes(p: unknown): RoutesMsg | undefined {
  const m = p as Partial<RoutesMsg> | undefined;
  if (!m || !isStr(m.epoch) || typeof m.seq !== 'number' || typeof m.reset !== 'boolean' || !Array.isArray(m.ops) || !m.ops.every(isOp)) return undefined;
  return m as RoutesMsg;
}

export function parseAck(p: unknown): AckMsg | undefined {
  const m = p as Partial<AckMsg> | undefined;
  return m && isStr(m.epoch) && typeof m.seq === 'number' ? (m as AckMsg) : undefined;
}

export function parseClientReq(p: unknown): { clientId: string; cleanStart: boolean } | undefined {
  const m = p as { clientId?: unknown; cleanStart?: unknown } | undefined;
  return m && isStr(m.clientId) && (m.cleanStart === undefined || typeof m.cleanStart === 'boolean') ? { clientId: m.clientId, cleanStart: m.cleanStart === true } : undefined;
}

export function toWire(msg: Message, target?: readonly [string, string, string]): WireMessage {
  return {
    topic: msg.topic,
    payload: msg.payload,
    qos: msg.qos,
    retain: msg.retain,
    from: msg.from,
    timestamp: msg.timestamp,
    ...(msg.expiresAt !== Number.POSITIVE_INFINITY ? { expiresAt: msg.expiresAt } : {}),
    ...(msg.props ? { props: msg.props } : {}),
    ...(target ? { target } : {}),
  };
}

export function fromWire(w: WireMessage): Message {
  return {
    topic: w.topic,
    payload: w.payload,
    qos: w.qos,
    retain: w.retain,
    from: w.from,
    timestamp: w.timestamp,
    expiresAt: w.expiresAt ?? Number.POSITIVE_INFINITY,
    ...(w.props ? { props: w.props } : {}),
  };
}
