// mosquitto_sub / mosquitto_pub (Debian's mosquitto-clients) against the broker under test, over
// tcp (the clients have no WebSocket transport): QoS 0/1/2 round trips with MQTT 3.1, 3.1.1 and 5,
// retained messages (a new subscriber gets one; an empty retained payload deletes it) and a will
// (the client killed with SIGKILL, its will delivered). Every client process is bounded in time
// and killed by PID; a subscriber is known to be subscribed when it prints its SUBACK (-d).
//
//   MQTT_BROKER_UNDER_TEST=mosquitto node --import tsx --test test/mqtt-conformance/mosquitto-clients.test.ts
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { brokerKind, findExecutable, requireTools, startBrokerUnderTest, toolsFor, type BrokerUnderTest } from './broker-under-test.js';

const kind = brokerKind();
const PROCESS_TIMEOUT_MS = 10_000;
const VERSIONS = ['mqttv31', 'mqttv311', 'mqttv5'] as const;
type Version = (typeof VERSIONS)[number];

interface Done {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Client {
  readonly child: ChildProcess;
  /** Everything printed so far. */
  output(): string;
  /** Resolves when the output matches `re`; rejects when the process ends first or after timeoutMs. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves when the process has ended (it is killed by PID after PROCESS_TIMEOUT_MS). */
  readonly done: Promise<Done>;
}

const live = new Set<ChildProcess>();

/**
 * Starts a client process, bounded in time: killed by PID with SIGKILL after timeoutMs. Its
 * stdout is line buffered (stdbuf execs the client in place: the PID is the client's), else the
 * SUBACK line would only show when the client exits.
 */
function startClient(cmd: string, args: readonly string[], timeoutMs = PROCESS_TIMEOUT_MS): Client {
  const child = spawn('stdbuf', ['-oL', findExecutable(cmd) ?? cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  const changed = (): void => {
    for (const l of [...listeners]) l();
  };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    changed();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    changed();
  });
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  }, timeoutMs);
  const done = new Promise<Done>((resolve, reject) => {
    child.once('error', (err) => {
      clearTimeout(timer);
      live.delete(child);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, signal, stdout, stderr });
      changed();
    });
  });
  const output = (): string => stdout + stderr;
  return {
    child,
    output,
    done,
    waitFor(re, waitMs = PROCESS_TIMEOUT_MS) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (re.test(output())) finish();
          else if (child.exitCode !== null || child.signalCode !== null) finish(new Error(`${cmd} ended (${child.exitCode ?? child.signalCode}) before printing ${re}:\n${output()}`));
        };
        const timer2 = setTimeout(() => finish(new Error(`${cmd} did not print ${re} within ${waitMs} ms:\n${output()}`)), waitMs);
        const finish = (err?: Error): void => {
          clearTimeout(timer2);
          listeners.delete(check);
          if (err) reject(err);
          else resolve();
        };
        listeners.add(check);
        check();
      });
    },
  };
}

let broker: BrokerUnderTest | undefined;
let skipped = false;
const afterAll: (() => Promise<void> | void)[] = [];

before(async () => {
  const hook = {
    after: (fn: () => Promise<void> | void) => afterAll.push(fn),
    skip: (why?: string) => {
      skipped = true;
      console.log(`# skipped: ${why}`);
    },
  };
  if (!requireTools(hook, ['stdbuf', 'mosquitto_pub', 'mosquitto_sub', ...toolsFor(kind)])) return;
  broker = await startBrokerUnderTest(hook, kind, { nodeName: 'clients@127.0.0.1' });
});


after(async () => {
  for (const c of live) if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) process.kill(c.pid, 'SIGKILL');
  for (const fn of afterAll.reverse()) await fn();
});

function brokerArgs(): string[] {
  assert.ok(broker, 'no broker');
  return ['-h', broker.host, '-p', String(broker.port)];
}

const uniq = (): string => randomBytes(6).toString('hex');

/** A subscriber that prints `qos retain topic payload` per message and exits after `count` messages. */
async function subscriber(topic: string, qos: number, version: Version, count: number, extra: readonly string[] = []): Promise<Client> {
  const sub = startClient('mosquitto_sub', [...brokerArgs(), '-V', version, '-t', topic, '-q', String(qos), '-C', String(count), '-W', '8', '-d', '-F', 'MSG %q %r %t %p', ...extra]);
  await sub.waitFor(/Subscribed \(mid: \d+\)/);
  return sub;
}

