/**
 * The MQTT fuzz generator: what one fuzz connection sends, as a pure function of (seed, protocol
 * level, connection index), so any connection of a failing run can be rebuilt from the seed.
 *
 * A connection starts with a CONNECT (valid, or mutated on a hostile connection), then a run of
 * packets: valid ones from mqtt-packet's generate with random fields (every packet kind a client
 * sends, random properties for v5), and mutated ones: flipped bits, truncation, a wrong remaining
 * length, reserved flags set, ill-formed UTF-8 or U+0000 in topics and filters, wildcards in
 * PUBLISH topics, length prefixes up to 256 MB, inserted or deleted bytes, random garbage. Each
 * packet is written whole (batched with its neighbours), split in pieces, or one byte at a time.
 * Topics, filters and client ids come from small sets, so the broker's state (retained messages,
 * sessions) stays bounded however long the run.
 */
import type { IConnectPacket, Packet, QoS, UserProperties } from 'mqtt-packet';
import { prng } from '../helpers/prng.js';
import { gen, lstr, rawPublish, rawSubscribe, rawUnsubscribe, varint, type Level } from './raw-client.js';

export type Rnd = () => number;
export type Delivery = 'batch' | 'split' | 'bytewise';

export interface FuzzPacket {
  readonly bytes: Buffer;
  /** What it is, for the tally: `publish`, `subscribe`, ..., or `mutated:<how>`. */
  readonly kind: string;
  readonly delivery: Delivery;
}

export interface FuzzScript {
  readonly index: number;
  /** Hostile: CONNECT may be mutated and a third of the packets are. */
  readonly hostile: boolean;
  readonly packets: readonly FuzzPacket[];
  /** How the connection ends: FIN, reset, or wait a little for the broker first. */
  readonly ending: 'fin' | 'reset' | 'linger';
}

const MAX_LENGTH = 268_435_455;
/** Client ids are drawn from this many per level: sessions stay bounded. */
export const CLIENT_ID_POOL = 64;

class Gen {
  constructor(readonly r: Rnd) {}
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  /** Mostly small sizes, sometimes larger. */
  size(): number {
    const x = this.r();
    if (x < 0.6) return this.int(32);
    if (x < 0.9) return this.int(512);
    if (x < 0.99) return this.int(4096);
    return this.int(60_000);
  }
}

const WORDS = ['fuzz', 'a', 'b', 'sensor', 'temp', '0', '1', 'x y', 'ünï', 'long-level-name-for-the-index'];

function topic(g: Gen): string {
  const levels = [g.chance(0.9) ? 'fuzz' : g.pick(['$SYS', 'other', '', '$fuzz'])];
  const n = g.between(0, 3);
  for (let i = 0; i < n; i++) levels.push(g.pick(WORDS));
  const t = levels.join('/');
  return t === '' ? 'fuzz' : t;
}

function filter(g: Gen): string {
  const x = g.r();
  if (x < 0.05) return '#';
  if (x < 0.1) return `$share/g${g.int(3)}/${topic(g)}`;
  if (x < 0.13) return `$queue/${topic(g)}`;
  if (x < 0.16) return '$SYS/#';
  const levels = topic(g).split('/');
  for (let i = 0; i < levels.length; i++) if (g.chance(0.2)) levels[i] = '+';
  if (g.chance(0.2)) levels.push('#');
  return levels.join('/');
}

function userProps(g: Gen): UserProperties {
  const out: UserProperties = {};
  const n = g.between(1, 3);
  for (let i = 0; i < n; i++) out[g.pick(['k', 'key', 'ü', 'x'])] = g.chance(0.3) ? ['v1', 'v2'] : g.bytes(g.int(8)).toString('hex');
  return out;
}

function clientId(g: Gen, level: Level): string {
  if (level !== 3 && g.chance(0.08)) return '';
  return `fz${level}-${g.int(CLIENT_ID_POOL)}`;
}

