// EMQX's delayed publish topic, `$delayed/<Interval>/<Topic>`: the message goes to <Topic> after
// <Interval> seconds. As EMQX (emqx_delayed): an interval of 4294967 or more is read as the Unix
// time in seconds to publish at, which may lie at most 4294967 s ahead. Pure.
import { validateTopicName, describeTopicProblem } from '../mqtt/topic.js';

export const DELAYED_PREFIX = '$delayed/';
/** EMQX's ?MAX_INTERVAL: the longest delay, in seconds (~49.7 days). */
export const MAX_DELAY_S = 4294967;

export type DelayedTopic =
  | { readonly ok: true; readonly topic: string; readonly dueAt: number; readonly interval: number }
  | { readonly ok: false; readonly why: string };

/**
 * Reads a `$delayed/...` topic published at `now` (ms). `maxLevels` is mqtt.max_topic_levels for
 * the topic it names. The interval is a whole number of seconds (EMQX drops the message when it is
 * not one; so do we, telling a v5 publisher why).
 */
export function parseDelayedTopic(topic: string, now: number, maxLevels: number): DelayedTopic {
  const rest = topic.slice(DELAYED_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return { ok: false, why: `'${clip(topic)}' names no topic after the delay ($delayed/<seconds>/<topic>)` };
  const digits = rest.slice(0, slash);
  if (!/^[0-9]{1,16}$/.test(digits)) return { ok: false, why: `'${clip(digits)}' in '${clip(topic)}' is not a whole number of seconds` };
  const target = rest.slice(slash + 1);
  const problem = validateTopicName(target, maxLevels);
  if (problem) return { ok: false, why: `'${clip(target)}' after the delay: ${describeTopicProblem(problem)}` };
  const n = Number(digits);
  if (n < MAX_DELAY_S) return { ok: true, topic: target, dueAt: now + n * 1000, interval: n };
  // A Unix time in seconds.
  const interval = n - Math.round(now / 1000);
  if (interval > MAX_DELAY_S) return { ok: false, why: `${n} is a time more than ${MAX_DELAY_S} s ahead` };
  return { ok: true, topic: target, dueAt: Math.max(now, n * 1000), interval: Math.max(0, interval) };
}

function clip(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}
