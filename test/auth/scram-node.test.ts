// MQTT 5 enhanced authentication with SCRAM against a running node (`mechanism = scram`,
// `backend = built_in_database`): users managed through EMQX's API, mqtt.js completing the AUTH
// exchange and checking the server's signature, refusals that look the same for an unknown user
// and a wrong password, what may and may not come during the exchange, and re-authentication.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt, { type IConnackPacket, type MqttClient } from 'mqtt';
import type { IAuthPacket, IDisconnectPacket, Packet } from 'mqtt-packet';
import { createTestNode, type TestNode } from '../helpers/launcher.js';
import { poll, RawClient, uniq, within } from '../helpers/mqtt-client.js';
import { ScramClient } from '../helpers/scram-client.js';
import { http, login } from '../api/http.js';
import { scramFirst, scramLogin, subackCodes, writeAcl } from './helpers.js';

let node: TestNode;
let port: number;
let token: string;
const ID = encodeURIComponent('scram:built_in_database');
const METHOD = 'SCRAM-SHA-256';
const mqttClients: MqttClient[] = [];

before(async () => {
  node = await createTestNode(undefined, {
    name: 'scram@127.0.0.1',
    mqtt: true,
    dashboard: true,
    conf: `authentication = [{ mechanism = scram, backend = built_in_database, algorithm = sha256, iteration_count = 4096 }]
authorization { no_match = deny, sources = [{ type = file, path = "\${EMQX_ETC_DIR}/acl.conf" }] }`,
  });
  // Each user may use its own tree only: the SCRAM user must be the client's user name.
  writeAcl(node.etcDir, '{allow, all, all, ["${username}/#"]}.\n{deny, all}.\n');
  await node.startOk();
  port = node.mqttPort!;
  token = await login(node.dashboardPort!);
  for (const [user, password] of [['alice', 'alice-pw'], ['bob', 'bob-pw']]) {
    const r = await api('POST', `/authentication/${ID}/users`, { user_id: user, password });
    assert.equal(r.status, 201, r.text);
  }
});

after(async () => {
  for (const m of mqttClients) m.end(true);
  RawClient.destroyAll();
  await node?.cleanup();
});

const api = (method: string, path: string, body?: unknown): ReturnType<typeof http> => http(node.dashboardPort!, method, `/api/v5${path}`, { token, ...(body !== undefined ? { body } : {}) });

/** mqtt.js with SCRAM: resolves with the CONNACK, rejects with the refusal. */
async function scramConnect(user: string, password: string, extra: mqtt.IClientOptions = {}): Promise<{ m: MqttClient; connack: IConnackPacket; scram: ScramClient }> {
  const scram = new ScramClient('sha256', user, password);
  const m = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    clientId: `scram-${uniq()}`,
    properties: { authenticationMethod: METHOD, authenticationData: scram.first() },
    ...extra,
  });
  mqttClients.push(m);
  m.handleAuth = (packet, callback) => {
    callback(undefined, { cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: METHOD, authenticationData: scram.final(packet.properties!.authenticationData!) } });
  };
  const connack = await within(
    new Promise<IConnackPacket>((resolve, reject) => {
      m.once('connect', resolve);
      m.once('error', reject);
      m.once('close', () => reject(new Error('closed before CONNACK')));
    }),
    10_000,
    'CONNACK after the SCRAM exchange',
  );
  m.on('error', () => undefined);
  return { m, connack, scram };
}

/** A raw v5 connection that sends the SCRAM client-first message in its CONNECT; the server's first AUTH. */
async function rawFirst(scram: ScramClient, extra: Record<string, unknown> = {}): Promise<{ raw: RawClient; auth: IAuthPacket }> {
  const { raw, auth } = await scramFirst(port, scram, METHOD, extra);
  return { raw, auth: auth as IAuthPacket };
}

const authPacket = (reasonCode: number, data: Buffer): Packet => ({ cmd: 'auth', reasonCode, properties: { authenticationMethod: METHOD, authenticationData: data } }) as Packet;