function validConnect(g: Gen, level: Level): IConnectPacket {
  const id = clientId(g, level);
  const p: IConnectPacket = {
    cmd: 'connect',
    protocolId: level === 3 ? 'MQIsdp' : 'MQTT',
    protocolVersion: level,
    clientId: id,
    clean: id === '' || g.chance(0.7),
    keepalive: g.pick([0, 5, 30, 60, 120, 65535]),
  };
  if (g.chance(0.2)) {
    p.username = g.pick(['user', 'ü', 'admin']);
    if (g.chance(0.7)) p.password = g.bytes(g.int(16));
  }
  if (g.chance(0.2)) {
    p.will = { topic: topic(g), payload: g.bytes(g.size() % 256), qos: g.int(3) as QoS, retain: g.chance(0.2) };
    if (level === 5 && g.chance(0.5)) {
      p.will.properties = {
        ...(g.chance(0.5) ? { willDelayInterval: g.int(5) } : {}),
        ...(g.chance(0.3) ? { messageExpiryInterval: g.int(100) } : {}),
        ...(g.chance(0.3) ? { contentType: 'text/plain' } : {}),
        ...(g.chance(0.3) ? { userProperties: userProps(g) } : {}),
      };
    }
  }
  if (level === 5 && g.chance(0.6)) {
    p.properties = {
      ...(g.chance(0.5) ? { sessionExpiryInterval: g.pick([0, 10, 300]) } : {}),
      ...(g.chance(0.3) ? { receiveMaximum: g.between(1, 65535) } : {}),
      ...(g.chance(0.2) ? { maximumPacketSize: g.between(64, 1 << 20) } : {}),
      ...(g.chance(0.3) ? { topicAliasMaximum: g.int(20) } : {}),
      ...(g.chance(0.2) ? { requestResponseInformation: g.chance(0.5) } : {}),
      ...(g.chance(0.2) ? { requestProblemInformation: g.chance(0.5) } : {}),
      ...(g.chance(0.2) ? { userProperties: userProps(g) } : {}),
      ...(g.chance(0.03) ? { authenticationMethod: 'SCRAM-SHA-1' } : {}),
    };
  }
  return p;
}

function validPacket(g: Gen, level: Level): { packet: Packet; kind: string } {
  const x = g.int(100);
  const id = (): number => g.between(1, 65535);
  if (x < 42) {
    const qos = g.int(3) as QoS;
    const p: Packet = { cmd: 'publish', topic: topic(g), payload: g.bytes(g.size()), qos, retain: g.chance(0.08), dup: qos > 0 && g.chance(0.1) };
    if (qos > 0) p.messageId = id();
    if (level === 5 && g.chance(0.4)) {
      p.properties = {
        ...(g.chance(0.3) ? { payloadFormatIndicator: g.chance(0.5) } : {}),
        ...(g.chance(0.3) ? { messageExpiryInterval: g.int(60) } : {}),
        ...(g.chance(0.3) ? { topicAlias: g.between(1, 12) } : {}),
        ...(g.chance(0.2) ? { responseTopic: topic(g) } : {}),
        ...(g.chance(0.2) ? { correlationData: g.bytes(g.int(16)) } : {}),
        ...(g.chance(0.2) ? { userProperties: userProps(g) } : {}),
        ...(g.chance(0.2) ? { contentType: 'application/json' } : {}),
      };
      // An alias alone stands for a topic set earlier on the connection (or is an error).
      if (p.properties.topicAlias !== undefined && g.chance(0.5)) p.topic = '';
    }
    return { packet: p, kind: 'publish' };
  }
  if (x < 54) {
    const n = g.between(1, 4);
    const subscriptions = Array.from({ length: n }, () => ({
      topic: filter(g),
      qos: g.int(3) as QoS,
      ...(level === 5 ? { nl: g.chance(0.3), rap: g.chance(0.3), rh: g.int(3) } : {}),
    }));
    const p: Packet = { cmd: 'subscribe', messageId: id(), subscriptions };
    if (level === 5 && g.chance(0.3)) p.properties = { subscriptionIdentifier: g.between(1, 268_435_455), ...(g.chance(0.3) ? { userProperties: userProps(g) } : {}) };
    return { packet: p, kind: 'subscribe' };
  }
  if (x < 60) return { packet: { cmd: 'unsubscribe', messageId: id(), unsubscriptions: Array.from({ length: g.between(1, 3) }, () => filter(g)) }, kind: 'unsubscribe' };
  if (x < 85) {
    const cmd = g.pick(['puback', 'pubrec', 'pubrel', 'pubcomp'] as const);
    const p = { cmd, messageId: id(), ...(level === 5 && g.chance(0.3) ? { reasonCode: g.pick([0, 0x10, 0x80, 0x92, 0x97]) } : {}) } as Packet;
    return { packet: p, kind: cmd };
  }
  if (x < 95) return { packet: { cmd: 'pingreq' }, kind: 'pingreq' };
  if (x < 97 && level === 5) return { packet: { cmd: 'auth', reasonCode: g.pick([0x18, 0x19]), properties: { authenticationMethod: 'SCRAM-SHA-1' } }, kind: 'auth' };
  if (x < 98) return { packet: validConnect(g, level), kind: 'connect-again' };
  const p: Packet = { cmd: 'disconnect' };
  if (level === 5 && g.chance(0.5)) {
    p.reasonCode = g.pick([0, 4, 0x80]);
    if (g.chance(0.5)) p.properties = { sessionExpiryInterval: g.int(60) };
  }
  return { packet: p, kind: 'disconnect' };
}