async function publish(topic: string, payload: string | null, qos: number, version: Version, extra: readonly string[] = []): Promise<void> {
  const msg = payload === null ? ['-n'] : ['-m', payload];
  const pub = startClient('mosquitto_pub', [...brokerArgs(), '-V', version, '-t', topic, '-q', String(qos), ...msg, ...extra]);
  const r = await pub.done;
  assert.equal(r.code, 0, `mosquitto_pub ${topic} (${version}, QoS ${qos}) failed: ${r.stdout}${r.stderr}`);
}

/** The `MSG qos retain topic payload` lines a subscriber printed. */
function messages(out: string): string[] {
  return out.split('\n').filter((l) => l.startsWith('MSG '));
}

for (const version of VERSIONS) {
  for (const qos of [0, 1, 2]) {
    test(`round trip ${version} QoS ${qos}`, async (t) => {
      if (skipped) return t.skip('prerequisite missing');
      const topic = `clients/${version}/q${qos}/${uniq()}`;
      const sub = await subscriber(topic, qos, version, 1);
      await publish(topic, `hello ${version} ${qos}`, qos, version);
      const r = await sub.done;
      assert.equal(r.code, 0, `mosquitto_sub did not get the message: ${r.stdout}${r.stderr}`);
      assert.deepEqual(messages(r.stdout), [`MSG ${qos} 0 ${topic} hello ${version} ${qos}`]);
    });
  }
}

for (const version of ['mqttv311', 'mqttv5'] as const) {
  test(`retained message ${version}: a new subscriber gets it, an empty retained payload deletes it`, async (t) => {
    if (skipped) return t.skip('prerequisite missing');
    const topic = `clients/retain/${version}/${uniq()}`;
    await publish(topic, 'kept', 1, version, ['-r']);
    // A subscriber arriving later gets the retained message, retain flag set.
    const late = await subscriber(topic, 1, version, 1);
    const r = await late.done;
    assert.equal(r.code, 0, `no retained message: ${r.stdout}${r.stderr}`);
    assert.deepEqual(messages(r.stdout), [`MSG 1 1 ${topic} kept`]);

    await publish(topic, null, 1, version, ['-r']);
    // After the delete, the first message a new subscriber sees is a live one published after it subscribed.
    const after = await subscriber(topic, 1, version, 1);
    await publish(topic, 'live', 1, version);
    const r2 = await after.done;
    assert.equal(r2.code, 0, r2.stdout + r2.stderr);
    assert.deepEqual(messages(r2.stdout), [`MSG 1 0 ${topic} live`], 'the deleted retained message was delivered');
  });
}

for (const version of ['mqttv311', 'mqttv5'] as const) {
  test(`will ${version}: a client killed with SIGKILL has its will delivered`, async (t) => {
    if (skipped) return t.skip('prerequisite missing');
    const willTopic = `clients/will/${version}/${uniq()}`;
    const watcher = await subscriber(willTopic, 1, version, 1);
    // The client with a will: connected and subscribed to something else, then killed.
    const doomed = startClient('mosquitto_sub', [
      ...brokerArgs(), '-V', version, '-t', `clients/unused/${uniq()}`, '-d', '-k', '60',
      '--will-topic', willTopic, '--will-payload', 'gone', '--will-qos', '1',
    ]);
    await doomed.waitFor(/Subscribed \(mid: \d+\)/);
    assert.ok(doomed.child.pid !== undefined);
    process.kill(doomed.child.pid, 'SIGKILL');
    const d = await doomed.done;
    assert.equal(d.signal, 'SIGKILL');
    const r = await watcher.done;
    assert.equal(r.code, 0, `the will did not arrive: ${r.stdout}${r.stderr}`);
    assert.deepEqual(messages(r.stdout), [`MSG 1 0 ${willTopic} gone`]);
  });

  test(`no will ${version} after a normal DISCONNECT`, async (t) => {
    if (skipped) return t.skip('prerequisite missing');
    const willTopic = `clients/will-not/${version}/${uniq()}`;
    const watcher = await subscriber(willTopic, 1, version, 1);
    // mosquitto_pub sends DISCONNECT before it exits: its will must be discarded.
    await publish(`clients/other/${uniq()}`, 'x', 1, version, ['--will-topic', willTopic, '--will-payload', 'wrongly sent', '--will-qos', '1']);
    await publish(willTopic, 'marker', 1, version);
    const r = await watcher.done;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(messages(r.stdout), [`MSG 1 0 ${willTopic} marker`], 'a will was published after a normal DISCONNECT');
  });
}

test('the broker is still running', (t) => {
  if (skipped) return t.skip('prerequisite missing');
  assert.ok(broker?.alive(), `the broker (pid ${broker?.pid}) is gone`);
});
