// The node watching its own event loop, on a real daemon: `sysmon.vm.long_schedule` reported
// in the log and on $SYS when the loop does not turn for that long, and EMQX's overload
// protection (`overload_protection.enable`, `emqx ctl olp`) refusing new connections while the
// node is overloaded. The daemon is held with SIGSTOP: a process that gets no CPU for a while,
// as a container over its CPU quota does; nothing in the node is told or faked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { connect, type MqttClient } from 'mqtt';
import { createTestNode, type TestNode } from '../helpers/launcher.js';
import { waitFor } from '../api/http.js';
import { OverloadFlag, SUSTAINED_SAMPLES } from '../../src/alarm/overload.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('the overload flag: set after 3 hot samples in a row, cleared after 3 cool ones, unmoved in between', () => {
  const f = new OverloadFlag();
  const busy = { utilization: 0.99, meanDelayMs: 0 };
  const late = { utilization: 0.1, meanDelayMs: 80 };
  const calm = { utilization: 0.3, meanDelayMs: 1 };
  const between = { utilization: 0.9, meanDelayMs: 30 };
  assert.equal(f.sample(busy), false);
  assert.equal(f.sample(busy), false);
  assert.equal(f.sample(calm), false, 'a calm sample breaks the streak');
  for (let i = 1; i < SUSTAINED_SAMPLES; i++) assert.equal(f.sample(late), false);
  assert.equal(f.overloaded, false);
  assert.equal(f.sample(busy), true, 'the third hot sample in a row, busy or late');
  assert.equal(f.overloaded, true);
  for (let i = 0; i < 10; i++) assert.equal(f.sample(between), false, 'between the lines nothing changes');
  assert.equal(f.sample(calm), false);
  assert.equal(f.sample(calm), false);
  assert.equal(f.sample(calm), true);
  assert.equal(f.overloaded, false);
  for (let i = 0; i < 10; i++) f.sample(between);
  assert.equal(f.overloaded, false);
});

/** Holds the daemon for `stopMs` out of every `stopMs + runMs` until `until` says stop. */
async function starve(node: TestNode, stopMs: number, runMs: number, until: () => boolean, maxMs: number): Promise<void> {
  const end = Date.now() + maxMs;
  while (!until() && Date.now() < end) {
    node.kill('SIGSTOP');
    await sleep(stopMs);
    node.kill('SIGCONT');
    await sleep(runMs);
  }
  node.kill('SIGCONT');
}

/** Resolves with what became of a bare MQTT 3.1.1 CONNECT: answered, or closed unanswered. */
function tryConnect(port: number): Promise<'connack' | 'closed'> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ port, host: '127.0.0.1' });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('no answer and no close within 10 s'));
    }, 10_000);
    const done = (r: 'connack' | 'closed'): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    s.once('connect', () => s.write(Buffer.from([0x10, 0x0f, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 30, 0, 3, 0x6f, 0x6c, 0x70])));
    s.once('data', (d: Buffer) => done(d[0] === 0x20 ? 'connack' : 'closed'));
    s.once('error', () => done('closed'));
    s.once('close', () => done('closed'));
  });
}

