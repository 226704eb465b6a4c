// Polling helpers for integration tests that watch a cluster converge through the real CLI.
import assert from 'node:assert/strict';
import type { TestNode } from './launcher.js';
import { formatStatusLine } from '../../src/cluster/status-format.js';

export interface ClusterStatus {
  running_nodes: string[];
  stopped_nodes: string[];
}

/**
 * What `cluster status` prints on stdout for these lists: EMQX's `Cluster status: ~p` (its layout
 * is pinned against Erlang in test/cluster/erl-pretty.test.ts).
 */
export function statusText(running: readonly string[], stopped: readonly string[] = []): string {
  return `${formatStatusLine({ running, stopped })}\n`;
}

/** `cluster status --json` of one node. */
export async function statusOf(n: TestNode): Promise<ClusterStatus> {
  return JSON.parse((await n.ctl(['cluster', 'status', '--json'])).stdout) as ClusterStatus;
}

/** Polls `f` every 150 ms until it holds; fails the test after `ms`. */
export async function waitFor(what: string, f: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}
