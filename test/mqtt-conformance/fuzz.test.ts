// At least 100,000 generated packets per protocol version (MQTT 3.1, 3.1.1, 5.0) against a live
// broker under test (one fresh broker per version), over thousands of short connections, 64 at a
// time, each starting with a valid or mutated CONNECT (see fuzz-gen.ts for what is generated).
// Throughout the run:
//   - the broker process stays alive;
//   - a separate well-behaved client (mqtt.js, same protocol version) publishes to its own topic
//     every 250 ms at QoS 1 and must get each message back within 1 s;
//   - the broker's RSS stays under its RSS at the start + RSS_GROWTH_BOUND_MIB (256 MiB);
// and after it the broker's open descriptors come back to within FD_MARGIN (8) of the start.
// Prints what was sent and how the broker answered.
//
// Reproduce: the inputs are a pure function of the seed (FUZZ_SEED, default below; printed), the
// version and the connection index; MQTT_FUZZ_PARALLEL=1 also fixes their order.
//   MQTT_BROKER_UNDER_TEST=mosquitto FUZZ_SEED=0x6d717474 node --import tsx --test test/mqtt-conformance/fuzz.test.ts
// MQTT_FUZZ_PACKETS sets the packets per version (default 100,000).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { connectAsync, type MqttClient } from 'mqtt';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { brokerKind, requireTools, startBrokerUnderTest, toolsFor, type BrokerUnderTest } from './broker-under-test.js';
import { fuzzScript, type FuzzScript } from './fuzz-gen.js';
import { levelName, type Level } from './raw-client.js';

const kind = brokerKind();
const SEED = Number(process.env.FUZZ_SEED ?? 0x6d717474);
const PACKETS = Number(process.env.MQTT_FUZZ_PACKETS ?? 100_000);
const PARALLEL = Number(process.env.MQTT_FUZZ_PARALLEL ?? 64);
const RSS_GROWTH_BOUND_MIB = 256;
const FD_MARGIN = 8;
const PROBE_EVERY_MS = 250;
const PROBE_DEADLINE_MS = 1000;
/** A connection's whole life is bounded; past this it is destroyed and counted as stalled. */
const CONNECTION_BOUND_MS = 10_000;
/** How long we wait for the broker to close after our FIN (or, lingering, before it). */
const CLOSE_WAIT_MS = 2000;
const LINGER_MS = 200;

interface Tally {
  scripts: number;
  hostile: number;
  generated: number;
  written: number;
  bytesWritten: number;
  tcpRefused: number;
  connack: number;
  connackRefused: number;
  disconnect: Map<number, number>;
  otherIn: number;
  unparsable: number;
  closedByBroker: number;
  closedByUs: number;
  stalled: number;
  brokerKeptOpenAfterFin: number;
}

function newTally(): Tally {
  return {
    scripts: 0,
    hostile: 0,
    generated: 0,
    written: 0,
    bytesWritten: 0,
    tcpRefused: 0,
    connack: 0,
    connackRefused: 0,
    disconnect: new Map(),
    otherIn: 0,
    unparsable: 0,
    closedByBroker: 0,
    closedByUs: 0,
    stalled: 0,
    brokerKeptOpenAfterFin: 0,
  };
}

/** The scripts of one run: connection 0, 1, 2, ... until PACKETS packets are generated. */
function* scripts(level: Level): Generator<FuzzScript> {
  let generated = 0;
  for (let i = 0; generated < PACKETS; i++) {
    const s = fuzzScript(SEED, level, i);
    generated += s.packets.length;
    yield s;
  }
}

