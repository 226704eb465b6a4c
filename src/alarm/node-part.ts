// The alarms of a running node as one part: the alarm list (with its file in the data
// directory), the machine's checks, the congestion alarms the MQTT connections raise and the
// partition alarm membership's events raise; follows
// `alarm`, `sysmon` and `conn_congestion` on reload. Built before the broker, so its congestion
// port can be handed to the listeners; it publishes through the broker once that runs.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { NodePart } from '../base/part.js';
import type { Config } from '../config/types.js';
import type { EventEmitter } from 'node:events';
import type { ClusterEvents } from '../cluster/context.js';
import type { CongestionPort } from '../mqtt/port.js';
import { Alarms } from './alarms.js';
import { CongestionAlarms } from './congestion.js';
import { Sysmon } from './sysmon.js';
import { PartitionAlarm } from './partition.js';

export interface AlarmPartHost {
  readonly config: Config;
  readonly logger: Logger;
  /** Publishes a $SYS message through the broker. */
  publish(topic: string, payload: string): void;
  /** Membership's events, once it runs (partitions). */
  clusterEvents?(): EventEmitter<ClusterEvents> | undefined;
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
  const partition = new PartitionAlarm(alarms);
  const onPartition = (peer: string, state: 'detected' | 'healed', sinceMs: number): void => partition.event(peer, state, sinceMs);
  const onMembers = (members: string[]): void => partition.members(members);
  let events: EventEmitter<ClusterEvents> | undefined;
  return {
    name: 'alarms',
    alarms,
    congestion,
    start() {
      alarms.start();
      sysmon.start();
      events = host.clusterEvents?.();
      events?.on('partition', onPartition);
      events?.on('members', onMembers);
    },
    async stop() {
      events?.off('partition', onPartition);
      events?.off('members', onMembers);
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