test('long_schedule: a daemon held for 700 ms reports it in its log and on $SYS/brokers/<node>/sysmon/long_schedule', { timeout: 60_000 }, async (t) => {
  const node = await createTestNode(t, { name: 'lw1@127.0.0.1', mqtt: true, conf: 'sysmon.vm.long_schedule = 300ms\n' });
  await node.startOk();
  const c: MqttClient = connect(`mqtt://127.0.0.1:${node.mqttPort!}`, { clientId: 'sysmon-watcher', reconnectPeriod: 0, connectTimeout: 5000 });
  t.after(() => c.endAsync(true).catch(() => undefined));
  const got: Array<{ topic: string; text: string }> = [];
  c.on('message', (topic, payload) => got.push({ topic, text: payload.toString() }));
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  await c.subscribeAsync('$SYS/brokers/+/sysmon/#');
  // A report within 2 s before the hold would swallow the hold's (one a kind per 2 s): wait for
  // a quiet 2.1 s first (a busy test machine can starve the daemon for a moment by itself).
  await waitFor('2.1 s without a report', async () => {
    const seen = got.length;
    await sleep(2100);
    return got.length === seen;
  }, 20_000);
  got.length = 0;

  node.kill('SIGSTOP');
  await sleep(700);
  node.kill('SIGCONT');
  await waitFor('the long_schedule message', () => got.length > 0, 10_000);
  assert.equal(got[0]!.topic, '$SYS/brokers/lw1@127.0.0.1/sysmon/long_schedule');
  const held = Number(/^long_schedule warning: event loop held for (\d+) ms$/.exec(got[0]!.text)?.[1]);
  assert.ok(held >= 600 && held < 3000, got[0]!.text);
  await waitFor('the log line', () => /"held_ms":\d+,"long_schedule_ms":300,"msg":"long_schedule: the event loop did not turn for \d+ ms/.test(node.logText()), 5000);

  // disabled: no report.
  node.writeConf('sysmon.vm.long_schedule = disabled\n');
  assert.equal((await node.ctl(['conf', 'reload'])).code, 0);
  const before = got.length;
  // Past EMQX's 2 s window, so a report would not be suppressed as a repeat.
  await sleep(2100);
  node.kill('SIGSTOP');
  await sleep(700);
  node.kill('SIGCONT');
  await sleep(2000);
  assert.equal(got.length, before);
});

test('overload protection: an overloaded node closes new connections (counted, listed), serves them again once it recovers; olp status|disable|enable', { timeout: 90_000 }, async (t) => {
  const node = await createTestNode(t, { name: 'lw2@127.0.0.1', mqtt: true, conf: 'overload_protection.enable = true\n' });
  await node.startOk();
  const port = node.mqttPort!;
  const status = async (): Promise<string> => (await node.ctl(['olp', 'status'])).stdout;
  assert.equal(await status(), "'lw2@127.0.0.1' is not overloaded \n");
  assert.equal(await tryConnect(port), 'connack');

  // Held 300 ms of every 330: its loop turns ~300 ms late, the overload flag sets after 3 samples.
  let overloaded = false;
  const starving = starve(node, 300, 30, () => overloaded, 20_000);
  await waitFor('olp status overloaded', async () => (overloaded = (await status()) === "'lw2@127.0.0.1' is overloaded \n"), 20_000);
  await starving;
  // Refused on accept: closed without a CONNACK, counted as EMQX counts it.
  assert.equal(await tryConnect(port), 'closed');
  const listeners = (await node.ctl(['listeners'])).stdout;
  assert.match(listeners, /shutdown_count {2}: \[\{overloaded,\d+\}\]/);
  assert.match((await node.ctl(['broker', 'metrics'])).stdout, /overload_protection\.new_conn {2}: [1-9]/);
  assert.match(node.logText(), /the node is overloaded: its event loop has been saturated or running late for 3 s/);

  // Running freely again: three calm samples clear the flag.
  await waitFor('olp status not overloaded', async () => (await status()) === "'lw2@127.0.0.1' is not overloaded \n", 15_000);
  assert.equal(await tryConnect(port), 'connack');
  assert.match(node.logText(), /the node is no longer overloaded/);

  // olp disable stops the check: a starved node still takes connections; enable starts it again.
  assert.equal((await node.ctl(['olp', 'disable'])).stdout, "Disable overload protetion 'lw2@127.0.0.1' : ok \n");
  let done = false;
  const again = starve(node, 300, 30, () => done, 6_000);
  await sleep(5000);
  done = true;
  await again;
  assert.equal(await status(), "'lw2@127.0.0.1' is not overloaded \n");
  assert.equal(await tryConnect(port), 'connack');
  assert.equal((await node.ctl(['olp', 'enable'])).stdout, "Enable overload protection 'lw2@127.0.0.1' : ok \n");
  assert.equal((await node.ctl(['olp', 'enable'])).stdout, "Enable overload protection 'lw2@127.0.0.1' : {error,running} \n");
  const usage = await node.ctl(['olp']);
  assert.equal(usage.code, 1);
  assert.match(usage.stdout, /olp status +# Return OLP status if system is overloaded/);
});
