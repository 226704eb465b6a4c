// Tests that need something from the machine (root, iptables, Erlang, Java, a C compiler, the
// shared corpus) skip themselves where it is missing, saying what; under CI=true they fail
// instead, so a CI image that lost a package cannot pass by skipping.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';

export function inCi(): boolean {
  return process.env.CI === 'true';
}

/** Skips the test naming what is missing (`return skipOrFail(t, why)`), or fails it under CI=true. */
export function skipOrFail(t: TestContext, missing: string): void {
  if (inCi()) assert.fail(`prerequisite missing, and CI=true makes that a failure: ${missing}`);
  t.skip(missing);
}
