// An alarm as EMQX's API shows it (emqx_alarm:format/2): times as RFC 3339 with milliseconds,
// `duration` in ms (so far, for an active alarm), `deactivate_at` `infinity` while active. Pure.
import type { ActiveAlarm, DeactivatedAlarm } from '../../alarm/alarm-book.js';
import type { Json } from './clients.js';
import { rfc3339 } from './time.js';

export function alarmJson(node: string, a: ActiveAlarm | DeactivatedAlarm, nowUs: number): Json {
  const end = 'deactivateAt' in a ? a.deactivateAt : undefined;
  return {
    node,
    name: a.name,
    message: a.message,
    details: a.details,
    duration: Math.floor(((end ?? nowUs) - a.activateAt) / 1000),
    activate_at: rfc3339(Math.floor(a.activateAt / 1000)),
    deactivate_at: end === undefined ? 'infinity' : rfc3339(Math.floor(end / 1000)),
  };
}
