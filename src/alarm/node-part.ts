// The alarms of a running node as one part: the alarm list (with its file in the data
// directory), the machine's checks, the watch on the node's own event loop (long_schedule,
// long_gc, the overload flag and `emqx ctl olp`), the congestion alarms the MQTT connections
// raise and the partition alarm membership's events raise; follows `alarm`, `sysmon`,
// `conn_congestion` and `overload_protection` on reload. Built before the broker, so its
// congestion and overload ports can be handed to the listeners; it publishes through the broker
// once that runs.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { NodePart } from '../base/part.js';
import type { Config } from '../config/types.js';
import type { EventEmitter } from 'node:events';
import type { ClusterEvents } from '../cluster/context.js';
import type { CtlCommand } from '../ctl/types.js';
import type { CongestionPort, OverloadPort } from '../mqtt/port.js';
import { Alarms } from './alarms.js';
import { CongestionAlarms } from './congestion.js';
import { LoopWatch } from './loop-watch.js';
import { olpCommand } from './olp-ctl.js';
import { Sysmon } from './sysmon.js';
import { PartitionAlarm } from './partition.js';

export interface AlarmPartHost {
  readonly config: Config;
  readonly logger: Logger;
  /** Publishes a $SYS message through the broker. */
  publish(topic: string, payload: string): void;
  /** Membership's events, once it runs (partitions). */
  clusterEvents?(): EventEmitter<ClusterEvents> | undefined;
  register?(c: CtlCommand): void;
}

export interface AlarmPart extends NodePart {
  readonly alarms: Alarms;
  readonly congestion: CongestionPort;
  readonly overload: OverloadPort;
}

export const ALARM_KEYS = ['alarm', 'sysmon', 'conn_congestion', 'overload_protection'];

export function alarmPart(host: AlarmPartHost): AlarmPart {
  const { config } = host;
  const alarms = new Alarms(
    { node: config.node.name, log: host.logger.child({ part: 'alarm' }), publish: (t, p) => host.publish(t, p), file: join(config.node.data_dir, 'alarms.json') },
    config.alarm,
  );
  const sysmon = new Sysmon(alarms, config.sysmon);
  const congestion = new CongestionAlarms(alarms, config.conn_congestion);
  const partition = new PartitionAlarm(alarms);
  const node = config.node.name;
  const loop = new LoopWatch({ log: host.logger.child({ part: 'sysmon' }), publish: (kind, text) => host.publish(`$SYS/brokers/${node}/sysmon/${kind}`, text) }, config.sysmon.vm);
  let olp = config.overload_protection;
  const overload: OverloadPort = { refuseNew: () => olp.enable && olp.backoff_new_conn && loop.overloaded };
  const onPartition = (peer: string, state: 'detected' | 'healed', sinceMs: number): void => partition.event(peer, state, sinceMs);
  const onMembers = (members: string[]): void => partition.members(members);
  let events: EventEmitter<ClusterEvents> | undefined;
  return {
    name: 'alarms',
    alarms,
    congestion,
    overload,
    start() {
      alarms.start();
      sysmon.start();
      loop.start();
      host.register?.(olpCommand(node, loop));
      events = host.clusterEvents?.();
      events?.on('partition', onPartition);
      events?.on('members', onMembers);
    },
    async stop() {
      events?.off('partition', onPartition);
      events?.off('members', onMembers);
      sysmon.stop();
      loop.stop();
      congestion.stop();
      await alarms.stop();
    },
    reloadKeys: ALARM_KEYS,
    reconfigure(next) {
      alarms.reconfigure(next.alarm);
      sysmon.reconfigure(next.sysmon);
      loop.reconfigure(next.sysmon.vm);
      olp = next.overload_protection;
      congestion.reconfigure(next.conn_congestion);
    },
  };
}
