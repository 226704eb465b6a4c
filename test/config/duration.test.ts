import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, parseBytesize, formatDuration } from '../../src/config/duration.js';

test('durations convert to milliseconds', () => {
  const cases: Array<[unknown, number]> = [
    ['500ms', 500],
    ['15s', 15_000],
    ['2m', 120_000],
    ['24h', 86_400_000],
    ['1d', 86_400_000],
    ['1w', 604_800_000],
    ['1h30m', 5_400_000],
    ['1H', 3_600_000],
    [' 15s ', 15_000],
    ['0s', 0],
  ];
  for (const [text, ms] of cases) assert.deepEqual(parseDuration(text), { ok: true, value: ms }, String(text));
});

test('a bare integer counts in the unit the key uses', () => {
  assert.deepEqual(parseDuration(1500), { ok: true, value: 1500 });
  assert.deepEqual(parseDuration('1500'), { ok: true, value: 1500 });
  assert.deepEqual(parseDuration(4, 1000), { ok: true, value: 4000 });
  assert.deepEqual(parseDuration('4', 1000), { ok: true, value: 4000 });
});

test('malformed durations are refused with what is expected', () => {
  for (const bad of ['x', '15x', '1.5s', '-1s', 's', '', '15 s', true, 1.5, -3, [], {}]) {
    const r = parseDuration(bad);
    assert.equal(r.ok, false, JSON.stringify(bad));
    if (!r.ok) assert.match(r.reason, /duration such as 500ms, 15s/);
  }
});

test('sizes convert to bytes with binary units', () => {
  assert.deepEqual(parseBytesize('1MB'), { ok: true, value: 1_048_576 });
  assert.deepEqual(parseBytesize('512KB'), { ok: true, value: 524_288 });
  assert.deepEqual(parseBytesize('16kb'), { ok: true, value: 16_384 });
  assert.deepEqual(parseBytesize('1GB'), { ok: true, value: 1_073_741_824 });
  assert.deepEqual(parseBytesize(100), { ok: true, value: 100 });
  assert.deepEqual(parseBytesize('100'), { ok: true, value: 100 });
  assert.equal(parseBytesize('1TB').ok, false);
  assert.equal(parseBytesize('MB').ok, false);
  assert.equal(parseBytesize(1.5).ok, false);
});

test('durations print back as operators write them', () => {
  assert.equal(formatDuration(86_400_000), '24h');
  assert.equal(formatDuration(4000), '4s');
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(formatDuration(1500), '1s500ms');
  assert.equal(formatDuration(0), '0s');
  for (const ms of [1, 999, 61_001, 3_600_000, 7 * 86_400_000]) {
    assert.deepEqual(parseDuration(formatDuration(ms)), { ok: true, value: ms });
  }
});
