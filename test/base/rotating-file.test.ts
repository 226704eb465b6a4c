import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRotatingFile } from '../../src/base/rotating-file.js';

test('rotates by size, keeps emqx.log as the live file and at most `keep` old ones', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rot-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'emqx.log');
  const dest = createRotatingFile({ file, maxBytes: 1000, keep: 2 });
  const line = (i: number): string => `${JSON.stringify({ i, pad: 'x'.repeat(80) })}\n`;
  for (let i = 0; i < 60; i++) dest.write(line(i));
  dest.end();
  assert.deepEqual(readdirSync(dir).sort(), ['emqx.log', 'emqx.log.1', 'emqx.log.2']);
  // Nothing lost within what is kept: lines are consecutive from the oldest kept file to the live one.
  const all = [readFileSync(`${file}.2`, 'utf8'), readFileSync(`${file}.1`, 'utf8'), readFileSync(file, 'utf8')].join('');
  const nums = all.trim().split('\n').map((l) => (JSON.parse(l) as { i: number }).i);
  assert.equal(nums.at(-1), 59);
  nums.forEach((n, k) => k > 0 && assert.equal(n, nums[k - 1]! + 1));
  assert.ok(!existsSync(`${file}.3`));
});

test('a write that fails (disk full: /dev/full) drops the line, is reported once per interval, and never throws', () => {
  const reports: string[] = [];
  const dest = createRotatingFile({ file: '/dev/full', maxBytes: 100, report: (what, err, n) => reports.push(`${what}: ${err.message} (${n} dropped)`) });
  for (let i = 0; i < 1000; i++) dest.write(`line ${i} ${'x'.repeat(50)}\n`);
  dest.end();
  assert.equal(reports.length, 1);
  assert.equal(reports[0], 'write: ENOSPC: no space left on device, write (1 dropped)');
});
