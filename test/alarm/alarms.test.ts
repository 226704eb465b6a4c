// The alarm list, the machine checks and the congestion alarms, without a node: raised once,
// history bounded and expired, a restart clearing what was active, the CPU alarm's two
// watermarks, the memory alarm's one, the config's percentages, and the sustain time.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlarmBook } from '../../src/alarm/alarm-book.js';
import { Alarms, alarmPayload } from '../../src/alarm/alarms.js';
import { CongestionAlarms, congestionAlarmName } from '../../src/alarm/congestion.js';
import { Sysmon, cpuVerdict, memVerdict } from '../../src/alarm/sysmon.js';
import { silentLog } from '../../src/base/log.js';
import { validateConfig } from '../../src/config/schema.js';
import type { ClientInfo } from '../../src/mqtt/port.js';
import type { Paths } from '../../src/config/types.js';

const CONFIG = { actions: ['log', 'publish'] as Array<'log' | 'publish'>, size_limit: 1000, validity_period: 24 * 3600_000 };

function alarmsWith(o: { now?: () => number; file?: string; config?: Partial<typeof CONFIG> } = {}): { alarms: Alarms; published: Array<{ topic: string; payload: Record<string, unknown> }>; lines: string[] } {
  const published: Array<{ topic: string; payload: Record<string, unknown> }> = [];
  const lines: string[] = [];
  const log = { ...silentLog, warn: (_o: object, msg: string) => void lines.push(msg) };
  const alarms = new Alarms(
    { node: 'n1@127.0.0.1', log, publish: (topic, payload) => void published.push({ topic, payload: JSON.parse(payload) as Record<string, unknown> }), ...(o.file ? { file: o.file } : {}), ...(o.now ? { nowUs: o.now } : {}) },
    { ...CONFIG, ...o.config },
  );
  return { alarms, published, lines };
}

test('an alarm is raised once while active; clearing it moves it to the history with the clearing state for the actions', () => {
  const { alarms, published, lines } = alarmsWith();
  assert.equal(alarms.activate('high_cpu_usage', { usage: 90 }, '90.00% cpu usage'), true);
  assert.equal(alarms.activate('high_cpu_usage', { usage: 95 }, '95.00% cpu usage'), false);
  assert.equal(alarms.activated().length, 1);
  assert.equal(alarms.activated()[0]!.message, '90.00% cpu usage');
  assert.equal(alarms.deactivate('nope'), false);
  assert.equal(alarms.deactivate('high_cpu_usage', { details: { usage: 40 }, message: '40.00% cpu usage' }), true);
  assert.equal(alarms.deactivate('high_cpu_usage'), false);
  assert.deepEqual(alarms.activated(), []);
  // The history keeps the state it was raised with; the deactivate message tells how it cleared.
  assert.equal(alarms.deactivated()[0]!.message, '90.00% cpu usage');
  assert.deepEqual(
    published.map((p) => [p.topic, p.payload.activated, p.payload.message]),
    [
      ['$SYS/brokers/n1@127.0.0.1/alarms/activate', true, '90.00% cpu usage'],
      ['$SYS/brokers/n1@127.0.0.1/alarms/deactivate', false, '40.00% cpu usage'],
    ],
  );
  assert.equal(published[0]!.payload.deactivate_at, 'infinity');
  assert.deepEqual(lines, ['alarm high_cpu_usage activated: 90.00% cpu usage', 'alarm high_cpu_usage deactivated: 40.00% cpu usage']);
});

test('alarm.actions decides: without publish nothing goes to $SYS, without log nothing is logged', () => {
  const a = alarmsWith({ config: { actions: ['log'] } });
  a.alarms.activate('x', {}, 'x');
  assert.deepEqual([a.published.length, a.lines.length], [0, 1]);
  const b = alarmsWith({ config: { actions: ['publish'] } });
  b.alarms.activate('x', {}, '');
  assert.deepEqual([b.published.length, b.lines.length], [1, 0]);
  // An empty message becomes the name, as in EMQX.
  assert.equal(b.alarms.activated()[0]!.message, 'x');
});

test('the history keeps size_limit entries, oldest dropped, and forgets those older than validity_period', () => {
  const book = new AlarmBook(3);
  for (let i = 0; i < 5; i++) {
    book.activate(`a${i}`, {}, `a${i}`, i * 1000);
    book.deactivate(`a${i}`, i * 1000 + 500);
  }
  assert.deepEqual(book.deactivated().map((d) => d.name), ['a2', 'a3', 'a4']);
  assert.equal(book.expire(3500), 1);
  assert.deepEqual(book.deactivated().map((d) => d.name), ['a3', 'a4']);
  book.setSizeLimit(1);
  assert.deepEqual(book.deactivated().map((d) => d.name), ['a4']);
  book.activate('live', {}, 'live', 9000);
  assert.equal(book.clearHistory(), 1);
  assert.deepEqual(book.deactivated(), []);
  assert.deepEqual(book.activated().map((a) => a.name), ['live'], 'DELETE leaves the active alarms');
});

