// EMQX's emqx_os_mon on this node: every `sysmon.os.cpu_check_interval` the machine's CPU use
// since the last check, every `sysmon.os.mem_check_interval` its memory in use, each against its
// watermarks. The CPU alarm has two (raised above the high one, cleared below the low one, so a
// load hovering at the line does not flap); the memory alarm clears as soon as use is back under
// its line. EMQX's names, details and messages (`85.00% cpu usage`, `72.31% mem usage`).
//
// And, every `sysmon.vm.process_check_interval`, this node's open files against its limit, with
// the process watermarks (EMQX's `too_many_processes`): what stops an Erlang node from taking more
// connections is its process table, what stops this one is the open-file limit, one file a
// connection. Ours: `too_many_open_files`, `85.00% of the open-file limit (17000 of 20000)`.
import { cpus } from 'node:os';
import { maxFds, openFds, systemMemory } from '../base/system-usage.js';
import type { SysmonConfig } from '../config/types.js';
import type { Alarms } from './alarms.js';

export type Verdict = 'activate' | 'deactivate' | undefined;

/** Percent with two decimals, rounded down as EMQX does. */
const pct = (fraction: number): number => Math.floor(fraction * 10000) / 100;

/** CPU in % against watermarks in %: raise above high, clear below low, else leave as is. */
export function cpuVerdict(usage: number, high: number, low: number): Verdict {
  // EMQX ignores a reading of exactly 0 (os_mon's first, meaningless answer, or no data).
  if (usage === 0) return undefined;
  if (usage > high) return 'activate';
  if (usage < low) return 'deactivate';
  return undefined;
}

export function memVerdict(usage: number, high: number): Verdict {
  return usage > high ? 'activate' : 'deactivate';
}

/** Busy and total CPU time of the whole machine so far (ms, summed over its CPUs). */
export function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const c of cpus()) {
    const t = c.times;
    const all = t.user + t.nice + t.sys + t.idle + t.irq;
    total += all;
    busy += all - t.idle;
  }
  return { busy, total };
}

export interface SysmonReaders {
  cpu(): { busy: number; total: number };
  memory(): { total: number; used: number };
  /** Open files and their limit; undefined when unknown. */
  files(): { open: number; limit: number } | undefined;
}

const REAL: SysmonReaders = {
  cpu: cpuTimes,
  memory: systemMemory,
  files: () => {
    const open = openFds();
    const limit = maxFds();
    return open === undefined || limit <= 0 ? undefined : { open, limit };
  },
};

export class Sysmon {
  #config: SysmonConfig['os'];
  #vm: SysmonConfig['vm'];
  #cpuTimer: NodeJS.Timeout | undefined;
  #memTimer: NodeJS.Timeout | undefined;
  #fileTimer: NodeJS.Timeout | undefined;
  #lastCpu: { busy: number; total: number } | undefined;

  constructor(
    private readonly alarms: Alarms,
    config: SysmonConfig,
    private readonly read: SysmonReaders = REAL,
  ) {
    this.#config = config.os;
    this.#vm = config.vm;
  }

  start(): void {
    this.#schedule();
  }

  stop(): void {
    clearInterval(this.#cpuTimer);
    clearInterval(this.#memTimer);
    clearInterval(this.#fileTimer);
  }

  /** New thresholds apply at once (EMQX re-checks memory on a config update too). */
  reconfigure(config: SysmonConfig): void {
    this.#config = config.os;
    this.#vm = config.vm;
    this.#schedule();
  }

  /** One CPU check: the machine's use since the last one. */
  checkCpu(): void {
    const now = this.read.cpu();
    const last = this.#lastCpu;
    this.#lastCpu = now;
    if (!last || now.total <= last.total) return;
    const usage = pct((now.busy - last.busy) / (now.total - last.total));
    const high = pct(this.#config.cpu_high_watermark);
    const low = pct(this.#config.cpu_low_watermark);
    const verdict = cpuVerdict(usage, high, low);
    const details = { usage, high_watermark: high, low_watermark: low };
    const message = `${usage.toFixed(2)}% cpu usage`;
    if (verdict === 'activate') this.alarms.activate('high_cpu_usage', details, message);
    else if (verdict === 'deactivate') this.alarms.deactivate('high_cpu_usage', { details, message });
  }

  checkMemory(): void {
    const m = this.read.memory();
    if (m.total <= 0) return;
    const usage = pct(m.used / m.total);
    const high = pct(this.#config.sysmem_high_watermark);
    const details = { usage, high_watermark: high };
    const message = `${usage.toFixed(2)}% mem usage`;
    if (memVerdict(usage, high) === 'activate') this.alarms.activate('high_system_memory_usage', details, message);
    else this.alarms.deactivate('high_system_memory_usage', { details, message });
  }

  /** One check of this node's open files against its limit. */
  checkFiles(): void {
    const f = this.read.files();
    if (!f) return;
    const usage = pct(f.open / f.limit);
    const high = pct(this.#vm.process_high_watermark);
    const low = pct(this.#vm.process_low_watermark);
    const verdict = cpuVerdict(usage, high, low);
    const details = { usage, open_files: f.open, max_fds: f.limit, high_watermark: high, low_watermark: low };
    const message = `${usage.toFixed(2)}% of the open-file limit (${f.open} of ${f.limit})`;
    if (verdict === 'activate') this.alarms.activate('too_many_open_files', details, message);
    else if (verdict === 'deactivate') this.alarms.deactivate('too_many_open_files', { details, message });
  }

  #schedule(): void {
    this.stop();
    const { cpu_check_interval: cpu, mem_check_interval: mem } = this.#config;
    // The first CPU reading is the baseline the first check measures from.
    this.#lastCpu = this.read.cpu();
    this.#cpuTimer = setInterval(() => this.checkCpu(), cpu);
    this.#cpuTimer.unref();
    if (mem > 0) {
      this.checkMemory();
      this.#memTimer = setInterval(() => this.checkMemory(), mem);
      this.#memTimer.unref();
    } else this.alarms.deactivate('high_system_memory_usage');
    this.checkFiles();
    this.#fileTimer = setInterval(() => this.checkFiles(), this.#vm.process_check_interval);
    this.#fileTimer.unref();
  }
}
