// Shared pieces of the auth integration tests: a node with an authentication chain and an
// acl.conf, and a raw CONNECT that reports the CONNACK code instead of throwing.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IAuthPacket, IConnackPacket, IConnectPacket, IPubackPacket, ISubackPacket, Packet } from 'mqtt-packet';
import { RawClient, uniq, within, type Level } from '../helpers/mqtt-client.js';
import { ScramClient, type ScramAlgo } from '../helpers/scram-client.js';

/** The CONNACK's code (v5 reason code, 3.x return code) and whether the broker then closed. */
export async function connackCode(port: number, level: Level, clientId: string, extra: Partial<IConnectPacket> = {}): Promise<{ rc: number; closed: boolean; raw: RawClient }> {
  const raw = await RawClient.connect(port, level);
  raw.send({ cmd: 'connect', protocolId: level === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: level, clientId, clean: true, keepalive: 60, ...extra } as IConnectPacket);
  const p = await raw.next<IConnackPacket>((q) => q.cmd === 'connack', 10_000, 'CONNACK');
  const rc = (level === 5 ? p.reasonCode : p.returnCode) ?? 0;
  let closed = false;
  if (rc !== 0) {
    await raw.waitClosed(5000, 'the broker to close a refused connection');
    closed = true;
  }
  return { rc, closed, raw };
}

/** The chain most tests use: built_in_database by user name, pbkdf2 at EMQX's usual 4096 iterations. */
export const PBKDF2_CHAIN = `authentication = [
  {
    mechanism = password_based
    backend = built_in_database
    user_id_type = username
    password_hash_algorithm { name = pbkdf2, mac_fun = sha256, iterations = 4096 }
  }
]`;

export function writeAcl(etcDir: string, text: string, name = 'acl.conf'): string {
  const file = join(etcDir, name);
  writeFileSync(file, text);
  return file;
}

export { within };

let nextId = 1;

/** SUBSCRIBE on a raw client; the SUBACK's codes (3.1.1 granted QoS or 0x80, v5 reason codes). */
export async function subackCodes(raw: RawClient, filters: readonly string[], qos: 0 | 1 | 2 = 1): Promise<number[]> {
  const messageId = (nextId = (nextId % 60000) + 1);
  raw.send({ cmd: 'subscribe', messageId, subscriptions: filters.map((topic) => ({ topic, qos })) } as Packet);
  const p = await raw.next<ISubackPacket>((q) => q.cmd === 'suback' && q.messageId === messageId, 5000, `SUBACK for ${filters.join(', ')}`);
  return p.granted.map((g) => (typeof g === 'number' ? g : (g as { qos: number }).qos));
}

/** PUBLISH at QoS 1 on a raw client; the PUBACK's reason code (0 when it has none). */
export async function pubackCode(raw: RawClient, topic: string, payload = 'x', retain = false): Promise<number> {
  const messageId = (nextId = (nextId % 60000) + 1);
  raw.send({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain, dup: false, messageId } as Packet);
  const p = await raw.next<IPubackPacket>((q) => q.cmd === 'puback' && q.messageId === messageId, 5000, `PUBACK for ${topic}`);
  return p.reasonCode ?? 0;
}

/** A raw client that connected (throws if refused). */
export async function rawSession(port: number, level: Level, clientId: string, extra: Partial<IConnectPacket> = {}): Promise<RawClient> {
  return (await RawClient.session(port, level, clientId, extra)).raw;
}

/** A v5 connection whose CONNECT starts a SCRAM exchange; the server's first answer (AUTH, or a refusing CONNACK). */
export async function scramFirst(port: number, scram: ScramClient, method: string, extra: Partial<IConnectPacket> = {}): Promise<{ raw: RawClient; auth: IAuthPacket | IConnackPacket }> {
  const raw = await RawClient.connect(port, 5);
  raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: `scram-${uniq()}`, clean: true, keepalive: 60, properties: { authenticationMethod: method, authenticationData: scram.first() }, ...extra } as IConnectPacket);
  const auth = await raw.next<IAuthPacket | IConnackPacket>((p) => p.cmd === 'auth' || p.cmd === 'connack', 10_000, 'the server-first AUTH');
  return { raw, auth };
}

/** A whole SCRAM login on a raw v5 connection: the CONNACK's code, and whether the server proved it holds the keys. */
export async function scramLogin(port: number, user: string, password: string, algo: ScramAlgo = 'sha256'): Promise<{ rc: number; verified: boolean; raw: RawClient }> {
  const method = algo === 'sha256' ? 'SCRAM-SHA-256' : 'SCRAM-SHA-512';
  const scram = new ScramClient(algo, user, password);
  const { raw, auth } = await scramFirst(port, scram, method);
  if (auth.cmd === 'connack') return { rc: auth.reasonCode ?? 0, verified: false, raw };
  raw.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: method, authenticationData: scram.final(auth.properties!.authenticationData!) } } as Packet);
  const connack = await raw.next<IConnackPacket>((p) => p.cmd === 'connack', 10_000, 'CONNACK after the SCRAM exchange');
  return { rc: connack.reasonCode ?? 0, verified: scram.verifies(connack.properties?.authenticationData), raw };
}
