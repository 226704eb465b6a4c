// Retained messages in the cluster's replicated table, so a message retained on one node is
// handed to new subscribers on every node, survives restarts, and is deleted everywhere by an
// empty retained publish. A write settles once it is fsynced on every running member, which is
// when the publisher gets its acknowledgement: then every node serves it.
import type { Message, MessageProps, QoS } from '../mqtt/port.js';
import type { Retainer, RetainedStorage } from '../broker/retainer.js';
import type { Db } from '../db/db.js';

export const RETAINED_TABLE = 'retained';

/** A retained message as stored (the topic is the row's key). */
interface StoredRetained {
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly from: string;
  readonly ts: number;
  /** null: never expires. */
  readonly exp: number | null;
  readonly props?: MessageProps;
}

function toStored(m: Message): StoredRetained {
  return { payload: m.payload, qos: m.qos, from: m.from, ts: m.timestamp, exp: m.expiresAt === Number.POSITIVE_INFINITY ? null : m.expiresAt, ...(m.props ? { props: m.props } : {}) };
}

function fromStored(topic: string, v: unknown): Message | undefined {
  const s = v as Partial<StoredRetained> | undefined;
  if (!s || !Buffer.isBuffer(s.payload) || (s.qos !== 0 && s.qos !== 1 && s.qos !== 2) || typeof s.from !== 'string' || typeof s.ts !== 'number') return undefined;
  return {
    topic,
    payload: s.payload,
    qos: s.qos,
    retain: true,
    from: s.from,
    timestamp: s.ts,
    expiresAt: typeof s.exp === 'number' ? s.exp : Number.POSITIVE_INFINITY,
    ...(s.props ? { props: s.props } : {}),
  };
}

/** Backs `retainer` with `db`'s table and keeps its index in step with the table; returns the detach. */
export function attachRetainedTable(retainer: Retainer, db: Db): () => void {
  const storage: RetainedStorage = {
    put: (topic, msg) => db.write(RETAINED_TABLE, topic, toStored(msg)),
    delete: (topic) => db.write(RETAINED_TABLE, topic, undefined),
    deleteMany: (topics) => db.writeMany(topics.map((key) => ({ table: RETAINED_TABLE, key, value: undefined }))),
    *all() {
      for (const [topic, v] of db.rows(RETAINED_TABLE)) {
        const m = fromStored(topic, v);
        if (m) yield [topic, m];
      }
    },
  };
  const onChanged = (table: string, key: string, value: unknown): void => {
    if (table === RETAINED_TABLE) retainer.applied(key, value === undefined ? undefined : fromStored(key, value));
  };
  const onReset = (): void => retainer.reloaded();
  db.on('changed', onChanged);
  db.on('reset', onReset);
  // A node joining a cluster keeps the messages it retained alone unless the cluster has a newer
  // message (or deletion) on the same topic (EMQX's join drops them). Not its `$SYS` facts: those
  // described it alone (`$SYS/brokers` would list it alone), and every member writes its own.
  db.mergeOnJoin(RETAINED_TABLE, (topic) => !topic.startsWith('$SYS/'));
  retainer.attachStorage(storage);
  return () => {
    db.off('changed', onChanged);
    db.off('reset', onReset);
  };
}
