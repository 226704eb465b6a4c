// Delayed messages in the cluster's replicated table: a message taken on one node is durable on
// every running member before its publisher is acknowledged, survives restarts, and is listed,
// read and deleted from any node. The node that took a message publishes it; when that node is
// no longer a member (it left, or was force-left or autocleaned), the first running member by
// name publishes it instead. A member that is only down keeps its messages for its return, as a
// partition must not publish a message on both sides.
import type { DelayedPublisher, DelayedRow } from '../broker/delayed.js';
import type { Db } from '../db/db.js';
import type { MessageProps, QoS } from '../mqtt/port.js';

export const DELAYED_TABLE = 'delayed';

/** A delayed message as stored (the id is the row's key). */
interface StoredDelayed {
  readonly node: string;
  readonly due: number;
  readonly interval: number;
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly from: string;
  readonly username?: string;
  readonly ts: number;
  /** null: never expires. */
  readonly exp: number | null;
  readonly props?: MessageProps;
}

function toStored(r: DelayedRow): StoredDelayed {
  const m = r.msg;
  return {
    node: r.node,
    due: r.dueAt,
    interval: r.interval,
    topic: m.topic,
    payload: m.payload,
    qos: m.qos,
    retain: m.retain,
    from: m.from,
    ...(r.username !== undefined ? { username: r.username } : {}),
    ts: m.timestamp,
    exp: m.expiresAt === Number.POSITIVE_INFINITY ? null : m.expiresAt,
    ...(m.props ? { props: m.props } : {}),
  };
}

function fromStored(id: string, v: unknown): DelayedRow | undefined {
  const s = v as Partial<StoredDelayed> | undefined;
  if (!s || typeof s.node !== 'string' || typeof s.due !== 'number' || typeof s.topic !== 'string' || !Buffer.isBuffer(s.payload)) return undefined;
  if ((s.qos !== 0 && s.qos !== 1 && s.qos !== 2) || typeof s.from !== 'string' || typeof s.ts !== 'number') return undefined;
  return {
    id,
    node: s.node,
    dueAt: s.due,
    interval: typeof s.interval === 'number' ? s.interval : 0,
    msg: {
      topic: s.topic,
      payload: s.payload,
      qos: s.qos,
      retain: s.retain === true,
      from: s.from,
      timestamp: s.ts,
      expiresAt: typeof s.exp === 'number' ? s.exp : Number.POSITIVE_INFINITY,
      ...(s.props ? { props: s.props } : {}),
    },
    ...(typeof s.username === 'string' ? { username: s.username } : {}),
  };
}

export interface DelayedOwnership {
  readonly self: string;
  /** Whether a node is a member of the cluster (running or not). */
  isMember(node: string): boolean;
  /** The running members, this node included. */
  running(): readonly string[];
  /** Whether a publish now would reach the cluster's subscribers. */
  mayPublish?(): boolean;
}

/**
 * Which rows this node publishes: its own, and those of a node no longer a member when this node
 * is the first running member by name (one member decides, with no extra messages).
 */
export function publishesHere(row: Pick<DelayedRow, 'node'>, o: DelayedOwnership): boolean {
  if (row.node === o.self) return true;
  if (o.isMember(row.node)) return false;
  let first: string | undefined;
  for (const n of o.running()) if (first === undefined || n < first) first = n;
  return first === o.self;
}

/**
 * Backs `delayed` with `db`'s table and keeps it in step with the table; returns the detach and
 * the function to call when membership or the running members change.
 */
export function attachDelayedTable(delayed: DelayedPublisher, db: Db, ownership: DelayedOwnership): { detach(): void; membershipChanged(): void } {
  const onChanged = (table: string, key: string, value: unknown): void => {
    if (table === DELAYED_TABLE) delayed.applied(key, value === undefined ? undefined : fromStored(key, value));
  };
  // After a join the messages this node took go on; after a leave they are the cluster's to publish
  // (the first running member takes them over), and this node, alone, starts empty.
  const onReset = (why: 'join' | 'leave'): void => (why === 'join' ? delayed.rejoined() : delayed.reloaded());
  db.on('changed', onChanged);
  db.on('reset', onReset);
  delayed.attachStorage(
    {
      put: (row) => db.write(DELAYED_TABLE, row.id, toStored(row)),
      delete: (id) => db.write(DELAYED_TABLE, id, undefined),
      *all() {
        for (const [id, v] of db.rows(DELAYED_TABLE)) {
          const r = fromStored(id, v);
          if (r) yield r;
        }
      },
    },
    (row) => publishesHere(row, ownership),
    ownership.mayPublish,
  );
  return {
    detach() {
      db.off('changed', onChanged);
      db.off('reset', onReset);
    },
    membershipChanged: () => delayed.responsibilityChanged(),
  };
}