function tcpConnect(b: BrokerUnderTest): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = netConnect({ host: b.host, port: b.port });
    s.setNoDelay(true);
    const timer = setTimeout(() => {
      s.destroy();
      resolve(undefined);
    }, 5000);
    s.once('connect', () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once('error', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}

/** Runs one connection's script; updates the tally. */
async function runScript(b: BrokerUnderTest, level: Level, script: FuzzScript, tally: Tally): Promise<void> {
  tally.scripts++;
  if (script.hostile) tally.hostile++;
  tally.generated += script.packets.length;
  const sock = await tcpConnect(b);
  if (sock === undefined) {
    tally.tcpRefused++;
    return;
  }
  let brokerEnded = false;
  let closed = false;
  let weDestroyed = false;
  const closedP = new Promise<void>((resolve) => sock.once('close', () => {
    closed = true;
    resolve();
  }));
  sock.on('error', () => undefined);
  sock.once('end', () => {
    brokerEnded = true;
  });
  // The broker's answers, parsed as the version of the run (a mutated CONNECT may make the broker
  // answer in another version's format: counted as unparsable, never a failure).
  const parser = mqttPacket.parser({ protocolVersion: level });
  let parseFailed = false;
  parser.on('packet', (p: Packet) => {
    if (p.cmd === 'connack') {
      tally.connack++;
      if ((p.reasonCode ?? p.returnCode ?? 0) !== 0) tally.connackRefused++;
    } else if (p.cmd === 'disconnect') {
      const rc = p.reasonCode ?? 0;
      tally.disconnect.set(rc, (tally.disconnect.get(rc) ?? 0) + 1);
    } else {
      tally.otherIn++;
    }
  });
  parser.on('error', () => {
    if (!parseFailed) tally.unparsable++;
    parseFailed = true;
  });
  sock.on('data', (d: Buffer) => {
    if (!parseFailed) parser.parse(d);
  });

  const bound = setTimeout(() => {
    if (!closed) {
      tally.stalled++;
      weDestroyed = true;
      sock.destroy();
    }
  }, CONNECTION_BOUND_MS);
  const flushed = (buf: Buffer): Promise<void> =>
    new Promise((resolve) => {
      if (closed) return resolve();
      tally.bytesWritten += buf.length;
      sock.write(buf, () => resolve());
    });

  let batch: Buffer[] = [];
  let batchBytes = 0;
  let batchPackets = 0;
  const flushBatch = async (): Promise<void> => {
    if (batch.length === 0) return;
    const buf = Buffer.concat(batch);
    const n = batchPackets;
    batch = [];
    batchBytes = 0;
    batchPackets = 0;
    if (closed) return;
    await flushed(buf);
    if (!closed) tally.written += n;
  };
  for (const p of script.packets) {
    if (closed) break;
    if (p.delivery === 'batch') {
      batch.push(p.bytes);
      batchBytes += p.bytes.length;
      batchPackets++;
      if (batchBytes >= 16 * 1024) await flushBatch();
      continue;
    }
    await flushBatch();
    if (p.delivery === 'split') {
      const cut1 = 1 + ((p.bytes.length * 0.37) | 0) % (p.bytes.length - 1);
      const cut2 = Math.max(cut1, (p.bytes.length * 0.81) | 0);
      for (const piece of [p.bytes.subarray(0, cut1), p.bytes.subarray(cut1, cut2), p.bytes.subarray(cut2)]) {
        if (piece.length > 0) await flushed(piece);
        await new Promise((r) => setImmediate(r));
      }
    } else {
      for (let i = 0; i < p.bytes.length && !closed; i++) {
        await flushed(p.bytes.subarray(i, i + 1));
        await new Promise((r) => setImmediate(r));
      }
    }
    if (!closed) tally.written++;
  }
  await flushBatch();

  const waitClosed = (ms: number): Promise<boolean> =>
    closed
      ? Promise.resolve(true)
      : new Promise((resolve) => {
          const t = setTimeout(() => resolve(false), ms);
          void closedP.then(() => {
            clearTimeout(t);
            resolve(true);
          });
        });
  if (!closed) {
    if (script.ending === 'reset') {
      weDestroyed = true;
      sock.resetAndDestroy();
    } else {
      if (script.ending === 'linger') await waitClosed(LINGER_MS);
      if (!closed) {
        sock.end();
        if (!(await waitClosed(CLOSE_WAIT_MS))) {
          tally.brokerKeptOpenAfterFin++;
          weDestroyed = true;
          sock.destroy();
        }
      }
    }
  }
  await closedP;
  clearTimeout(bound);
  if (brokerEnded && !weDestroyed) tally.closedByBroker++;
  else tally.closedByUs++;
}

interface Probe {
  readonly client: MqttClient;
  sent: number;
  received: number;
  readonly latencies: number[];
  readonly misses: string[];
  disconnects: number;
  stop(): Promise<void>;
}

/** The well-behaved client: its own topic, a QoS 1 message every PROBE_EVERY_MS, each due back within PROBE_DEADLINE_MS. */
async function startProbe(b: BrokerUnderTest, level: Level): Promise<Probe> {
  const topic = `probe/${randomBytes(6).toString('hex')}`;
  const client = await connectAsync(`mqtt://${b.host}:${b.port}`, {
    protocolVersion: level,
    ...(level === 3 ? { protocolId: 'MQIsdp' as const } : {}),
    clientId: `probe${randomBytes(6).toString('hex')}`,
    clean: true,
    keepalive: 30,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
  await client.subscribeAsync(topic, { qos: 1 });
  const pending = new Map<number, { at: number; timer: NodeJS.Timeout }>();
  const probe: Probe = {
    client,
    sent: 0,
    received: 0,
    latencies: [],
    misses: [],
    disconnects: 0,
    async stop() {
      clearInterval(tick);
      for (const p of pending.values()) clearTimeout(p.timer);
      await client.endAsync();
    },
  };
  client.on('close', () => probe.disconnects++);
  client.on('message', (_t, payload) => {
    const seq = Number(payload.toString());
    const p = pending.get(seq);
    if (p === undefined) return;
    clearTimeout(p.timer);
    pending.delete(seq);
    probe.received++;
    probe.latencies.push(performance.now() - p.at);
  });
  const tick = setInterval(() => {
    const seq = probe.sent++;
    const at = performance.now();
    const timer = setTimeout(() => {
      pending.delete(seq);
      probe.misses.push(`message ${seq} not back within ${PROBE_DEADLINE_MS} ms (sent at +${(at / 1000).toFixed(1)} s)`);
    }, PROBE_DEADLINE_MS);
    pending.set(seq, { at, timer });
    client.publish(topic, String(seq), { qos: 1 }, () => undefined);
  }, PROBE_EVERY_MS);
  return probe;
}

const fmt = (n: number): string => n.toLocaleString('en-US');
const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;

for (const level of [3, 4, 5] as const) {
  const name = levelName(level);
  test(`fuzz ${name}: ${fmt(PACKETS)} generated packets against a live broker (seed 0x${SEED.toString(16)})`, { timeout: 180_000 }, async (t) => {
    if (!requireTools(t, toolsFor(kind))) return;
    const b = await startBrokerUnderTest(t, kind, { nodeName: `fuzz${level}@127.0.0.1` });
    const probe = await startProbe(b, level);
    let probeStopped = false;
    t.after(async () => {
      if (!probeStopped) await probe.stop();
    });
    const start = { rss: b.rssKiB(), fds: b.openFds() };
    const boundKiB = start.rss + RSS_GROWTH_BOUND_MIB * 1024;
    let peakRss = start.rss;
    let died = false;
    const inFlight = new Set<number>();
    let diedWith: number[] = [];
    let rssBreach: string | undefined;
    const watch = setInterval(() => {
      if (!b.alive()) {
        if (!died) diedWith = [...inFlight];
        died = true;
        return;
      }
      const rss = b.rssKiB();
      peakRss = Math.max(peakRss, rss);
      if (rss > boundKiB && rssBreach === undefined) rssBreach = `RSS ${rss} KiB > bound ${boundKiB} KiB (start ${start.rss} KiB + ${RSS_GROWTH_BOUND_MIB} MiB) with connections ${[...inFlight].join(',')} in flight`;
    }, PROBE_EVERY_MS);
    t.after(() => clearInterval(watch));

    const tally = newTally();
    const began = performance.now();
    const source = scripts(level);
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        for (;;) {
          if (died) return;
          const next = source.next();
          if (next.done === true) return;
          inFlight.add(next.value.index);
          try {
            await runScript(b, level, next.value, tally);
          } finally {
            inFlight.delete(next.value.index);
          }
        }
      }),
    );
    const seconds = (performance.now() - began) / 1000;
    // One more probe round after the storm.
    await new Promise((r) => setTimeout(r, PROBE_DEADLINE_MS + PROBE_EVERY_MS));
    clearInterval(watch);
    const probeDisconnects = probe.disconnects;
    probeStopped = true;
    await probe.stop();

    const fdDeadline = Date.now() + 10_000;
    while (b.alive() && b.openFds() > start.fds + FD_MARGIN && Date.now() < fdDeadline) await new Promise((r) => setTimeout(r, 100));
    const end = { rss: b.rssKiB(), fds: b.openFds() };
    const lat = [...probe.latencies].sort((x, y) => x - y);
    const p99 = lat.length > 0 ? lat[Math.min(lat.length - 1, Math.ceil(0.99 * lat.length) - 1)]! : NaN;
    const disc = [...tally.disconnect].sort((x, y) => x[0] - y[0]).map(([rc, n]) => `${hex(rc)}:${fmt(n)}`).join(' ');
    console.log(
      [
        `fuzz ${name} against ${kind}, seed 0x${SEED.toString(16)}: ${fmt(tally.generated)} packets generated in ${fmt(tally.scripts)} connections (${fmt(tally.hostile)} hostile), ` +
          `${fmt(tally.written)} written before the broker closed (${(tally.bytesWritten / 1048576).toFixed(1)} MiB), ${seconds.toFixed(1)} s`,
        `  broker answered: CONNACK ${fmt(tally.connack)} (${fmt(tally.connackRefused)} refusing), DISCONNECT ${fmt([...tally.disconnect.values()].reduce((a, n) => a + n, 0))} {${disc}}, ` +
          `other packets ${fmt(tally.otherIn)}, unparsable answers ${fmt(tally.unparsable)}`,
        `  connections: closed by the broker ${fmt(tally.closedByBroker)}, closed by us ${fmt(tally.closedByUs)} (kept open ${CLOSE_WAIT_MS} ms after our FIN: ${fmt(tally.brokerKeptOpenAfterFin)}, over ${CONNECTION_BOUND_MS} ms: ${fmt(tally.stalled)}), TCP connect failed ${fmt(tally.tcpRefused)}`,
        `  probe: ${fmt(probe.received)}/${fmt(probe.sent)} back, p99 ${p99.toFixed(1)} ms, max ${(lat.at(-1) ?? NaN).toFixed(1)} ms, misses ${probe.misses.length}, disconnects ${probeDisconnects}`,
        `  broker RSS ${start.rss} KiB at start, peak ${peakRss} KiB (bound ${boundKiB} KiB), ${end.rss} KiB at the end; descriptors ${start.fds} at start, ${end.fds} at the end`,
      ].join('\n'),
    );

    const replay = `replay: FUZZ_SEED=0x${SEED.toString(16)} MQTT_FUZZ_PARALLEL=1 (inputs: fuzzScript(0x${SEED.toString(16)}, ${level}, index))`;
    assert.ok(!died, `the broker (pid ${b.pid}) died with connections ${diedWith.join(',')} in flight; ${replay}\n${b.logTail()}`);
    assert.ok(b.alive(), `the broker (pid ${b.pid}) is gone after the run; ${replay}\n${b.logTail()}`);
    assert.ok(tally.generated >= PACKETS, `only ${tally.generated} packets generated`);
    assert.equal(rssBreach, undefined, `${rssBreach}; ${replay}`);
    assert.deepEqual(probe.misses.slice(0, 10), [], `the well-behaved client missed ${probe.misses.length} of ${probe.sent} messages; ${replay}`);
    assert.equal(probeDisconnects, 0, `the well-behaved client was disconnected; ${replay}`);
    assert.ok(probe.received >= Math.floor((seconds * 1000) / PROBE_EVERY_MS) - 2, `the probe got only ${probe.received} messages back in ${seconds.toFixed(1)} s`);
    assert.ok(end.fds <= start.fds + FD_MARGIN, `the broker holds ${end.fds} descriptors after the run, ${start.fds} at the start (margin ${FD_MARGIN}); ${replay}`);
  });
}