describe('SCRAM-SHA-256 at CONNECT', () => {
  test('mqtt.js completes the exchange; the CONNACK proves the server holds the keys; the user is the client\'s user name for authorization', async () => {
    const { m, connack, scram } = await scramConnect('alice', 'alice-pw');
    assert.equal(connack.reasonCode, 0);
    assert.equal(connack.properties?.authenticationMethod, METHOD);
    assert.ok(scram.verifies(connack.properties?.authenticationData), 'the server-final message carries the right signature');
    // The ACL allows ${username}/#: alice's tree is hers, bob's is not.
    assert.deepEqual((await m.subscribeAsync('alice/in', { qos: 1 })).map((g) => g.qos), [1]);
    await assert.rejects(m.subscribeAsync('bob/in', { qos: 1 }), /Not authorized/);
    const got = new Promise<string>((resolve) => m.once('message', (_t, payload) => resolve(payload.toString())));
    await m.publishAsync('alice/in', 'hello', { qos: 1 });
    assert.equal(await within(got, 5000, 'the message back'), 'hello');
  });

  test('a wrong password and an unknown user go through the same two steps and get 0x87', async () => {
    const shapes: string[] = [];
    for (const [user, pw] of [['alice', 'wrong'], ['nobody', 'whatever']] as const) {
      const scram = new ScramClient('sha256', user, pw);
      const { raw, auth } = await rawFirst(scram);
      assert.equal(auth.cmd, 'auth', `${user}: the server asks for the final message`);
      assert.equal(auth.reasonCode, 0x18);
      const first = auth.properties!.authenticationData!.toString();
      shapes.push(first.replace(/r=[^,]*/, 'r=').replace(/s=[^,]*/, 's='));
      raw.send(authPacket(0x18, scram.final(auth.properties!.authenticationData!)));
      const connack = await raw.next<IConnackPacket>((p) => p.cmd === 'connack', 10_000, 'CONNACK');
      assert.equal(connack.reasonCode, 0x87, user);
      await raw.waitClosed(5000);
    }
    assert.equal(shapes[0], shapes[1], 'the server-first messages have one shape (salt, iteration count)');
    // An unknown user's salt stays the same from one attempt to the next, as a real user's does.
    const salts = [];
    for (let i = 0; i < 2; i++) {
      const { raw, auth } = await rawFirst(new ScramClient('sha256', 'nobody', 'x'));
      salts.push(/s=([^,]*)/.exec(auth.properties!.authenticationData!.toString())![1]);
      raw.destroy();
    }
    assert.equal(salts[0], salts[1]);
  });

  test('an authentication method nobody offers gets 0x8C; a CONNECT user name other than the SCRAM user gets 0x87', async () => {
    const raw = await RawClient.connect(port, 5);
    raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: `m-${uniq()}`, clean: true, keepalive: 60, properties: { authenticationMethod: 'SCRAM-SHA-1', authenticationData: Buffer.from('n,,n=alice,r=abc') } } as Packet);
    assert.equal((await raw.next<IConnackPacket>((p) => p.cmd === 'connack', 10_000, 'CONNACK')).reasonCode, 0x8c);
    // Logged, although a SCRAM refusal was logged moments ago: one line per authenticator per interval.
    await poll(() => (/"reason":"no authenticator offers the authentication method 'SCRAM-SHA-1'"/.test(node.logText()) ? true : undefined), 5000, 'the 0x8C refusal in the log');
    assert.match(node.logText(), /"reason":"scram: wrong password"/);

    const scram = new ScramClient('sha256', 'alice', 'alice-pw');
    const { raw: r2, auth } = await rawFirst(scram, { username: 'bob' });
    r2.send(authPacket(0x18, scram.final(auth.properties!.authenticationData!)));
    assert.equal((await r2.next<IConnackPacket>((p) => p.cmd === 'connack', 10_000, 'CONNACK')).reasonCode, 0x87);
  });

  test('a packet other than AUTH during the exchange closes the connection without a CONNACK; the node serves the next client', async () => {
    const scram = new ScramClient('sha256', 'alice', 'alice-pw');
    const { raw } = await rawFirst(scram);
    raw.send({ cmd: 'publish', topic: 'alice/x', payload: Buffer.from('early'), qos: 0, retain: false, dup: false } as Packet);
    await raw.waitClosed(5000, 'the broker to close on a PUBLISH during authentication');
    assert.equal(raw.received.filter((p) => p.cmd === 'connack').length, 0);
    // AUTH with another method: closed too.
    const s2 = new ScramClient('sha256', 'alice', 'alice-pw');
    const { raw: r2, auth } = await rawFirst(s2);
    r2.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'SCRAM-SHA-512', authenticationData: s2.final(auth.properties!.authenticationData!) } } as Packet);
    await r2.waitClosed(5000);
    const { connack } = await scramConnect('alice', 'alice-pw');
    assert.equal(connack.reasonCode, 0);
  });
});