test('the alarms survive a restart in their file: what was active comes back cleared as of the start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'alarms-'));
  try {
    const file = join(dir, 'alarms.json');
    let now = 1_000_000;
    const first = alarmsWith({ file, now: () => now });
    first.alarms.start();
    first.alarms.activate('old', {}, 'old');
    first.alarms.deactivate('old');
    now = 2_000_000;
    first.alarms.activate('high_system_memory_usage', { usage: 80 }, '80.00% mem usage');
    await first.alarms.stop();
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).activated.length, 1);

    now = 5_000_000;
    const second = alarmsWith({ file, now: () => now });
    second.alarms.start();
    assert.deepEqual(second.alarms.activated(), []);
    const h = second.alarms.deactivated();
    assert.deepEqual(h.map((d) => [d.name, d.deactivateAt]), [
      ['old', 1_000_000],
      ['high_system_memory_usage', 5_000_000],
    ]);
    // Cleared by the restart, not by a change: no action is taken for it.
    assert.equal(second.published.length, 0);
    await second.alarms.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file that cannot be read is reported and the node starts without it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'alarms-'));
  try {
    const file = join(dir, 'alarms.json');
    await import('node:fs').then((fs) => fs.writeFileSync(file, '{not json'));
    const a = alarmsWith({ file });
    a.alarms.start();
    assert.match(a.lines[0]!, /could not be read; starting without it/);
    assert.deepEqual(a.alarms.deactivated(), []);
    await a.alarms.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CPU: raised above the high watermark, cleared only below the low one; a reading of 0 is ignored', () => {
  assert.equal(cpuVerdict(85, 80, 60), 'activate');
  assert.equal(cpuVerdict(70, 80, 60), undefined, 'between the lines: as it was');
  assert.equal(cpuVerdict(59.99, 80, 60), 'deactivate');
  assert.equal(cpuVerdict(0, 80, 60), undefined);
  assert.equal(memVerdict(70.01, 70), 'activate');
  assert.equal(memVerdict(70, 70), 'deactivate');
});

test('Sysmon measures CPU between checks and memory at each, with EMQX details and messages', () => {
  const { alarms, published } = alarmsWith();
  let cpu = { busy: 0, total: 0 };
  let mem = { total: 1000, used: 500 };
  let files: { open: number; limit: number } | undefined = { open: 100, limit: 20_000 };
  const sysmon = new Sysmon(
    alarms,
    {
      os: { cpu_check_interval: 3_600_000, cpu_high_watermark: 0.8, cpu_low_watermark: 0.6, mem_check_interval: 3_600_000, sysmem_high_watermark: 0.7 },
      vm: { process_check_interval: 3_600_000, process_high_watermark: 0.8, process_low_watermark: 0.6, long_gc: 0, long_schedule: 240 },
    },
    { cpu: () => cpu, memory: () => mem, files: () => files },
  );
  sysmon.start();
  try {
    cpu = { busy: 90, total: 100 };
    sysmon.checkCpu();
    assert.deepEqual(alarms.activated().map((a) => [a.name, a.message, a.details]), [['high_cpu_usage', '90.00% cpu usage', { usage: 90, high_watermark: 80, low_watermark: 60 }]]);
    cpu = { busy: 160, total: 200 }; // 70 % since the last check
    sysmon.checkCpu();
    assert.equal(alarms.isActive('high_cpu_usage'), true);
    cpu = { busy: 210, total: 300 }; // 50 %
    sysmon.checkCpu();
    assert.equal(alarms.isActive('high_cpu_usage'), false);

    mem = { total: 1000, used: 723 };
    sysmon.checkMemory();
    assert.deepEqual(alarms.activated().map((a) => [a.name, a.message]), [['high_system_memory_usage', '72.30% mem usage']]);
    mem = { total: 1000, used: 100 };
    sysmon.checkMemory();
    assert.deepEqual(alarms.activated(), []);
    assert.equal(published.length, 4);

    // Open files: the process watermarks, two of them, as for CPU.
    files = { open: 17_000, limit: 20_000 };
    sysmon.checkFiles();
    assert.deepEqual(alarms.activated().map((a) => [a.name, a.message]), [['too_many_open_files', '85.00% of the open-file limit (17000 of 20000)']]);
    files = { open: 13_000, limit: 20_000 };
    sysmon.checkFiles();
    assert.equal(alarms.isActive('too_many_open_files'), true, 'between the lines');
    files = undefined;
    sysmon.checkFiles();
    assert.equal(alarms.isActive('too_many_open_files'), true, 'no reading changes nothing');
    files = { open: 11_000, limit: 20_000 };
    sysmon.checkFiles();
    assert.equal(alarms.isActive('too_many_open_files'), false);
  } finally {
    sysmon.stop();
  }
});

