// The node's own event loop and collector, watched as EMQX's system monitor watches Erlang
// processes: `sysmon.vm.long_schedule` (EMQX: a process ran that long without yielding; here:
// the event loop did not turn for that long, so every client of the node waited) and
// `sysmon.vm.long_gc` (a garbage collection pause that long). Each is a warning in the log and a
// message on `$SYS/brokers/<node>/sysmon/<kind>`, at most one of a kind per 2 s, as EMQX's.
//
// The same sample feeds the overload flag (overload.ts) that `emqx ctl olp status` shows and
// that listeners read to refuse new connections when `overload_protection.enable` is on. As
// EMQX's load controller, the check runs unless `emqx ctl olp disable` stopped it.
import { constants, monitorEventLoopDelay, performance, PerformanceObserver, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';
import type { Log } from '../base/log.js';
import type { SysmonConfig } from '../config/types.js';
import { OverloadFlag } from './overload.js';

/** How often the loop's timer is due: the precision of the delays measured. */
const RESOLUTION_MS = 50;
const SAMPLE_MS = 1000;
/** A kind reported at most once per this long (EMQX's sysmon resets its list every 2 s). */
const REPORT_EVERY_MS = 2000;

type Kind = 'long_schedule' | 'long_gc';

export interface LoopWatchHost {
  readonly log: Log;
  /** `$SYS/brokers/<node>/sysmon/<kind>` with `text`. */
  publish(kind: Kind, text: string): void;
}

const GC_KINDS: Readonly<Record<number, string>> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

export class LoopWatch {
  readonly #flag = new OverloadFlag();
  #vm: Pick<SysmonConfig['vm'], 'long_gc' | 'long_schedule'>;
  #delays: IntervalHistogram | undefined;
  #elu: EventLoopUtilization | undefined;
  #timer: NodeJS.Timeout | undefined;
  #gc: PerformanceObserver | undefined;
  /** Whether the overload check runs (`olp enable|disable`). */
  #checking = true;
  readonly #reported = new Map<Kind, { at: number; suppressed: number }>();

  constructor(
    private readonly host: LoopWatchHost,
    vm: SysmonConfig['vm'],
  ) {
    this.#vm = vm;
  }

  /** EMQX's `emqx_olp:is_overloaded()`: false while the check is off. */
  get overloaded(): boolean {
    return this.#checking && this.#flag.overloaded;
  }

  get checking(): boolean {
    return this.#checking;
  }

  start(): void {
    this.#delays = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.#delays.enable();
    this.#elu = performance.eventLoopUtilization();
    this.#timer = setInterval(() => this.#sample(), SAMPLE_MS);
    this.#timer.unref();
    this.#watchGc();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#delays?.disable();
    this.#delays = undefined;
    this.#gc?.disconnect();
    this.#gc = undefined;
  }

  reconfigure(vm: SysmonConfig['vm']): void {
    this.#vm = vm;
    if (this.#timer) this.#watchGc();
  }

  /** `olp enable`: false when the check already ran. */
  enableCheck(): boolean {
    if (this.#checking) return false;
    this.#checking = true;
    return true;
  }

  /** `olp disable`: the flag is cleared and stays so. */
  disableCheck(): void {
    this.#checking = false;
    this.#flag.reset();
  }

  #sample(): void {
    const h = this.#delays;
    if (!h) return;
    const now = performance.eventLoopUtilization();
    const utilization = performance.eventLoopUtilization(now, this.#elu).utilization;
    this.#elu = now;
    // The histogram holds the intervals between the timer's runs: each is the resolution plus
    // how late it ran. No run at all in the second means the loop was held all of it.
    const ran = h.count > 0;
    const meanDelayMs = ran ? Math.max(0, h.mean / 1e6 - RESOLUTION_MS) : SAMPLE_MS;
    const heldMs = ran ? Math.max(0, h.max / 1e6 - RESOLUTION_MS) : SAMPLE_MS;
    h.reset();
    if (this.#checking && this.#flag.sample({ utilization, meanDelayMs })) {
      const detail = { event_loop_utilization: Math.round(utilization * 1000) / 1000, mean_delay_ms: Math.round(meanDelayMs) };
      if (this.#flag.overloaded) this.host.log.warn(detail, 'the node is overloaded: its event loop has been saturated or running late for 3 s (with overload_protection.enable, new connections are closed meanwhile)');
      else this.host.log.info(detail, 'the node is no longer overloaded');
    }
    const limit = this.#vm.long_schedule;
    if (limit > 0 && heldMs >= limit) {
      this.#report('long_schedule', { held_ms: Math.round(heldMs), long_schedule_ms: limit }, `long_schedule: the event loop did not turn for ${Math.round(heldMs)} ms; every client of this node waited that long`, `long_schedule warning: event loop held for ${Math.round(heldMs)} ms`);
    }
  }

  /** GC pauses are watched only while long_gc is set: an observer costs an entry per collection. */
  #watchGc(): void {
    const limit = this.#vm.long_gc;
    if (limit <= 0) {
      this.#gc?.disconnect();
      this.#gc = undefined;
      return;
    }
    if (this.#gc) return;
    this.#gc = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (e.duration < this.#vm.long_gc || this.#vm.long_gc <= 0) continue;
        const kind = GC_KINDS[((e as { detail?: unknown }).detail as { kind?: number } | undefined)?.kind ?? -1] ?? 'other';
        const ms = Math.round(e.duration);
        this.#report('long_gc', { gc: kind, pause_ms: ms, long_gc_ms: this.#vm.long_gc }, `long_gc: a ${kind} garbage collection paused the node for ${ms} ms`, `long_gc warning: ${kind} collection took ${ms} ms`);
      }
    });
    this.#gc.observe({ entryTypes: ['gc'] });
  }

  #report(kind: Kind, detail: object, line: string, text: string): void {
    const now = Date.now();
    const last = this.#reported.get(kind);
    if (last && now - last.at < REPORT_EVERY_MS) {
      last.suppressed++;
      return;
    }
    this.host.log.warn(last && last.suppressed > 0 ? { ...detail, suppressed: last.suppressed } : detail, line);
    this.host.publish(kind, text);
    this.#reported.set(kind, { at: now, suppressed: 0 });
  }
}
