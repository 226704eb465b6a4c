// EMQX's log trace on this node (`emqx ctl trace start client|topic|ip_address ...`): every
// packet of the matching clients, or every PUBLISH on the matching topics, written to a file of
// its own while the trace runs. Channels ask `active` before anything else, so a node with no
// trace pays one property read per packet.
import type { Packet } from 'mqtt-packet';
import { LOG_LEVELS, type LogLevel } from '../config/log-level.js';
import { matches } from './topic.js';
import { describePacket, describePublish, describeRaw, traceLine, type PayloadEncode, type TraceFormatter } from './trace-format.js';

export type TraceType = 'clientid' | 'topic' | 'ip_address';

export interface TraceSpec {
  readonly type: TraceType;
  /** The client id, topic filter or IP address. */
  readonly filter: string;
  readonly level: LogLevel;
  /** Absolute. */
  readonly path: string;
  readonly formatter: TraceFormatter;
  /** How payloads are shown; default `auto`. */
  readonly payload?: PayloadEncode;
}

/** Where a trace's lines go (a file in the node, a list in tests). */
export interface TraceSink {
  write(line: string): void;
  end(): void;
}

/** What a trace needs to know of a channel. */
export interface TracedChannel {
  readonly clientId: string | undefined;
  readonly io: { readonly peer: string };
  /** v5 topic aliases the client set: a PUBLISH by alias alone has an empty topic. */
  readonly aliasesIn?: ReadonlyMap<number, string>;
}

/** At most this many traces at once: each one is a file and a check per packet. */
export const MAX_TRACES = 30;

interface Trace extends TraceSpec {
  readonly sink: TraceSink;
  /** Whether lines at `debug` (packets) pass the trace's level. */
  readonly packets: boolean;
  /** Whether lines at `info` (connection closed) do. */
  readonly events: boolean;
}

const RANK = Object.keys(LOG_LEVELS);
const passes = (level: LogLevel, line: LogLevel): boolean => RANK.indexOf(line) >= RANK.indexOf(level) && level !== 'none';

/** `host:port`, `[v6]:port` → the host, as trace ip_address filters name it. */
function hostOf(peer: string): string {
  const i = peer.lastIndexOf(':');
  const h = i < 0 ? peer : peer.slice(0, i);
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/** The topic a packet carries, for topic traces: PUBLISH only, as EMQX traces messages on topics. */
function topicsOf(ch: TracedChannel, p: Packet): readonly string[] {
  if (p.cmd !== 'publish') return [];
  const alias = p.properties?.topicAlias;
  return [p.topic === '' && alias !== undefined ? (ch.aliasesIn?.get(alias) ?? '') : p.topic];
}

export class Tracer {
  #traces: Trace[] = [];

  /**
   * `openSink` opens a trace's file (throwing when it cannot) and calls `onError` if a write to it
   * fails later; the trace is then stopped and `failed` told.
   */
  constructor(
    private readonly openSink: (path: string, onError: (err: Error) => void) => TraceSink,
    private readonly failed: (spec: TraceSpec, err: Error) => void = () => undefined,
  ) {}

  get active(): boolean {
    return this.#traces.length > 0;
  }

  list(): readonly TraceSpec[] {
    return this.#traces.map(({ type, filter, level, path, formatter, payload }) => ({ type, filter, level, path, formatter, ...(payload ? { payload } : {}) }));
  }

  /** Starts a trace; an error (EMQX's word for it) when one of the same type and filter runs, or the file cannot be opened. */
  start(spec: TraceSpec): { ok: true } | { ok: false; error: string } {
    if (this.#traces.some((t) => t.type === spec.type && t.filter === spec.filter)) return { ok: false, error: 'already_existed' };
    if (this.#traces.length >= MAX_TRACES) return { ok: false, error: `max_limit_reached (${MAX_TRACES} traces)` };
    let sink: TraceSink;
    try {
      sink = this.openSink(spec.path, (err) => {
        // Once: a file that fails goes on failing until the trace is stopped.
        if (this.#traces.some((t) => t.sink === sink) && this.stop(spec.type, spec.filter)) this.failed(spec, err);
      });
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    this.#traces = [...this.#traces, { ...spec, sink, packets: passes(spec.level, 'debug'), events: passes(spec.level, 'info') }];
    return { ok: true };
  }

  stop(type: TraceType, filter: string): boolean {
    const t = this.#traces.find((x) => x.type === type && x.filter === filter);
    if (t === undefined) return false;
    this.#traces = this.#traces.filter((x) => x !== t);
    t.sink.end();
    return true;
  }

  close(): void {
    for (const t of this.#traces) t.sink.end();
    this.#traces = [];
  }

  /** A packet from the client (decoded, before it is handled). */
  received(ch: TracedChannel, p: Packet): void {
    const clientId = ch.clientId ?? (p.cmd === 'connect' ? p.clientId : undefined);
    const topics = topicsOf(ch, p);
    // A PUBLISH by topic alias alone is shown with the topic the alias stands for.
    this.#emit(ch, clientId, topics, 'mqtt_packet_received', (enc) => describePacket(p.cmd === 'publish' ? { ...p, topic: topics[0]! } : p, enc));
  }

  /** A packet to the client: a packet object, a pre-encoded one, or a delivery's PUBLISH. */
  sent(ch: TracedChannel, p: Packet | Buffer): void {
    if (Buffer.isBuffer(p)) this.#emit(ch, ch.clientId, [], 'mqtt_packet_sent', () => describeRaw(p));
    else this.#emit(ch, ch.clientId, topicsOf(ch, p), 'mqtt_packet_sent', (enc) => describePacket(p, enc));
  }

  delivered(ch: TracedChannel, d: { topic: string; qos: number; retain: boolean; dup: boolean; messageId: number; payload: Buffer }): void {
    this.#emit(ch, ch.clientId, [d.topic], 'mqtt_packet_sent', (enc) => describePublish(d, enc));
  }

  closed(ch: TracedChannel, reason: string): void {
    this.#emit(ch, ch.clientId, [], 'connection_closed', () => reason, 'info');
  }

  #emit(ch: TracedChannel, clientId: string | undefined, topics: readonly string[], msg: string, what: (enc: PayloadEncode) => string, level: 'debug' | 'info' = 'debug'): void {
    // Described once per payload encoding, however many traces match.
    let texts: Map<PayloadEncode, string> | undefined;
    for (const t of this.#traces) {
      if (!(level === 'debug' ? t.packets : t.events)) continue;
      if (t.type === 'clientid' ? clientId !== t.filter : t.type === 'ip_address' ? hostOf(ch.io.peer) !== t.filter : !topics.some((x) => matches(t.filter, x))) continue;
      const enc = t.payload ?? 'auto';
      texts ??= new Map();
      let text = texts.get(enc);
      if (text === undefined) texts.set(enc, (text = what(enc)));
      const key = level === 'info' ? 'reason' : 'packet';
      t.sink.write(traceLine({ time: new Date(), level, msg, clientId, peer: ch.io.peer, fields: { [key]: text } }, t.formatter));
    }
  }
}
