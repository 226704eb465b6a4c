// The alarms of a running node as one part: the alarm list (with its file in the data
// directory), the machine's checks and the congestion alarms the MQTT connections raise; follows
// `alarm`, `sysmon` and `conn_congestion` on reload. Built before the broker, so its congestion
// port can be handed to the listeners; it publishes through the broker once that runs.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { NodePart } from '../base/part.js';
import type { Config } from '../config/types.js';
import type { CongestionPort } from '../mqtt/port.js';
import { Alarms } from './alarms.js';
import { CongestionAlarms } from './congestion.js';
import { Sysmon } from './sysmon.js';

export interface AlarmPartHost {
  readonly config: Config;
  readonly logger: Logger;
  /** Publishes a $SYS message through the broker. */
  publish(topic: string, payload: string): void;
}

export interface AlarmPart extends NodePart {
  readonly alarms: Alarms;
  readonly congestion: CongestionPort;
}

export const ALARM_KEYS = ['alarm', 'sysmon', 'conn_congestion'];

export function alarmPart(host: AlarmPartHost): AlarmPart {
  const { config } = host;
  const alarms = new Alarms(
    { node: config.node.name, log: host.logger.child({ part: 'alarm' }), publish: (t, p) => host.publish(t, p), file: join(config.node.data_dir, 'alarms.json') },
    config.alarm,
  );
  const sysmon = new Sysmon(alarms, config.sysmon);
  const congestion = new CongestionAlarms(alarms, config.conn_congestion);
  return {
    name: 'alarms',
    alarms,
    congestion,
    start() {
      alarms.start();
      sysmon.start();
    },
    async stop() {
      sysmon.stop();
      congestion.stop();
      await alarms.stop();
    },
    reloadKeys: ALARM_KEYS,
    reconfigure(next) {
      alarms.reconfigure(next.alarm);
      sysmon.reconfigure(next.sysmon);
      congestion.reconfigure(next.conn_congestion);
    },
  };
}
