// EMQX's MQTT extensions configured as arrays: `rewrite` (topic rewrite rules, emqx_modules_schema),
// `topic_metrics` (the topics metered from the start) and `auto_subscribe.topics`
// (emqx_auto_subscribe_schema). Each entry is checked key by key; a
// regular expression that does not compile, or a topic filter that is not one, is refused at
// load with the entry's position.
import { validateFilter, validateTopicName, describeTopicProblem } from '../../mqtt/topic.js';
import { Entry, isObj, show, type Converted } from './entry.js';
import type { Field } from './fields.js';

/** Each entry of an array read by `read` (one object alone is an array of one), problems collected. */
function eachEntry(v: unknown, what: string, read: (e: Entry) => unknown): Converted {
  const items = v === undefined ? [] : isObj(v) ? [v] : v;
  if (!Array.isArray(items)) return { ok: false, reason: `${show(v)} is not an array of ${what}` };
  const problems: string[] = [];
  const out: unknown[] = [];
  items.forEach((item, i) => {
    const at = `[${i + 1}]`;
    if (!isObj(item)) return problems.push(`${at}: ${show(item)} is not an object`);
    const e = new Entry(at, item);
    const value = read(e);
    e.rest();
    problems.push(...e.problems);
    out.push(value);
  });
  return problems.length > 0 ? { ok: false, reason: problems.join('; ') } : { ok: true, value: out };
}

/** `rewrite = [{action, source_topic, re, dest_topic}]`. */
export function convertRewrite(v: unknown): Converted {
  return eachEntry(v, 'rewrite rules', (e) => {
    const action = e.oneOf('action', ['publish', 'subscribe', 'all']);
    const source = e.str('source_topic');
    if (source === undefined) e.bad('source_topic', 'is required (a topic filter)');
    else {
      const p = validateFilter(source, Number.POSITIVE_INFINITY);
      if (p) e.bad('source_topic', `'${source}' is not a topic filter: ${describeTopicProblem(p)}`);
    }
    const dest = e.str('dest_topic');
    if (dest === undefined) e.bad('dest_topic', 'is required');
    const re = e.str('re');
    if (re === undefined) e.bad('re', 'is required (a regular expression)');
    else {
      try {
        new RegExp(re);
      } catch (err) {
        e.bad('re', `'${re}' is not a regular expression: ${(err as Error).message}`);
      }
    }
    return { action, source_topic: source, dest_topic: dest, re };
  });
}

/** `auto_subscribe.topics = [{topic, qos, rh, rap, nl}]`. */
export function convertAutoSubscribeTopics(v: unknown): Converted {
  return eachEntry(v, 'topics', (e) => {
    const topic = e.str('topic');
    if (topic === undefined) e.bad('topic', 'is required (a topic filter; ${clientid}, ${username}, ${host}, ${port} allowed)');
    else {
      // Checked with the placeholders filled in, as a client's filter will be.
      const p = validateFilter(topic.replace(/\$\{(clientid|username|host|port)\}/g, 'x'), Number.POSITIVE_INFINITY);
      if (p) e.bad('topic', `'${topic}' is not a topic filter: ${describeTopicProblem(p)}`);
    }
    return { topic, qos: e.int('qos', 0, 2, 0), rh: e.int('rh', 0, 2, 0), rap: e.int('rap', 0, 1, 0), nl: e.int('nl', 0, 1, 0) };
  });
}

/** `topic_metrics = [{topic}]`: topic names (no wildcards), at most 512. */
export function convertTopicMetrics(v: unknown): Converted {
  const r = eachEntry(v, 'topics', (e) => {
    const topic = e.str('topic');
    if (topic === undefined) e.bad('topic', 'is required (a topic name)');
    else {
      const p = validateTopicName(topic, Number.POSITIVE_INFINITY);
      if (p) e.bad('topic', `'${topic}' is not a topic name (wildcards are not metered): ${describeTopicProblem(p)}`);
    }
    return { topic };
  });
  if (r.ok && (r.value as unknown[]).length > 512) return { ok: false, reason: `${(r.value as unknown[]).length} topics: at most 512 are metered` };
  return r;
}

export const TOPIC_METRICS_FIELD: Field = { type: { kind: 'custom', expected: 'an array of topics', convert: (v) => convertTopicMetrics(v) }, default: [] };

export const REWRITE_FIELD: Field = { type: { kind: 'custom', expected: 'an array of rewrite rules', convert: (v) => convertRewrite(v) }, default: [] };

export const AUTO_SUBSCRIBE_FIELDS: Readonly<Record<string, Field>> = {
  topics: { type: { kind: 'custom', expected: 'an array of topics', convert: (v) => convertAutoSubscribeTopics(v) }, default: [] },
};
