// How a detached daemon tells `emqx start` it is ready (or why it is not): one JSON line on an
// inherited pipe, then the pipe is closed. EOF without a line means the daemon died first.
import { closeSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';

export type ReadyMessage =
  | { readonly ok: true; readonly pid: number; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly error: string };

export function sendReadiness(fd: number, msg: ReadyMessage): void {
  try {
    writeSync(fd, `${JSON.stringify(msg)}\n`);
    closeSync(fd);
  } catch {
    // `emqx start` gave up waiting (or was killed): nobody to tell.
  }
}

export type ReadyOutcome = ReadyMessage | { readonly ok: false; readonly error?: undefined; readonly eof: true } | { readonly timeout: true };

/** Reads the daemon's readiness line, bounded by `timeoutMs`. */
export function awaitReadiness(stream: Readable, timeoutMs: number): Promise<ReadyOutcome> {
  return new Promise((resolve) => {
    let text = '';
    const done = (o: ReadyOutcome): void => {
      clearTimeout(timer);
      stream.removeAllListeners('data');
      stream.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => done({ timeout: true }), timeoutMs);
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      text += chunk;
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      try {
        done(JSON.parse(text.slice(0, nl)) as ReadyMessage);
      } catch {
        done({ ok: false, error: `unreadable readiness report: ${text.slice(0, nl).slice(0, 200)}` });
      }
    });
    stream.once('end', () => done({ ok: false, eof: true }));
    stream.once('error', () => done({ ok: false, eof: true }));
  });
}