const BAD_UTF8 = [Buffer.from([0xc3, 0x28]), Buffer.from([0x00]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xc0, 0xaf]), Buffer.from([0xff]), Buffer.from([0xe2, 0x82])];

/** Offset of the first byte after the fixed header, or the length when the header is cut. */
function headerEnd(b: Buffer): number {
  let i = 1;
  while (i < b.length && i < 5 && (b[i]! & 0x80) !== 0) i++;
  return Math.min(i + 1, b.length);
}

function mutate(g: Gen, level: Level, b: Buffer): { bytes: Buffer; how: string } {
  const x = g.int(100);
  if (x < 20) {
    const out = Buffer.from(b);
    const flips = g.between(1, 4);
    for (let i = 0; i < flips; i++) {
      const at = g.int(out.length);
      out[at] = out[at]! ^ (1 << g.int(8));
    }
    return { bytes: out, how: 'flipped-bits' };
  }
  if (x < 30) return { bytes: b.subarray(0, g.int(b.length)), how: 'truncated' };
  if (x < 42) {
    const body = b.subarray(headerEnd(b));
    const len = g.pick([0, 1, Math.max(0, body.length - 1 - g.int(4)), body.length + 1 + g.int(8), g.int(1 << 21), MAX_LENGTH]);
    return { bytes: Buffer.concat([b.subarray(0, 1), varint(Math.min(len, MAX_LENGTH)), body]), how: 'bad-remaining-length' };
  }
  if (x < 50) {
    const out = Buffer.from(b);
    const type = out[0]! >> 4;
    if (type === 3) out[0] = out[0]! | 0x06; // PUBLISH QoS 3
    else out[0] = (out[0]! & 0xf0) | ((out[0]! & 0x0f) ^ (1 + g.int(15)));
    return { bytes: out, how: 'reserved-flags' };
  }
  if (x < 60) {
    const bad = g.pick(BAD_UTF8);
    const good = topic(g);
    const at = g.int(good.length + 1);
    const t = Buffer.concat([Buffer.from(good.slice(0, at)), bad, Buffer.from(good.slice(at))]);
    const which = g.int(3);
    if (which === 0) return { bytes: rawPublish(level, t, { qos: g.int(3), id: g.between(1, 65535), payload: g.bytes(g.int(16)) }), how: 'bad-utf8-topic' };
    if (which === 1) return { bytes: rawSubscribe(level, [{ filter: t, options: g.int(3) }], { id: g.between(1, 65535) }), how: 'bad-utf8-filter' };
    return { bytes: rawUnsubscribe(level, [t], { id: g.between(1, 65535) }), how: 'bad-utf8-filter' };
  }
  if (x < 68) {
    const levels = topic(g).split('/');
    levels[g.int(levels.length)] = g.pick(['+', '#', 'a+', '#b', '+/#']);
    return { bytes: rawPublish(level, levels.join('/'), { qos: g.int(3), id: g.between(1, 65535), payload: g.bytes(g.int(16)) }), how: 'wildcard-topic' };
  }
  if (x < 74) {
    const len = g.chance(0.4) ? MAX_LENGTH : g.between(1 << 16, MAX_LENGTH);
    const first = g.pick([0x30, 0x32, 0x82, 0x10, 0xa2]);
    return { bytes: Buffer.concat([Buffer.from([first]), varint(len), g.bytes(g.int(256))]), how: 'oversize-length' };
  }
  if (x < 82) {
    const out = Buffer.from(b);
    const at = g.int(out.length + 1);
    return g.chance(0.5) || out.length === 0
      ? { bytes: Buffer.concat([out.subarray(0, at), g.bytes(g.between(1, 4)), out.subarray(at)]), how: 'inserted-bytes' }
      : { bytes: Buffer.concat([out.subarray(0, Math.min(at, out.length - 1)), out.subarray(Math.min(at, out.length - 1) + 1)]), how: 'deleted-byte' };
  }
  if (x < 88) {
    // A CONNECT-shaped packet with a wrong protocol name or level.
    const name = g.pick(['MQTT', 'MQIsdp', 'MQTX', '', 'mqtt']);
    const body = Buffer.concat([lstr(name), Buffer.from([g.int(256), g.int(256)]), Buffer.from([0, 60]), lstr(`fz${level}-${g.int(CLIENT_ID_POOL)}`)]);
    return { bytes: Buffer.concat([Buffer.from([0x10]), varint(body.length), body]), how: 'bad-connect-header' };
  }
  return { bytes: g.bytes(g.chance(0.9) ? g.between(1, 64) : g.between(65, 2048)), how: 'garbage' };
}

