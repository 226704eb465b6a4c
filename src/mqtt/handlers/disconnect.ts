// DISCONNECT from the client (MQTT 5.0 §3.14): a normal end, so no will, unless a v5 client asks
// for it with 0x04; a v5 client may change its session expiry here, but not from 0 to more.
import type { IDisconnectPacket } from 'mqtt-packet';
import type { Channel } from '../channel.js';
import { RC } from '../reason-codes.js';

export function handleDisconnect(ch: Channel, p: IDisconnectPacket): void {
  ch.env.counters['packets.disconnect.received']++;
  let expiryMs: number | undefined;
  const asked = p.properties?.sessionExpiryInterval;
  if (ch.v5 && asked !== undefined) {
    // MQTT-3.14.2-2: a session that was to end with the connection cannot be extended here.
    if (ch.sessionExpiryMs === 0 && asked > 0) return ch.closeWith(RC.protocolError, 'DISCONNECT sets a session expiry on a session that had none');
    expiryMs = Math.min(asked === 0xffffffff ? Number.POSITIVE_INFINITY : asked * 1000, ch.settings.mqtt.session_expiry_interval);
  }
  const will = ch.v5 && p.reasonCode === RC.disconnectWithWill;
  ch.finishNormally(will, expiryMs);
}
