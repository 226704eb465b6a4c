// EMQX's conn_congestion alarms: one per client whose socket has more than the high-water mark
// waiting to be sent (it does not read what it is sent), named `conn_congestion/<clientid>/<username>`
// (`undefined` without a username, as EMQX writes it). Once raised, an alarm stays at least
// `conn_congestion.min_alarm_sustain_duration`, so a client hovering at the line does not raise
// one alarm a second; it clears when the socket has drained and that time is up, or at once when
// the connection closes.
import type { ConnCongestionConfig } from '../config/types.js';
import type { ClientInfo, CongestionPort } from '../mqtt/port.js';
import type { Alarms } from './alarms.js';

const PREFIX = 'conn_congestion/';

export function congestionAlarmName(c: Pick<ClientInfo, 'clientId' | 'username'>): string {
  return `${PREFIX}${c.clientId}/${c.username ?? 'undefined'}`;
}

export class CongestionAlarms implements CongestionPort {
  #config: ConnCongestionConfig;
  /** Alarms whose client drained before the sustain time was up: cleared when it is. */
  readonly #pending = new Map<string, NodeJS.Timeout>();
  /** When each of our alarms was raised (ms, monotonic). */
  readonly #since = new Map<string, number>();

  constructor(
    private readonly alarms: Alarms,
    config: ConnCongestionConfig,
  ) {
    this.#config = config;
  }

  congested(c: ClientInfo, bufferedBytes: number): void {
    if (!this.#config.enable_alarm) return;
    const name = congestionAlarmName(c);
    const pending = this.#pending.get(name);
    if (pending) {
      // Backed up again before its alarm cleared: the alarm simply goes on.
      clearTimeout(pending);
      this.#pending.delete(name);
      return;
    }
    const details = {
      clientid: c.clientId,
      username: c.username ?? null,
      peername: c.peer,
      listener: c.listener,
      proto_ver: c.protoVer,
      connected_at: c.connectedAt,
      conn_state: 'connected',
      send_pend: bufferedBytes,
    };
    if (this.alarms.activate(name, details, `connection congested: clientid=${c.clientId}, username=${c.username ?? 'undefined'}, peername=${c.peer}, ${bufferedBytes} bytes waiting to be sent`)) {
      this.#since.set(name, performance.now());
    }
  }

  relieved(c: ClientInfo, closed: boolean): void {
    const name = congestionAlarmName(c);
    const since = this.#since.get(name);
    if (since === undefined) return;
    const wait = since + this.#config.min_alarm_sustain_duration - performance.now();
    if (closed || wait <= 0) return this.#clear(name, closed);
    if (this.#pending.has(name)) return;
    const t = setTimeout(() => this.#clear(name, false), wait);
    t.unref();
    this.#pending.set(name, t);
  }

  reconfigure(config: ConnCongestionConfig): void {
    this.#config = config;
    // Turned off: the alarms it raised go too.
    if (!config.enable_alarm) for (const name of [...this.#since.keys()]) this.#clear(name, false);
  }

  stop(): void {
    for (const t of this.#pending.values()) clearTimeout(t);
    this.#pending.clear();
  }

  #clear(name: string, closed: boolean): void {
    clearTimeout(this.#pending.get(name));
    this.#pending.delete(name);
    this.#since.delete(name);
    this.alarms.deactivate(name, { details: { conn_state: closed ? 'disconnected' : 'connected' }, message: closed ? 'connection closed' : 'connection no longer congested' });
  }
}