function delivery(g: Gen, bytes: Buffer): Delivery {
  if (bytes.length <= 64 && g.chance(0.02)) return 'bytewise';
  if (bytes.length > 1 && g.chance(0.08)) return 'split';
  return 'batch';
}

/** Mixes the seed, level and index into one 32-bit seed. */
function mix(seed: number, level: Level, index: number): number {
  let h = (seed ^ Math.imul(level, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = (h ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Everything connection `index` of a run with `seed` sends on protocol `level`. */
export function fuzzScript(seed: number, level: Level, index: number): FuzzScript {
  const g = new Gen(prng(mix(seed, level, index)));
  const hostile = g.chance(0.3);
  const packets: FuzzPacket[] = [];
  const add = (bytes: Buffer, kind: string): void => {
    packets.push({ bytes, kind, delivery: delivery(g, bytes) });
  };
  const connect = gen(validConnect(g, level), level);
  if (hostile && g.chance(0.4)) {
    const m = mutate(g, level, connect);
    add(m.bytes, `mutated:${m.how}`);
  } else {
    add(connect, 'connect');
  }
  // Mostly short runs, some long ones (about 20 packets on average).
  const n = Math.floor(g.r() * g.r() * 80);
  const mutationRate = hostile ? 0.35 : 0.03;
  for (let i = 0; i < n; i++) {
    const v = validPacket(g, level);
    const bytes = gen(v.packet, level);
    if (g.chance(mutationRate)) {
      const m = mutate(g, level, bytes);
      add(m.bytes, `mutated:${m.how}`);
    } else {
      add(bytes, v.kind);
    }
  }
  const e = g.r();
  return { index, hostile, packets, ending: e < 0.5 ? 'fin' : e < 0.75 ? 'reset' : 'linger' };
}
