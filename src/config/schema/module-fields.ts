// EMQX's MQTT extensions configured as arrays: `rewrite` (topic rewrite rules, emqx_modules_schema)
// and `auto_subscribe.topics` (emqx_auto_subscribe_schema). Each entry is checked key by key; a
// regular expression that does not compile, or a topic filter that is not one, is refused at
// load with the entry's position.
import { validateFilter, describeTopicProblem } from '../../mqtt/topic.js';
import { Entry, isObj, show, type Converted } from './entry.js';
import type { Field } from './fields.js';

function entries(v: unknown, what: string): { items: unknown[] } | { problem: string } {
  const items = v === undefined ? [] : isObj(v) ? [v] : v;
  return Array.isArray(items) ? { items } : { problem: `${show(v)} is not an array of ${what}` };
}

/** `rewrite = [{action, source_topic, re, dest_topic}]`. */
export function convertRewrite(v: unknown): Converted {
  const list = entries(v, 'rewrite rules');
  if ('problem' in list) return { ok: false, reason: list.problem };
  const problems: string[] = [];
  const out: unknown[] = [];
  list.items.forEach((item, i) => {
    const at = `[${i + 1}]`;
    if (!isObj(item)) return problems.push(`${at}: ${show(item)} is not an object`);
    const e = new Entry(at, item);
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
    e.rest();
    problems.push(...e.problems);
    out.push({ action, source_topic: source, dest_topic: dest, re });
  });
  return problems.length > 0 ? { ok: false, reason: problems.join('; ') } : { ok: true, value: out };
}

/** `auto_subscribe.topics = [{topic, qos, rh, rap, nl}]`. */
export function convertAutoSubscribeTopics(v: unknown): Converted {
  const list = entries(v, 'topics');
  if ('problem' in list) return { ok: false, reason: list.problem };
  const problems: string[] = [];
  const out: unknown[] = [];
  list.items.forEach((item, i) => {
    const at = `[${i + 1}]`;
    if (!isObj(item)) return problems.push(`${at}: ${show(item)} is not an object`);
    const e = new Entry(at, item);
    const topic = e.str('topic');
    if (topic === undefined) e.bad('topic', 'is required (a topic filter; ${clientid}, ${username}, ${host}, ${port} allowed)');
    else {
      // Checked with the placeholders filled in, as a client's filter will be.
      const p = validateFilter(topic.replace(/\$\{(clientid|username|host|port)\}/g, 'x'), Number.POSITIVE_INFINITY);
      if (p) e.bad('topic', `'${topic}' is not a topic filter: ${describeTopicProblem(p)}`);
    }
    const qos = e.int('qos', 0, 2, 0);
    const rh = e.int('rh', 0, 2, 0);
    const rap = e.int('rap', 0, 1, 0);
    const nl = e.int('nl', 0, 1, 0);
    e.rest();
    problems.push(...e.problems);
    out.push({ topic, qos, rh, rap, nl });
  });
  return problems.length > 0 ? { ok: false, reason: problems.join('; ') } : { ok: true, value: out };
}

export const REWRITE_FIELD: Field = { type: { kind: 'custom', expected: 'an array of rewrite rules', convert: (v) => convertRewrite(v) }, default: [] };

export const AUTO_SUBSCRIBE_FIELDS: Readonly<Record<string, Field>> = {
  topics: { type: { kind: 'custom', expected: 'an array of topics', convert: (v) => convertAutoSubscribeTopics(v) }, default: [] },
};