test('sysmon, alarm and conn_congestion keys: EMQX defaults, percentages as "80%", low above high refused', () => {
  const paths: Paths = { root: '/r', etc_dir: '/r/etc', conf_file: '/r/etc/emqx.conf', log_dir: '/r/log', ssl_dist_optfile: '/r/etc/ssl_dist.conf' };
  const ok = validateConfig({ node: { cookie: 'x' } }, { paths, env: {} });
  assert.deepEqual(ok.problems, []);
  const c = ok.config!;
  assert.deepEqual(c.sysmon.os, { cpu_check_interval: 60_000, cpu_high_watermark: 0.8, cpu_low_watermark: 0.6, mem_check_interval: 60_000, sysmem_high_watermark: 0.7 });
  assert.deepEqual(c.sysmon.vm, { process_check_interval: 30_000, process_high_watermark: 0.8, process_low_watermark: 0.6, long_gc: 0, long_schedule: 240 });
  assert.deepEqual(c.alarm, { actions: ['log', 'publish'], size_limit: 1000, validity_period: 24 * 3600_000 });
  assert.deepEqual(c.conn_congestion, { enable_alarm: true, min_alarm_sustain_duration: 60_000 });
  assert.deepEqual(c.overload_protection, { enable: false, backoff_new_conn: true });
  const off = validateConfig({ node: { cookie: 'x' }, sysmon: { os: { mem_check_interval: 'disabled', sysmem_high_watermark: '12.5%', procmem_high_watermark: '5%' }, vm: { long_gc: 'disabled' } } }, { paths, env: {} });
  assert.deepEqual(off.problems, []);
  assert.equal(off.config!.sysmon.os.mem_check_interval, 0);
  assert.equal(off.config!.sysmon.os.sysmem_high_watermark, 0.125);
  const bad = validateConfig({ node: { cookie: 'x' }, sysmon: { os: { cpu_high_watermark: '50%', sysmem_high_watermark: 0.7 } }, alarm: { actions: ['log', 'mail'], size_limit: 0 } }, { paths, env: {} });
  const msgs = bad.problems.map((p) => p.message);
  assert.ok(msgs.some((m) => m.startsWith('sysmon.os.cpu_low_watermark: 60% is above sysmon.os.cpu_high_watermark (50%)')), msgs.join('\n'));
  assert.ok(msgs.some((m) => m.startsWith('sysmon.os.sysmem_high_watermark: 0.7 is not a percentage')), msgs.join('\n'));
  assert.ok(msgs.some((m) => m.startsWith("alarm.actions: 'mail' not among log, publish")), msgs.join('\n'));
  assert.ok(msgs.some((m) => m.startsWith('alarm.size_limit:')), msgs.join('\n'));
});

const CLIENT: ClientInfo = { clientId: 'c1', username: undefined, peer: '127.0.0.1:5000', listener: 'tcp:default', sockport: 1883, protoVer: 4, keepalive: 60, cleanStart: true, connectedAt: 0 };

test('congestion alarms: named as EMQX names them, kept for the sustain time, cleared at once when the client goes', async () => {
  const { alarms } = alarmsWith();
  const cg = new CongestionAlarms(alarms, { enable_alarm: true, min_alarm_sustain_duration: 150 });
  try {
    const name = congestionAlarmName(CLIENT);
    assert.equal(name, 'conn_congestion/c1/undefined');
    cg.congested(CLIENT, 2_000_000);
    assert.equal(alarms.activated()[0]!.details.send_pend, 2_000_000);
    cg.relieved(CLIENT, false);
    assert.equal(alarms.isActive(name), true, 'kept until the sustain time is up');
    // Backed up again meanwhile: the alarm goes on, not cleared by the earlier drain.
    cg.congested(CLIENT, 2_000_000);
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(alarms.isActive(name), true);
    cg.relieved(CLIENT, false);
    assert.equal(alarms.isActive(name), false, 'sustained long enough: cleared at the drain');

    cg.congested(CLIENT, 2_000_000);
    cg.relieved(CLIENT, true);
    assert.equal(alarms.isActive(name), false, 'the client went: cleared at once');

    cg.reconfigure({ enable_alarm: false, min_alarm_sustain_duration: 150 });
    cg.congested({ ...CLIENT, username: 'u' }, 2_000_000);
    assert.deepEqual(alarms.activated(), [], 'enable_alarm = false raises none');
  } finally {
    cg.stop();
  }
});

test('the $SYS payload is EMQX\'s normalized alarm', () => {
  assert.deepEqual(alarmPayload({ name: 'n', details: { a: 1 }, message: 'm', activateAt: 5 }), { name: 'n', details: { a: 1 }, message: 'm', activate_at: 5, deactivate_at: 'infinity', activated: true });
  assert.deepEqual(alarmPayload({ name: 'n', details: {}, message: 'm', activateAt: 5, deactivateAt: 9 }).deactivate_at, 9);
});
