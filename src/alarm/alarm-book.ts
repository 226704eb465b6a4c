// One node's alarms, as EMQX keeps them (emqx_alarm): the activated ones by name (an alarm that
// is already active is not raised again), and the deactivated ones as history, oldest dropped
// first beyond `alarm.size_limit` and once older than `alarm.validity_period`. Pure: times are
// given (µs since the epoch, EMQX's unit), and nothing here does I/O.

export type Details = Readonly<Record<string, unknown>>;

export interface ActiveAlarm {
  readonly name: string;
  readonly details: Details;
  readonly message: string;
  /** µs */
  readonly activateAt: number;
}

export interface DeactivatedAlarm extends ActiveAlarm {
  /** µs */
  readonly deactivateAt: number;
}

/** What is written to disk and read back at start. */
export interface AlarmSnapshot {
  readonly activated: readonly ActiveAlarm[];
  readonly deactivated: readonly DeactivatedAlarm[];
}

export class AlarmBook {
  readonly #active = new Map<string, ActiveAlarm>();
  /** In the order they were deactivated. */
  #history: DeactivatedAlarm[] = [];

  constructor(public sizeLimit: number) {}

  /** Raises `name`; undefined when it is active already (its first details stand). */
  activate(name: string, details: Details, message: string, nowUs: number): ActiveAlarm | undefined {
    if (this.#active.has(name)) return undefined;
    const a: ActiveAlarm = { name, details, message, activateAt: nowUs };
    this.#active.set(name, a);
    return a;
  }

  /**
   * Clears `name` into the history; undefined when it is not active. New details or message
   * describe the state it cleared at (EMQX keeps those of the activation in the history).
   */
  deactivate(name: string, nowUs: number, now?: { details: Details; message: string }): DeactivatedAlarm | undefined {
    const a = this.#active.get(name);
    if (!a) return undefined;
    this.#active.delete(name);
    this.#history.push({ ...a, deactivateAt: nowUs });
    this.#trim();
    return { ...a, ...(now ?? {}), deactivateAt: nowUs };
  }

  isActive(name: string): boolean {
    return this.#active.has(name);
  }

  activated(): ActiveAlarm[] {
    return [...this.#active.values()].sort((a, b) => a.activateAt - b.activateAt || a.name.localeCompare(b.name));
  }

  deactivated(): DeactivatedAlarm[] {
    return [...this.#history].sort((a, b) => a.activateAt - b.activateAt || a.name.localeCompare(b.name));
  }

  /** DELETE /alarms: the history goes, the active alarms stay. Returns how many went. */
  clearHistory(): number {
    const n = this.#history.length;
    this.#history = [];
    return n;
  }

  /** Drops deactivated alarms that cleared before `cutoffUs`; returns how many. */
  expire(cutoffUs: number): number {
    const before = this.#history.length;
    this.#history = this.#history.filter((d) => d.deactivateAt >= cutoffUs);
    return before - this.#history.length;
  }

  setSizeLimit(n: number): void {
    this.sizeLimit = n;
    this.#trim();
  }

  snapshot(): AlarmSnapshot {
    return { activated: this.activated(), deactivated: [...this.#history] };
  }

  /**
   * A snapshot from before a restart: its history comes back, and the alarms that were active
   * are cleared as of `nowUs` (EMQX does the same at start; a condition that still holds is
   * raised again by the next check).
   */
  restore(s: AlarmSnapshot, nowUs: number): void {
    this.#history = [...s.deactivated, ...s.activated.map((a) => ({ ...a, deactivateAt: nowUs }))];
    this.#trim();
  }

  #trim(): void {
    const over = this.#history.length - this.sizeLimit;
    if (over > 0) this.#history.splice(0, over);
  }
}
