// A trace as POST /api/v5/trace asks for it: EMQX's names, types, times and defaults, and the
// status a row has at a given time. Pure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TRACE_MS, traceFileName, traceFromRequest, traceFromStored, traceStatus, type TraceRow } from '../../src/trace/trace-row.js';

const NOW = Date.UTC(2026, 11, 7, 8, 0, 0);

test('a trace request: defaults, times as RFC 3339 or epoch seconds, and every refusal named', () => {
  const r = traceFromRequest({ name: 'dev-1_trace', type: 'clientid', clientid: 'dev1' }, NOW) as TraceRow;
  assert.deepEqual(r, { name: 'dev-1_trace', type: 'clientid', filter: 'dev1', startAt: NOW, endAt: NOW + DEFAULT_TRACE_MS, enable: true, payloadEncode: 'text', formatter: 'text' });
  assert.equal(traceFileName(r), `trace_dev-1_trace_${NOW / 1000}.log`);
  const timed = traceFromRequest({ name: 't', type: 'topic', topic: 'a/#', start_at: '2026-12-07T09:00:00Z', end_at: NOW / 1000 + 7200, payload_encode: 'hidden', formatter: 'json' }, NOW) as TraceRow;
  assert.deepEqual([timed.startAt, timed.endAt, timed.payloadEncode, timed.formatter], [NOW + 3_600_000, NOW + 7_200_000, 'hidden', 'json']);
  const why = (b: Record<string, unknown>): string => (traceFromRequest(b, NOW) as { error: string }).error;
  assert.match(why({ name: '1x', type: 'clientid', clientid: 'c' }), /^name:/);
  assert.match(why({ name: 'a b', type: 'clientid', clientid: 'c' }), /^name:/);
  assert.match(why({ name: 'x'.repeat(257), type: 'clientid', clientid: 'c' }), /^name:/);
  assert.match(why({ name: 'x', type: 'rule', clientid: 'c' }), /^type:/);
  assert.match(why({ name: 'x', type: 'clientid' }), /^clientid: required/);
  assert.match(why({ name: 'x', type: 'topic', topic: 'a/#/b' }), /^topic:/);
  assert.match(why({ name: 'x', type: 'ip_address', ip_address: '10.0.0' }), /^ip_address:/);
  assert.match(why({ name: 'x', type: 'clientid', clientid: 'c', start_at: 'soon' }), /^start_at:/);
  assert.match(why({ name: 'x', type: 'clientid', clientid: 'c', start_at: NOW / 1000 + 10, end_at: NOW / 1000 + 5 }), /after start_at/);
  assert.match(why({ name: 'x', type: 'clientid', clientid: 'c', start_at: NOW / 1000 - 100, end_at: NOW / 1000 - 10 }), /already passed/);
  assert.match(why({ name: 'x', type: 'clientid', clientid: 'c', payload_encode: 'base64' }), /^payload_encode:/);
});

test('status: waiting before the start, running inside the window while enabled, stopped after or when stopped', () => {
  const r = traceFromRequest({ name: 'w', type: 'ip_address', ip_address: '::1', start_at: NOW / 1000 + 60, end_at: NOW / 1000 + 120 }, NOW) as TraceRow;
  assert.equal(traceStatus(r, NOW), 'waiting');
  assert.equal(traceStatus(r, NOW + 60_000), 'running');
  assert.equal(traceStatus(r, NOW + 120_000), 'stopped');
  assert.equal(traceStatus({ ...r, enable: false }, NOW + 90_000), 'stopped');
  assert.deepEqual(traceFromStored(JSON.parse(JSON.stringify(r))), r);
  assert.equal(traceFromStored({ name: 'x' }), undefined);
});