describe('re-authentication (AUTH 0x19)', () => {
  /** A raw client connected as alice through SCRAM. */
  async function aliceRaw(): Promise<RawClient> {
    const { rc, verified, raw } = await scramLogin(port, 'alice', 'alice-pw');
    assert.equal(rc, 0);
    assert.ok(verified);
    return raw;
  }

  /** Re-authenticates `raw` as `scram`'s user: the server's answer to the final message (AUTH or DISCONNECT). */
  async function reauth(raw: RawClient, scram: ScramClient): Promise<IAuthPacket | IDisconnectPacket> {
    const from = raw.received.length;
    raw.send(authPacket(0x19, scram.first()));
    const cont = await raw.next<IAuthPacket>((p) => p.cmd === 'auth', 10_000, 'AUTH 0x18', from);
    assert.equal(cont.reasonCode, 0x18);
    const after = raw.received.length;
    raw.send(authPacket(0x18, scram.final(cont.properties!.authenticationData!)));
    return raw.next<IAuthPacket | IDisconnectPacket>((p) => p.cmd === 'auth' || p.cmd === 'disconnect', 10_000, 'the end of the re-authentication', after);
  }

  test('with the right password: AUTH 0x00 with the server signature, and the client keeps working', async () => {
    const raw = await aliceRaw();
    const again = new ScramClient('sha256', 'alice', 'alice-pw');
    const done = await reauth(raw, again);
    assert.equal(done.cmd, 'auth');
    assert.equal(done.reasonCode, 0);
    assert.equal(done.properties?.authenticationMethod, METHOD);
    assert.ok(again.verifies(done.properties?.authenticationData));
    assert.deepEqual(await subackCodes(raw, ['alice/after']), [1]);
  });

  test('with a wrong password: DISCONNECT 0x87 and the connection closes', async () => {
    const raw = await aliceRaw();
    const d = await reauth(raw, new ScramClient('sha256', 'alice', 'not-it'));
    assert.equal(d.cmd, 'disconnect');
    assert.equal(d.reasonCode, 0x87);
    await raw.waitClosed(5000);
  });

  test('as another user (bob, with his own password): refused, a connection keeps its user', async () => {
    const raw = await aliceRaw();
    const d = await reauth(raw, new ScramClient('sha256', 'bob', 'bob-pw'));
    assert.equal(d.cmd, 'disconnect');
    assert.equal(d.reasonCode, 0x87);
  });
});

