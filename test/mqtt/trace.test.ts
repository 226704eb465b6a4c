import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describePacket, describeRaw, payloadText } from '../../src/mqtt/trace-format.js';
import { MAX_TRACES, Tracer, type TraceSink } from '../../src/mqtt/tracer.js';
import { openTraceFile, traceCommand } from '../../src/mqtt/trace-ctl.js';
import { encodeAck } from '../../src/mqtt/codec.js';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeAll, open, poll, startMqttNode } from '../helpers/mqtt-client.js';

/** A tracer whose files are arrays, by path. */
function memoryTracer(): { tracer: Tracer; files: Map<string, string[]>; ended: string[] } {
  const files = new Map<string, string[]>();
  const ended: string[] = [];
  const tracer = new Tracer((path): TraceSink => {
    if (path.includes('unwritable')) throw new Error(`EACCES: permission denied, open '${path}'`);
    const lines: string[] = [];
    files.set(path, lines);
    return { write: (l) => lines.push(l), end: () => ended.push(path) };
  });
  return { tracer, files, ended };
}

const ch = (clientId: string | undefined, peer = '127.0.0.1:50000') => ({ clientId, io: { peer } });

test("packets read as EMQX's trace shows them; the password never", () => {
  assert.equal(
    describePacket({ cmd: 'connect', clientId: 'c1', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 60, username: 'u', password: Buffer.from('s3cret') }),
    'CONNECT(Q0, R0, D0, ClientId=c1, ProtoName=MQTT, ProtoVsn=5, CleanStart=true, KeepAlive=60, Username=u, Password=******)',
  );
  assert.equal(
    describePacket({ cmd: 'publish', topic: 't/1', payload: Buffer.from('hello'), qos: 1, retain: true, dup: false, messageId: 7 }),
    'PUBLISH(Q1, R1, D0, Topic=t/1, PacketId=7, Payload=hello)',
  );
  assert.equal(
    describePacket({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'a/#', qos: 1 }, { topic: 'b', qos: 0, nl: true }] }),
    'SUBSCRIBE(Q1, R0, D0, PacketId=3, TopicFilters=[a/#(Qos=1), b(Qos=0, NL=1)])',
  );
  assert.equal(describePacket({ cmd: 'suback', messageId: 3, granted: [1, 128] }), 'SUBACK(Q0, R0, D0, PacketId=3, ReasonCodes=[1, 128])');
  assert.equal(describePacket({ cmd: 'disconnect', reasonCode: 0 }), 'DISCONNECT(Q0, R0, D0, ReasonCode=0)');
  assert.equal(describePacket({ cmd: 'pingreq' }), 'PINGREQ(Q0, R0, D0)');
  // Pre-encoded acknowledgements and CONNACK, read back from their bytes.
  assert.equal(describeRaw(encodeAck('puback', 258)), 'PUBACK(Q0, R0, D0, PacketId=258, ReasonCode=0)');
  assert.equal(describeRaw(Buffer.from([0x20, 0x02, 0x01, 0x00])), 'CONNACK(Q0, R0, D0, AckFlags=1, ReasonCode=0)');
  // Binary payloads as hex, long ones cut.
  assert.equal(payloadText(Buffer.from([0, 1, 0xff])), '0x0001ff');
  assert.match(payloadText(Buffer.alloc(5000, 'a')), /^a{1024}\.\.\. \(5000 bytes\)$/);
});

