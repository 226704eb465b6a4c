// A cluster-wide log trace as EMQX's API creates it (POST /api/v5/trace): a name, what it traces
// (a client id, a topic filter or an IP address), when it runs, how payloads are shown and the
// line format. The row is the same on every member; each member traces its own clients into
// its own file. Pure.
import { isIP } from 'node:net';
import type { PayloadEncode, TraceFormatter } from '../mqtt/trace-format.js';
import type { TraceType } from '../mqtt/tracer.js';
import { describeTopicProblem, validateFilter } from '../mqtt/topic.js';

export const TRACE_TABLE = 'trace';
/** EMQX's default duration of a trace created without `end_at`. */
export const DEFAULT_TRACE_MS = 10 * 60 * 1000;
const NAME_RE = /^[A-Za-z]+[A-Za-z0-9\-_]*$/;
export const TRACE_TYPES: readonly TraceType[] = ['clientid', 'topic', 'ip_address'];

export interface TraceRow {
  readonly name: string;
  readonly type: TraceType;
  readonly filter: string;
  /** ms since epoch. */
  readonly startAt: number;
  readonly endAt: number;
  /** False once stopped (PUT /trace/:name/stop). */
  readonly enable: boolean;
  readonly payloadEncode: Exclude<PayloadEncode, 'auto'>;
  readonly formatter: TraceFormatter;
}

export type TraceStatus = 'running' | 'stopped' | 'waiting';

export function traceStatus(r: TraceRow, now: number): TraceStatus {
  if (!r.enable || now >= r.endAt) return 'stopped';
  return now < r.startAt ? 'waiting' : 'running';
}

/** Whether this trace should be writing now. */
export const traceRuns = (r: TraceRow, now: number): boolean => traceStatus(r, now) === 'running';

/** The trace's file in the trace directory: EMQX's `trace_<name>_<start>.log`. */
export function traceFileName(r: Pick<TraceRow, 'name' | 'startAt'>): string {
  return `trace_${r.name}_${Math.floor(r.startAt / 1000)}.log`;
}

/** A time given as RFC 3339 text or epoch seconds (EMQX's trace API); undefined when neither. */
function parseAt(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v * 1000 : undefined;
  if (typeof v !== 'string') return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

/** The body of POST /trace as a row, or what is wrong with it. */
export function traceFromRequest(b: Record<string, unknown>, now: number): TraceRow | { readonly error: string } {
  const name = b.name;
  if (typeof name !== 'string' || name.length === 0 || name.length > 256 || !NAME_RE.test(name)) {
    return { error: `name: must match ${NAME_RE.source} and be 1 to 256 characters` };
  }
  const type = b.type as TraceType;
  if (!TRACE_TYPES.includes(type)) return { error: `type: one of ${TRACE_TYPES.join(', ')}` };
  const filter = b[type];
  if (typeof filter !== 'string' || filter === '') return { error: `${type}: required for a ${type} trace` };
  if (type === 'topic') {
    const p = validateFilter(filter, Number.POSITIVE_INFINITY);
    if (p) return { error: `topic: ${describeTopicProblem(p)}` };
  }
  if (type === 'ip_address' && isIP(filter) === 0) return { error: `ip_address: '${filter}' is not an IPv4 or IPv6 address` };
  const startAt = b.start_at === undefined ? now : parseAt(b.start_at);
  if (startAt === undefined) return { error: 'start_at: an RFC 3339 time or epoch seconds' };
  const endAt = b.end_at === undefined ? Math.max(startAt, now) + DEFAULT_TRACE_MS : parseAt(b.end_at);
  if (endAt === undefined) return { error: 'end_at: an RFC 3339 time or epoch seconds' };
  if (endAt <= startAt) return { error: 'end_at: must be after start_at' };
  if (endAt <= now) return { error: 'end_at: the time has already passed' };
  const enc = b.payload_encode ?? 'text';
  if (enc !== 'text' && enc !== 'hex' && enc !== 'hidden') return { error: 'payload_encode: one of text, hex, hidden' };
  const formatter = b.formatter ?? 'text';
  if (formatter !== 'text' && formatter !== 'json') return { error: 'formatter: one of text, json' };
  return { name, type, filter, startAt, endAt, enable: true, payloadEncode: enc, formatter };
}

/** A stored row read back; undefined when it is not one (written by something else). */
export function traceFromStored(v: unknown): TraceRow | undefined {
  const r = v as Partial<TraceRow> | undefined;
  if (!r || typeof r.name !== 'string' || !TRACE_TYPES.includes(r.type as TraceType) || typeof r.filter !== 'string') return undefined;
  if (typeof r.startAt !== 'number' || typeof r.endAt !== 'number' || typeof r.enable !== 'boolean') return undefined;
  return {
    name: r.name,
    type: r.type as TraceType,
    filter: r.filter,
    startAt: r.startAt,
    endAt: r.endAt,
    enable: r.enable,
    payloadEncode: r.payloadEncode === 'hex' || r.payloadEncode === 'hidden' ? r.payloadEncode : 'text',
    formatter: r.formatter === 'json' ? 'json' : 'text',
  };
}
