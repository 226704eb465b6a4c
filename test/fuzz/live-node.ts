// Starts test/fuzz/fuzz-dist-node.ts as a child process and talks to it over the same stdin/stdout
// protocol as the other test nodes. The child is stopped by PID in t.after, also when the test
// fails.
import { readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DistProcess } from '../link/node-process.js';

const SCRIPT = fileURLToPath(new URL('./fuzz-dist-node.ts', import.meta.url));

/** VmRSS of a process in bytes (from /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

export async function startLiveNode(t: TestContext, name: string, base: number, extra: string[] = []): Promise<DistProcess> {
  // --expose-gc: the memory checks measure "back near baseline" without waiting for V8.
  const node = await DistProcess.start(name, ['--base', String(base), ...extra], { script: SCRIPT, nodeArgs: ['--expose-gc'] });
  t.after(async () => {
    node.kill();
    await node.exit;
  });
  return node;
}