test('a client trace sees its packets both ways and no other client; a topic trace sees matching publishes; an ip trace its clients', () => {
  const { tracer, files } = memoryTracer();
  assert.equal(tracer.active, false);
  for (const spec of [
    { type: 'clientid', filter: 'c1', path: '/t/c1.log' },
    { type: 'topic', filter: 'x/+', path: '/t/x.log' },
    { type: 'ip_address', filter: '::1', path: '/t/ip.log' },
  ] as const) {
    assert.deepEqual(tracer.start({ ...spec, level: 'all', formatter: 'text' }), { ok: true });
  }
  assert.equal(tracer.active, true);
  // The CONNECT carries the client id before the channel has it.
  tracer.received(ch(undefined), { cmd: 'connect', clientId: 'c1', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 30 });
  tracer.sent(ch('c1'), Buffer.from([0x20, 0x02, 0x00, 0x00]));
  tracer.received(ch('c2'), { cmd: 'publish', topic: 'x/1', payload: Buffer.from('p'), qos: 0, retain: false, dup: false });
  tracer.received(ch('c2'), { cmd: 'publish', topic: 'y/1', payload: Buffer.from('p'), qos: 0, retain: false, dup: false });
  tracer.delivered(ch('c1'), { topic: 'x/1', qos: 0, retain: false, dup: false, messageId: 0, payload: Buffer.from('p') });
  tracer.received(ch('c3', '[::1]:40000'), { cmd: 'pingreq' });
  // A v5 PUBLISH by topic alias alone: matched and shown by the topic the alias stands for.
  tracer.received({ ...ch('c4'), aliasesIn: new Map([[2, 'x/9']]) }, { cmd: 'publish', topic: '', payload: Buffer.from('q'), qos: 0, retain: false, dup: false, properties: { topicAlias: 2 } });
  tracer.closed(ch('c1'), 'keepalive timeout');
  const c1 = files.get('/t/c1.log')!;
  assert.equal(c1.length, 4, c1.join(''));
  assert.match(c1[0]!, /^\d{4}-\d\d-\d\dT\S+Z \[MQTT\] c1@127\.0\.0\.1:50000 msg: mqtt_packet_received, packet: CONNECT\(Q0, R0, D0, ClientId=c1, /);
  assert.match(c1[1]!, /msg: mqtt_packet_sent, packet: CONNACK\(Q0, R0, D0, AckFlags=0, ReasonCode=0\)\n$/);
  assert.match(c1[2]!, /msg: mqtt_packet_sent, packet: PUBLISH\(Q0, R0, D0, Topic=x\/1, Payload=p\)/);
  assert.match(c1[3]!, /msg: connection_closed, reason: keepalive timeout\n$/);
  assert.deepEqual(
    files.get('/t/x.log')!.map((l) => l.replace(/^\S+ /, '')),
    [
      '[MQTT] c2@127.0.0.1:50000 msg: mqtt_packet_received, packet: PUBLISH(Q0, R0, D0, Topic=x/1, Payload=p)\n',
      '[MQTT] c1@127.0.0.1:50000 msg: mqtt_packet_sent, packet: PUBLISH(Q0, R0, D0, Topic=x/1, Payload=p)\n',
      '[MQTT] c4@127.0.0.1:50000 msg: mqtt_packet_received, packet: PUBLISH(Q0, R0, D0, Topic=x/9, Payload=q)\n',
    ],
  );
  assert.deepEqual(files.get('/t/ip.log')!.length, 1);
});

test("a trace's level filters its lines; json lines parse", () => {
  const { tracer, files } = memoryTracer();
  tracer.start({ type: 'clientid', filter: 'c1', level: 'info', path: '/t/info.log', formatter: 'json' });
  tracer.received(ch('c1'), { cmd: 'pingreq' });
  tracer.closed(ch('c1'), 'normal');
  const lines = files.get('/t/info.log')!;
  assert.equal(lines.length, 1, 'packets are debug lines: not at info');
  assert.deepEqual({ ...(JSON.parse(lines[0]!) as Record<string, unknown>), time: 'x' }, { time: 'x', level: 'info', clientid: 'c1', peername: '127.0.0.1:50000', msg: 'connection_closed', reason: 'normal' });
});

test("emqx ctl trace: EMQX's strings for start, list, stop and their errors", () => {
  const { tracer, ended } = memoryTracer();
  const ctl = traceCommand(tracer, '/opt/emqx');
  const run = (...args: string[]) => ctl.run(args) as { code: number; output: string };
  assert.deepEqual(run('list'), { code: 0, output: 'Trace is empty\n' });
  assert.deepEqual(run('start', 'client', 'c1', 'log/c1.log'), { code: 0, output: 'trace c1 CLI-c1 successfully\n' });
  assert.deepEqual(run('start', 'topic', 't/#', '/tmp/t.log', 'debug', 'json'), { code: 0, output: 'trace t/# CLI-t/# successfully\n' });
  assert.deepEqual(run('start', 'client', 'c1', 'log/again.log'), { code: 1, output: '[error] trace c1 CLI-c1: already_existed\n' });
  assert.deepEqual(run('list'), { code: 0, output: 'Trace(clientid=c1, level=all, destination="/opt/emqx/log/c1.log")\nTrace(topic=t/#, level=debug, destination="/tmp/t.log")\n' });
  assert.match(run('start', 'client', 'c9', 'x.log', 'loud').output, /^\[error\] trace c9 CLI-c9: invalid level loud; one of all, debug, /);
  assert.match(run('start', 'topic', 'a/#/b', 'x.log').output, /^\[error\] trace a\/#\/b CLI-a\/#\/b: invalid topic filter: /);
  assert.equal(run('start', 'ip_address', '1.2.3', 'x.log').output, '[error] trace 1.2.3 CLI-1.2.3: invalid ip_address: not an IPv4 or IPv6 address\n');
  assert.equal(run('start', 'client', 'c8', '/unwritable/x.log').output, "[error] trace c8 CLI-c8: EACCES: permission denied, open '/unwritable/x.log'\n");
  assert.deepEqual(run('stop', 'client', 'c1'), { code: 0, output: 'stop tracing clientid c1 successfully\n' });
  assert.deepEqual(ended, ['/opt/emqx/log/c1.log']);
  assert.deepEqual(run('stop', 'client', 'c1'), { code: 1, output: '[error] stop tracing clientid c1: not_found\n' });
  for (const bad of [[], ['start'], ['start', 'rule', 'r1', 'f'], ['start', 'client', 'c1', 'f', 'debug', 'xml'], ['stop', 'client']]) {
    const r = run(...bad);
    assert.equal(r.code, 1);
    assert.match(r.output, /trace start client <ClientId> <File> \[<Level>\] \[<Formatter>\]/);
  }
  for (let i = tracer.list().length; i < MAX_TRACES; i++) run('start', 'client', `m${i}`, `/tmp/m${i}.log`);
  assert.equal(run('start', 'client', 'one-more', '/tmp/x.log').output, `[error] trace one-more CLI-one-more: max_limit_reached (${MAX_TRACES} traces)\n`);
});

test('emqx ctl trace on a running node: a client trace and a topic trace written while real clients talk; stopped, they write no more', async (t) => {
  const node = await startMqttNode({ name: 'mqtttrace@127.0.0.1', mqtt: true });
  t.after(async () => {
    await closeAll();
    await node.cleanup();
  });
  const port = node.mqttPort!;
  const dir = mkdtempSync(join(tmpdir(), 'trace-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const clientFile = join(dir, 'sub', 'c1.log');
  const topicFile = join(dir, 'x.log');
  const ctl = async (...args: string[]) => (await node.ctl(args)).stdout;
  assert.equal(await ctl('trace', 'start', 'client', 'traced-1', clientFile), 'trace traced-1 CLI-traced-1 successfully\n');
  assert.equal(await ctl('trace', 'start', 'topic', 'x/+', topicFile, 'debug', 'json'), 'trace x/+ CLI-x/+ successfully\n');
  assert.equal(await ctl('trace', 'list'), `Trace(clientid=traced-1, level=all, destination=${JSON.stringify(clientFile)})\nTrace(topic=x/+, level=debug, destination=${JSON.stringify(topicFile)})\n`);

  const sub = await open(port, { clientId: 'traced-1', username: 'u1', password: 'pa55word' });
  await sub.subscribe('x/#', { qos: 1 });
  const pub = await open(port, { clientId: 'other-1' });
  await pub.publish('x/1', 'hello', { qos: 1 });
  await pub.publish('y/1', 'not traced', { qos: 0 });
  await sub.inbox.until(() => sub.inbox.texts().includes('hello'), 5000, 'hello');
  await sub.end();
  const read = (f: string): string => (existsSync(f) ? readFileSync(f, 'utf8') : '');
  await poll(() => (read(clientFile).includes('connection_closed') ? true : undefined), 5000, 'the client trace to reach its end');
  const lines = read(clientFile).trim().split('\n');
  const msgs = lines.map((l) => / msg: (\S+), \w+: (\w+)/.exec(l)?.slice(1).join(' '));
  assert.deepEqual(msgs, [
    'mqtt_packet_received CONNECT',
    'mqtt_packet_sent CONNACK',
    'mqtt_packet_received SUBSCRIBE',
    'mqtt_packet_sent SUBACK',
    'mqtt_packet_sent PUBLISH',
    'mqtt_packet_received PUBACK',
    'mqtt_packet_received DISCONNECT',
    'connection_closed normal',
  ]);
  assert.match(lines[0]!, /\[MQTT\] traced-1@127\.0\.0\.1:\d+ msg: mqtt_packet_received, packet: CONNECT\(.*Username=u1, Password=\*\*\*\*\*\*\)$/);
  assert.ok(!read(clientFile).includes('pa55word'), 'the password is never written');
  assert.ok(!read(clientFile).includes('other-1'), 'another client is not in a client trace');
  assert.match(lines[4]!, /PUBLISH\(Q1, R0, D0, Topic=x\/1, PacketId=\d+, Payload=hello\)$/);

  // The topic trace: the publish in (from other-1) and out (to traced-1), JSON lines, y/1 not there.
  await poll(() => (read(topicFile).split('\n').filter(Boolean).length >= 2 ? true : undefined), 5000, 'the topic trace');
  const topicLines = read(topicFile).trim().split('\n').map((l) => JSON.parse(l) as { clientid: string; msg: string; packet: string });
  assert.deepEqual(
    topicLines.map((l) => [l.clientid, l.msg, l.packet.replace(/PacketId=\d+/, 'PacketId=N')]),
    [
      ['other-1', 'mqtt_packet_received', 'PUBLISH(Q1, R0, D0, Topic=x/1, PacketId=N, Payload=hello)'],
      ['traced-1', 'mqtt_packet_sent', 'PUBLISH(Q1, R0, D0, Topic=x/1, PacketId=N, Payload=hello)'],
    ],
  );

  // Stopped: nothing more is written.
  assert.equal(await ctl('trace', 'stop', 'topic', 'x/+'), 'stop tracing topic x/+ successfully\n');
  assert.equal(await ctl('trace', 'stop', 'client', 'traced-1'), 'stop tracing clientid traced-1 successfully\n');
  assert.equal(await ctl('trace', 'list'), 'Trace is empty\n');
  const [before1, before2] = [read(clientFile), read(topicFile)];
  const again = await open(port, { clientId: 'traced-1' });
  await again.subscribe('x/#', { qos: 1 });
  await pub.publish('x/2', 'after', { qos: 1 });
  await again.inbox.until(() => again.inbox.texts().includes('after'), 5000, 'after');
  assert.equal(read(clientFile), before1);
  assert.equal(read(topicFile), before2);
});

test('a trace whose file cannot be written (disk full) stops itself and says so; the node is not disturbed', async () => {
  const failures: string[] = [];
  const tracer = new Tracer(openTraceFile, (spec, err) => failures.push(`${spec.type}=${spec.filter}: ${err.message}`));
  assert.deepEqual(tracer.start({ type: 'clientid', filter: 'c1', level: 'all', path: '/dev/full', formatter: 'text' }), { ok: true });
  tracer.received(ch('c1'), { cmd: 'pingreq' });
  await poll(() => (failures.length > 0 ? true : undefined), 5000, 'the write error');
  tracer.received(ch('c1'), { cmd: 'pingreq' });
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(failures, ['clientid=c1: ENOSPC: no space left on device, write']);
  assert.equal(tracer.active, false);
});
