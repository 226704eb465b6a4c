// EMQX's emqx_os_mon on this node: every `sysmon.os.cpu_check_interval` the machine's CPU use
// since the last check, every `sysmon.os.mem_check_interval` its memory in use, each against its
// watermarks. The CPU alarm has two (raised above the high one, cleared below the low one, so a
// load hovering at the line does not flap); the memory alarm clears as soon as use is back under
// its line. EMQX's names, details and messages (`85.00% cpu usage`, `72.31% mem usage`).
import { cpus } from 'node:os';
import { systemMemory } from '../base/system-memory.js';
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
}

const REAL: SysmonReaders = { cpu: cpuTimes, memory: systemMemory };

export class Sysmon {
  #config: SysmonConfig['os'];
  #cpuTimer: NodeJS.Timeout | undefined;
  #memTimer: NodeJS.Timeout | undefined;
  #lastCpu: { busy: number; total: number } | undefined;

  constructor(
    private readonly alarms: Alarms,
    config: SysmonConfig,
    private readonly read: SysmonReaders = REAL,
  ) {
    this.#config = config.os;
  }

  start(): void {
    this.#schedule();
  }

  stop(): void {
    clearInterval(this.#cpuTimer);
    clearInterval(this.#memTimer);
  }

  /** New thresholds apply at once (EMQX re-checks memory on a config update too). */
  reconfigure(config: SysmonConfig): void {
    this.#config = config.os;
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
  }
}
