// How a traced packet reads, as EMQX's `emqx_packet:format` writes it:
// `PUBLISH(Q1, R0, D0, Topic=t/1, PacketId=7, Payload=hello)`. Pure. Passwords are never shown.
import type { Packet } from 'mqtt-packet';

/** Payload bytes shown before the rest is elided: a trace line stays a line. */
const PAYLOAD_SHOWN = 1024;

/**
 * How payloads are shown: `auto` (the `ctl trace` default) as text when printable UTF-8, else
 * as hex; EMQX's API traces choose `text`, `hex` or `hidden`.
 */
export type PayloadEncode = 'auto' | 'text' | 'hex' | 'hidden';

/** A payload as `enc` says; long ones cut. */
export function payloadText(payload: Buffer | string | undefined, enc: PayloadEncode = 'auto'): string {
  if (payload === undefined) return '';
  if (enc === 'hidden') return '******';
  const b = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const cut = b.length > PAYLOAD_SHOWN;
  const shown = cut ? b.subarray(0, PAYLOAD_SHOWN) : b;
  let body: string;
  if (enc === 'hex') body = shown.toString('hex');
  else {
    const text = shown.toString('utf8');
    // Control characters or invalid UTF-8 (the replacement character): hex reads better.
    // eslint-disable-next-line no-control-regex
    const printable = enc === 'text' || !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffd]/.test(text);
    body = printable ? text : `0x${shown.toString('hex')}`;
  }
  return cut ? `${body}... (${b.length} bytes)` : body;
}

const header = (name: string, qos: number, retain: boolean, dup: boolean, rest: string): string =>
  `${name}(Q${qos}, R${retain ? 1 : 0}, D${dup ? 1 : 0}${rest === '' ? '' : `, ${rest}`})`;

/** A PUBLISH, in or out. */
export function describePublish(p: { topic: string; qos: number; retain: boolean; dup: boolean; messageId?: number | undefined; payload: Buffer | string }, enc: PayloadEncode = 'auto'): string {
  const id = p.qos > 0 ? `, PacketId=${p.messageId ?? 0}` : '';
  return header('PUBLISH', p.qos, p.retain, p.dup, `Topic=${p.topic}${id}, Payload=${payloadText(p.payload, enc)}`);
}

const rc = (p: { reasonCode?: number | undefined }): string => `ReasonCode=${p.reasonCode ?? 0}`;

export function describePacket(p: Packet, enc: PayloadEncode = 'auto'): string {
  switch (p.cmd) {
    case 'connect': {
      const will = p.will ? `, Will(Q${p.will.qos}, R${p.will.retain ? 1 : 0}, Topic=${p.will.topic}, Payload=${payloadText(p.will.payload, enc)})` : '';
      return header(
        'CONNECT',
        0,
        false,
        false,
        `ClientId=${p.clientId}, ProtoName=${p.protocolId ?? 'MQTT'}, ProtoVsn=${p.protocolVersion ?? 4}, CleanStart=${p.clean !== false}, KeepAlive=${p.keepalive ?? 0}, Username=${p.username ?? 'undefined'}, Password=${p.password === undefined ? '' : '******'}${will}`,
      );
    }
    case 'connack':
      return header('CONNACK', 0, false, false, `AckFlags=${p.sessionPresent ? 1 : 0}, ReasonCode=${p.reasonCode ?? p.returnCode ?? 0}`);
    case 'publish':
      return describePublish(p, enc);
    case 'puback':
    case 'pubrec':
    case 'pubcomp':
      return header(p.cmd.toUpperCase(), 0, false, false, `PacketId=${p.messageId ?? 0}, ${rc(p)}`);
    case 'pubrel':
      return header('PUBREL', 1, false, false, `PacketId=${p.messageId ?? 0}, ${rc(p)}`);
    case 'subscribe':
      return header('SUBSCRIBE', 1, false, false, `PacketId=${p.messageId ?? 0}, TopicFilters=[${p.subscriptions.map((s) => `${s.topic}(Qos=${s.qos}${s.nl ? ', NL=1' : ''}${s.rap ? ', RAP=1' : ''}${s.rh ? `, RH=${s.rh}` : ''})`).join(', ')}]`);
    case 'suback':
      return header('SUBACK', 0, false, false, `PacketId=${p.messageId ?? 0}, ReasonCodes=[${(p.granted as unknown[]).map((g) => (typeof g === 'number' ? g : (g as { qos?: number }).qos)).join(', ')}]`);
    case 'unsubscribe':
      return header('UNSUBSCRIBE', 1, false, false, `PacketId=${p.messageId ?? 0}, TopicFilters=[${p.unsubscriptions.join(', ')}]`);
    case 'unsuback':
      return header('UNSUBACK', 0, false, false, `PacketId=${p.messageId ?? 0}${p.granted && p.granted.length > 0 ? `, ReasonCodes=[${p.granted.join(', ')}]` : ''}`);
    case 'pingreq':
    case 'pingresp':
      return header(p.cmd.toUpperCase(), 0, false, false, '');
    case 'disconnect':
      return header('DISCONNECT', 0, false, false, rc(p));
    case 'auth':
      return header('AUTH', 0, false, false, rc(p));
  }
}

const RAW_NAMES: Readonly<Record<number, string>> = { 2: 'CONNACK', 4: 'PUBACK', 5: 'PUBREC', 6: 'PUBREL', 7: 'PUBCOMP' };

/** The fixed packets sent pre-encoded (CONNACK 0, plain acknowledgements), read back from their bytes. */
export function describeRaw(buf: Buffer): string {
  const type = buf[0]! >> 4;
  const name = RAW_NAMES[type];
  if (name === undefined || buf.length < 4) return `PACKET(type=${type}, ${buf.length} bytes)`;
  if (type === 2) return header(name, 0, false, false, `AckFlags=${buf[2]! & 1}, ReasonCode=${buf[3]!}`);
  return header(name, type === 6 ? 1 : 0, false, false, `PacketId=${buf.readUInt16BE(2)}, ReasonCode=${buf.length > 4 ? buf[4]! : 0}`);
}

export type TraceFormatter = 'text' | 'json';

export interface TraceEvent {
  readonly time: Date;
  readonly level: string;
  /** `mqtt_packet_received`, `mqtt_packet_sent`, `connection_closed`. */
  readonly msg: string;
  readonly clientId: string | undefined;
  readonly peer: string;
  readonly fields: Readonly<Record<string, string>>;
}

/** One line: EMQX's `<time> [MQTT] <clientid>@<peer> msg: <msg>, packet: <packet>`, or a JSON object. */
export function traceLine(e: TraceEvent, formatter: TraceFormatter): string {
  if (formatter === 'json') {
    return `${JSON.stringify({ time: e.time.toISOString(), level: e.level, clientid: e.clientId ?? null, peername: e.peer, msg: e.msg, ...e.fields })}\n`;
  }
  const fields = Object.entries(e.fields).map(([k, v]) => `, ${k}: ${v}`).join('');
  return `${e.time.toISOString()} [MQTT] ${e.clientId ?? ''}@${e.peer} msg: ${e.msg}${fields}\n`;
}
