// Sessions across a graceful restart of a node alone, on a real daemon: what the stop could not
// hand to another member is written to the data directory and taken back at the next start;
// expiry and will delays count the time the node was down; a killed node saves nothing.
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { createTestNode } from '../helpers/launcher.js';
import { waitFor } from '../api/http.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function persistent(clientId: string, expiry = 300): IClientOptions {
  return { clientId, clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: expiry }, reconnectPeriod: 0, connectTimeout: 5000 };
}

/** Connects and resolves with the client and its CONNACK's session present flag, messages collected from the start. */
async function open(port: number, opts: IClientOptions): Promise<{ c: MqttClient; present: boolean; got: string[] }> {
  const c = connect(`mqtt://127.0.0.1:${port}`, opts);
  const got: string[] = [];
  c.on('message', (_t, p) => got.push(p.toString()));
  const present = await new Promise<boolean>((resolve, reject) => {
    c.once('connect', (ack) => resolve(ack.sessionPresent));
    c.once('error', reject);
  });
  return { c, present, got };
}

test('a node alone keeps its persistent sessions across a graceful restart: queue, subscriptions, expiry and will delay counted over the downtime', { timeout: 90_000 }, async (t) => {
  const node = await createTestNode(t, { name: 'sr1@127.0.0.1', mqtt: true });
  await node.startOk();
  const port = node.mqttPort!;
  const dev1 = await connectAsync(`mqtt://127.0.0.1:${port}`, persistent('sr-dev1'));
  await dev1.subscribeAsync('sr/dev1', { qos: 1 });
  await dev1.endAsync();
  const dev2 = await connectAsync(`mqtt://127.0.0.1:${port}`, persistent('sr-dev2', 2));
  await dev2.subscribeAsync('sr/dev2', { qos: 1 });
  await dev2.endAsync();
  // Connected when the node stops, with a will delayed by 4 s.
  const dev3 = await connectAsync(`mqtt://127.0.0.1:${port}`, { ...persistent('sr-dev3'), will: { topic: 'sr/wills', payload: Buffer.from('dev3 gone'), qos: 1, retain: false, properties: { willDelayInterval: 4 } } });
  dev3.on('error', () => undefined);
  const pub = await connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'sr-pub', reconnectPeriod: 0 });
  for (let k = 0; k < 3; k++) await pub.publishAsync('sr/dev1', `m${k}`, { qos: 1 });
  await pub.publishAsync('sr/dev2', 'lost with its session', { qos: 1 });
  await pub.endAsync();

  const stoppedAt = Date.now();
  assert.equal((await node.stop()).code, 0);
  assert.match(node.logText(), /"saved":3,.*"msg":"3 sessions saved for the next start"/);
  assert.ok(readdirSync(node.dataDir).includes('sessions.sr1@127.0.0.1.bin'));
  // Down for 2.5 s: dev2's 2 s expiry runs out meanwhile, dev3's will has ~1.5 s left.
  await sleep(2500 - (Date.now() - stoppedAt));
  await node.startOk();
  assert.match(node.logText(), /"restored":2,"expired":1,"elsewhere":0,.*"msg":"2 sessions taken back from the last stop"/);
  assert.ok(!readdirSync(node.dataDir).some((f) => f.startsWith('sessions.')), 'the file is gone once taken back');

  const watcher = await connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'sr-watch', reconnectPeriod: 0 });
  t.after(() => watcher.endAsync(true).catch(() => undefined));
  const wills: number[] = [];
  watcher.on('message', (topic) => topic === 'sr/wills' && wills.push(Date.now()));
  await watcher.subscribeAsync('sr/wills', { qos: 1 });

  const back1 = await open(port, persistent('sr-dev1'));
  t.after(() => back1.c.endAsync(true).catch(() => undefined));
  assert.equal(back1.present, true);
  await waitFor('dev1 queued messages', () => back1.got.length === 3, 5000);
  assert.deepEqual(back1.got, ['m0', 'm1', 'm2']);
  // Its subscription came back too.
  const pub2 = await connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'sr-pub2', reconnectPeriod: 0 });
  t.after(() => pub2.endAsync(true).catch(() => undefined));
  await pub2.publishAsync('sr/dev1', 'live', { qos: 1 });
  await waitFor('dev1 live message', () => back1.got.length === 4, 5000);

  const back2 = await open(port, persistent('sr-dev2', 2));
  t.after(() => back2.c.endAsync(true).catch(() => undefined));
  assert.equal(back2.present, false, 'expired while the node was down');

  // dev3's will: 4 s after its connection closed at the stop, the downtime counted.
  await waitFor('dev3 will', () => wills.length > 0, 10_000);
  const after = wills[0]! - stoppedAt;
  assert.ok(after >= 3500 && after < 7000, `will ${after} ms after the stop`);
  await sleep(300);
  assert.equal(wills.length, 1);
});

test('a killed node saves no sessions; an unreadable session file is set aside, the node starts', { timeout: 60_000 }, async (t) => {
  const node = await createTestNode(t, { name: 'sr2@127.0.0.1', mqtt: true });
  await node.startOk();
  const dev = await connectAsync(`mqtt://127.0.0.1:${node.mqttPort!}`, persistent('sr-k'));
  await dev.subscribeAsync('sr/k', { qos: 1 });
  await dev.endAsync();
  node.kill('SIGKILL');
  await node.waitExit();
  assert.ok(!readdirSync(node.dataDir).some((f) => f.startsWith('sessions.')));
  const { writeFileSync } = await import('node:fs');
  writeFileSync(`${node.dataDir}/sessions.sr2@127.0.0.1.bin`, 'not a session file');
  await node.startOk();
  assert.match(node.logText(), /the sessions saved at the last stop could not be taken back/);
  assert.ok(readdirSync(node.dataDir).includes('sessions.sr2@127.0.0.1.bin.unreadable'));
  const back = await open(node.mqttPort!, persistent('sr-k'));
  t.after(() => back.c.endAsync(true).catch(() => undefined));
  assert.equal(back.present, false);
});