describe('hostile AUTH traffic', () => {
  test('300 connections of random SCRAM exchanges (garbage data, AUTH out of turn, other packets, abrupt closes): every one ends, the node keeps serving, nothing fails inside', async () => {
    let seed = 0x5c4a3;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const garbage = (): Buffer => Buffer.from(Array.from({ length: rnd(80) }, () => rnd(256)));
    const one = async (i: number): Promise<void> => {
      const scram = new ScramClient('sha256', rnd(3) === 0 ? 'nobody' : 'alice', rnd(2) === 0 ? 'alice-pw' : 'x');
      const raw = await RawClient.connect(port, 5);
      const first = [scram.first(), garbage(), Buffer.alloc(0), Buffer.from('n,,n=alice,r=')][rnd(4)]!;
      raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: `h-${i}`, clean: true, keepalive: 30, properties: { authenticationMethod: rnd(8) === 0 ? 'SCRAM-SHA-512' : METHOD, ...(first.length > 0 ? { authenticationData: first } : {}) } } as Packet);
      for (let k = 0; k < 1 + rnd(4); k++) {
        const auth = raw.received.find((p) => p.cmd === 'auth') as IAuthPacket | undefined;
        const next: Packet[] = [
          authPacket(0x18, auth?.properties?.authenticationData ? scram.final(auth.properties.authenticationData) : garbage()),
          authPacket(0x18, garbage()),
          authPacket(0x19, scram.first()),
          { cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'OTHER', authenticationData: garbage() } } as Packet,
          { cmd: 'publish', topic: 'alice/x', payload: garbage(), qos: 0, retain: false, dup: false } as Packet,
          { cmd: 'pingreq' } as Packet,
          { cmd: 'disconnect', reasonCode: 0 } as Packet,
        ];
        if (rnd(5) === 0) await raw.until(() => raw.received.length > 0 || raw.closed, 2000, 'an answer').catch(() => undefined);
        raw.send(next[rnd(next.length)]!);
      }
      if (rnd(3) === 0) raw.destroy();
      else {
        // Whatever came, the node ends it: a refusal, a protocol error, or the exchange left hanging until we go.
        await raw.until(() => raw.closed || raw.received.some((p) => p.cmd === 'connack'), 5000, 'an end').catch(() => undefined);
        raw.destroy();
      }
    };
    for (let i = 0; i < 300; i += 30) await Promise.all(Array.from({ length: 30 }, (_, k) => one(i + k)));
    assert.equal((await node.ctl(['status'])).code, 0);
    const ok = await scramLogin(port, 'alice', 'alice-pw');
    assert.equal(ok.rc, 0);
    assert.ok(ok.verified);
    ok.raw.destroy();
    assert.doesNotMatch(node.logText(), /handling failed|internal error|re-authentication failed"/);
  });
});

describe('SCRAM users through the API', () => {
  test('listed in the chain; a changed password takes effect; a deleted user is refused; import is refused', async () => {
    const chain = (await api('GET', '/authentication')).json as Array<Record<string, unknown>>;
    assert.deepEqual(chain[0], { id: 'scram:built_in_database', mechanism: 'scram', backend: 'built_in_database', enable: true, algorithm: 'sha256', iteration_count: 4096 });
    assert.equal((await api('POST', `/authentication/${ID}/users`, { user_id: 'carol', password: 'one' })).status, 201);
    assert.deepEqual((await api('GET', `/authentication/${ID}/users/carol`)).json, { user_id: 'carol', is_superuser: false });
    assert.equal((await api('PUT', `/authentication/${ID}/users/carol`, { password: 'two' })).status, 200);
    await assert.rejects(scramConnect('carol', 'one'), /Not authorized|0x87|135/i);
    assert.equal((await scramConnect('carol', 'two')).connack.reasonCode, 0);
    assert.equal((await api('DELETE', `/authentication/${ID}/users/carol`)).status, 204);
    await assert.rejects(scramConnect('carol', 'two'));
    const imp = await api('POST', `/authentication/${ID}/import_users?type=plain`, [{ user_id: 'dave', password: 'x' }]);
    assert.equal(imp.status, 400);
    assert.match(imp.text, /cannot be imported/);
    // The password-based authenticator is not in this chain.
    assert.equal((await api('GET', `/authentication/${encodeURIComponent('password_based:built_in_database')}/users`)).status, 404);
  });
});
