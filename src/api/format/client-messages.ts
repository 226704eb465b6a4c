// A session's queued and in-flight messages as EMQX's GET /clients/:clientid/mqueue_messages and
// /inflight_messages show them (emqx_mgmt_api_clients format_msgs): a page after a position, the
// payloads within a byte budget. Pure: entries in, plain JSON out.
import { isUtf8 } from 'node:buffer';
import type { QueuedEntry } from '../../broker/mqueue.js';
import type { Message } from '../../mqtt/port.js';

export type MessageKind = 'mqueue' | 'inflight';
export type PayloadFormat = 'base64' | 'plain' | 'none';

export interface MessagesQuery {
  /** The sequence number the previous page ended at; -1: from the oldest. */
  readonly after: number;
  readonly limit: number;
  readonly payload: PayloadFormat;
  /** The payloads of one answer add up to no more than this (the first is always shown). */
  readonly maxPayloadBytes: number;
}

export interface MessagesPage {
  readonly data: Array<Record<string, unknown>>;
  /** EMQX's continuation meta: the oldest entry's position and the last one shown (`none`: nothing). */
  readonly meta: { readonly start: string; readonly position: string };
}

/**
 * EMQX writes a queue position `<insert time>_<priority>` and an in-flight one `<insert time>`.
 * Ours carry the entry's sequence number instead (unique, where a time is not); the priority part
 * is always 0 (no queue priorities here) and is ignored when read back.
 */
export function positionOf(kind: MessageKind, seq: number | undefined): string {
  if (seq === undefined) return 'none';
  return kind === 'mqueue' ? `${seq}_0` : String(seq);
}

/** The sequence number a `position` parameter names; -1 for none; undefined when malformed. */
export function parsePosition(kind: MessageKind, position: string | undefined): number | undefined {
  if (position === undefined || position === 'none') return -1;
  const m = (kind === 'mqueue' ? /^(\d{1,15})_(\d{1,15}|infinity)$/ : /^(\d{1,15})$/).exec(position);
  return m ? Number(m[1]) : undefined;
}

/** A page of messages; 'not_utf8' when `payload=plain` meets a payload JSON cannot carry as text. */
export function messagesPage(kind: MessageKind, page: { readonly entries: readonly QueuedEntry[]; readonly start: number | undefined }, q: MessagesQuery, idOf: (m: Message) => string): MessagesPage | 'not_utf8' {
  const data: Array<Record<string, unknown>> = [];
  let bytes = 0;
  let last: number | undefined;
  for (const e of page.entries) {
    const m = e.d.msg;
    const row: Record<string, unknown> = {
      msgid: idOf(m),
      topic: m.topic,
      qos: e.d.qos,
      publish_at: m.timestamp,
      from_clientid: m.from,
      // Not carried with a message here (EMQX shows '' too when its headers lack it).
      from_username: '',
      // In nanoseconds as EMQX's; ours is the publish time of a queued message and the last send
      // of one in flight, to the millisecond (no time is kept per entry: see mqueue.ts).
      inserted_at: `${e.at}000000`,
    };
    if (kind === 'mqueue') row.mqueue_priority = 0;
    if (q.payload !== 'none') {
      if (q.payload === 'plain' && !isUtf8(m.payload)) return 'not_utf8';
      const text = q.payload === 'base64' ? m.payload.toString('base64') : m.payload.toString('utf8');
      const size = q.payload === 'base64' ? text.length : m.payload.length;
      if (data.length > 0 && bytes + size > q.maxPayloadBytes) break;
      bytes += size;
      row.payload = text;
    }
    data.push(row);
    last = e.seq;
  }
  return { data, meta: { start: positionOf(kind, page.start), position: positionOf(kind, last ?? (q.after >= 0 ? q.after : undefined)) } };
}
