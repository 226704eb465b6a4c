// The one rule for missing prerequisites: skip where they are missing, fail under CI=true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HELPER = join(import.meta.dirname, 'prerequisite.ts');

function runWith(ci: string | undefined): { code: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'prereq-'));
  try {
    const file = join(dir, 'needs.test.ts');
    writeFileSync(file, `import { test } from 'node:test';\nimport { skipOrFail } from ${JSON.stringify(HELPER)};\ntest('needs a thing', (t) => skipOrFail(t, 'the thing is not installed'));\n`);
    const env: NodeJS.ProcessEnv = { ...process.env, CI: ci };
    if (ci === undefined) delete env.CI;
    // Run as a test run of its own, not as a child of this one.
    delete env.NODE_TEST_CONTEXT;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', file], { env, encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, out: r.stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a missing prerequisite skips the test, naming what is missing', () => {
  const r = runWith(undefined);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /# SKIP the thing is not installed/);
});

test('under CI=true the same test fails', () => {
  const r = runWith('true');
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /not ok 1 - needs a thing/);
  assert.match(r.out, /CI=true makes that a failure: the thing is not installed/);
});
