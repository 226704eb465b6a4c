// The stdin/stdout protocol of the test node processes (dist-node.ts, fuzz-dist-node.ts): one JSON
// command per line in, one JSON reply or event per line out, so a test can drive a real process.
import { createInterface } from 'node:readline';
import type { Dist } from '../../src/link/index.js';

export function out(o: object): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

/**
 * Starts `dist`, prints `{event:'ready'}`, then answers each command line with
 * `{id, ok, result}` or `{id, ok:false, error, code}`. `stop` (here, for every node program)
 * stops the node and exits; so does the end of stdin.
 */
export async function serveCommands<C extends { id: number; cmd: string }>(dist: Dist, run: (c: C) => Promise<unknown>): Promise<void> {
  try {
    await dist.start();
  } catch (e) {
    out({ event: 'error', error: (e as Error).message });
    process.exit(1);
  }
  out({ event: 'ready', pid: process.pid });
  createInterface({ input: process.stdin }).on('line', (line) => {
    let c: C;
    try {
      c = JSON.parse(line) as C;
    } catch {
      out({ event: 'error', error: `bad command line: ${line.slice(0, 100)}` });
      return;
    }
    const answer = c.cmd === 'stop'
      ? dist.stop().then(() => {
        setImmediate(() => process.exit(0));
        return null;
      })
      : run(c);
    answer.then(
      (result) => out({ id: c.id, ok: true, result }),
      (e: unknown) => out({ id: c.id, ok: false, error: (e as Error).message, code: (e as { code?: string }).code }),
    );
  });
  process.stdin.on('end', () => void dist.stop().then(() => process.exit(0)));
}
