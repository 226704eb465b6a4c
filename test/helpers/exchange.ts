// Sends bytes to a listener and collects its whole answer: the tool of the tests that feed a
// server garbage and check what it says and that it closes.
import type { Socket } from 'node:net';

/**
 * Writes `bytes` (half-closing once connected) and resolves with everything the peer wrote
 * before closing; rejects if it keeps the connection open for `timeoutMs`.
 */
export function exchange(s: Socket, bytes: Buffer, timeoutMs: number, what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`${what} kept the connection open for ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('data', (c: Buffer) => got.push(c));
    // EPIPE/ECONNRESET: the peer answered (and closed) before reading all we wrote.
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(got));
    });
    s.on('connect', () => s.end(bytes));
  });
}
