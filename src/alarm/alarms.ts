// This node's alarms (EMQX's emqx_alarm): raised and cleared by the checks that watch the node
// (sysmon.ts, congestion.ts), each change acted on as `alarm.actions` says (`log`: a warning
// line; `publish`: a JSON message on `$SYS/brokers/<node>/alarms/activate|deactivate`), and kept
// across restarts in `<data_dir>/alarms.json`, so the history of what happened before a crash is
// there after it.
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import type { Log } from '../base/log.js';
import type { AlarmConfig } from '../config/types.js';
import { AlarmBook, type ActiveAlarm, type AlarmSnapshot, type DeactivatedAlarm, type Details } from './alarm-book.js';

export interface AlarmsOptions {
  readonly node: string;
  readonly log: Log;
  /** Publishes a $SYS message (QoS 0, not retained). */
  publish(topic: string, payload: string): void;
  /** Where the alarms are kept between runs; none: memory only. */
  readonly file?: string;
  readonly nowUs?: () => number;
}

/** `$SYS/brokers/<node>/alarms/...` payload (emqx_alarm:normalize): times in µs, `infinity` while active. */
export function alarmPayload(a: ActiveAlarm | DeactivatedAlarm): Record<string, unknown> {
  const deactivateAt = 'deactivateAt' in a ? a.deactivateAt : undefined;
  return {
    name: a.name,
    details: a.details,
    message: a.message,
    activate_at: a.activateAt,
    deactivate_at: deactivateAt ?? 'infinity',
    activated: deactivateAt === undefined,
  };
}

/** How often expired history is looked for, at most (EMQX: once per validity period). */
const SWEEP_MS = 60_000;
/** Writes to the file are gathered: a burst of alarms costs one write. */
const SAVE_DELAY_MS = 1000;

export class Alarms {
  readonly #book: AlarmBook;
  #config: AlarmConfig;
  readonly #nowUs: () => number;
  #sweep: NodeJS.Timeout | undefined;
  #saveTimer: NodeJS.Timeout | undefined;
  #saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly o: AlarmsOptions,
    config: AlarmConfig,
  ) {
    this.#config = config;
    this.#book = new AlarmBook(config.size_limit);
    this.#nowUs = o.nowUs ?? (() => Math.round((performance.timeOrigin + performance.now()) * 1000));
  }

  /** Reads the file of the last run (its active alarms are cleared now), then sweeps regularly. */
  start(): void {
    const file = this.o.file;
    if (file) {
      try {
        const s = JSON.parse(readFileSync(file, 'utf8')) as AlarmSnapshot;
        if (Array.isArray(s.activated) && Array.isArray(s.deactivated)) {
          this.#book.restore(s, this.#nowUs());
          this.#expire();
          this.#scheduleSave();
        }
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code !== 'ENOENT') this.o.log.warn({ file, err: e.message }, `alarm history in ${file} could not be read; starting without it`);
      }
    }
    this.#sweep = setInterval(() => this.#expire(), Math.min(SWEEP_MS, this.#config.validity_period));
    this.#sweep.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#sweep);
    if (this.#saveTimer) {
      clearTimeout(this.#saveTimer);
      this.#saveTimer = undefined;
      this.#save();
    }
    await this.#saving;
  }

  reconfigure(config: AlarmConfig): void {
    const sweep = config.validity_period !== this.#config.validity_period;
    this.#config = config;
    this.#book.setSizeLimit(config.size_limit);
    if (sweep && this.#sweep) {
      clearInterval(this.#sweep);
      this.#sweep = setInterval(() => this.#expire(), Math.min(SWEEP_MS, config.validity_period));
      this.#sweep.unref();
    }
    this.#expire();
  }

  /**
   * Raises an alarm; false when it is active already. `sinceUs`: when the condition began, if
   * it was found out later (a partition is known once the other side is back).
   */
  activate(name: string, details: Details, message: string, sinceUs?: number): boolean {
    const a = this.#book.activate(name, details, message || name, Math.min(sinceUs ?? Number.POSITIVE_INFINITY, this.#nowUs()));
    if (!a) return false;
    this.#act('activate', a);
    return true;
  }

  /** Clears an alarm, with the state it cleared at when given; false when it was not active. */
  deactivate(name: string, now?: { details: Details; message: string }): boolean {
    const d = this.#book.deactivate(name, this.#nowUs(), now);
    if (!d) return false;
    this.#act('deactivate', d);
    return true;
  }

  isActive(name: string): boolean {
    return this.#book.isActive(name);
  }

  activated(): ActiveAlarm[] {
    return this.#book.activated();
  }

  deactivated(): DeactivatedAlarm[] {
    return this.#book.deactivated();
  }

  /** DELETE /alarms on this node. */
  clearHistory(): void {
    if (this.#book.clearHistory() > 0) this.#scheduleSave();
  }

  nowUs(): number {
    return this.#nowUs();
  }

  #act(op: 'activate' | 'deactivate', a: ActiveAlarm | DeactivatedAlarm): void {
    this.#scheduleSave();
    for (const action of this.#config.actions) {
      if (action === 'log') {
        if (op === 'activate') this.o.log.warn({ alarm: a.name, details: a.details }, `alarm ${a.name} activated: ${a.message}`);
        else this.o.log.warn({ alarm: a.name, details: a.details }, `alarm ${a.name} deactivated: ${a.message}`);
      } else {
        this.o.publish(`$SYS/brokers/${this.o.node}/alarms/${op}`, JSON.stringify(alarmPayload(a)));
      }
    }
  }

  #expire(): void {
    if (this.#book.expire(this.#nowUs() - this.#config.validity_period * 1000) > 0) this.#scheduleSave();
  }

  #scheduleSave(): void {
    if (!this.o.file || this.#saveTimer) return;
    this.#saveTimer = setTimeout(() => {
      this.#saveTimer = undefined;
      this.#save();
    }, SAVE_DELAY_MS);
    this.#saveTimer.unref();
  }

  /** Whole file, written aside and renamed over the old one: a crash leaves one or the other. */
  #save(): void {
    const file = this.o.file;
    if (!file) return;
    const text = JSON.stringify(this.#book.snapshot());
    this.#saving = this.#saving
      .then(async () => {
        await writeFile(`${file}.tmp`, text);
        await rename(`${file}.tmp`, file);
      })
      .catch((err: Error) => this.o.log.warn({ file, err: err.message }, `alarm history could not be written to ${file}`));
  }
}
