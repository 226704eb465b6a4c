// Starts test/fuzz/fuzz-dist-node.ts as a child process and talks to it (stdin commands,
// stdout answers). The child is stopped by PID in t.after, also when the test fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./fuzz-dist-node.ts', import.meta.url));

export interface LiveNode {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  cmd<T = unknown>(cmd: string, args?: object, timeoutMs?: number): Promise<T>;
  /** true while the process has not exited. */
  alive(): boolean;
}

/** VmRSS of a process in bytes (from /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

export async function startLiveNode(t: TestContext, name: string, base: number, extra: string[] = []): Promise<LiveNode> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', SCRIPT, '--name', name, '--base', String(base), ...extra], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  t.after(async () => {
    if (exited || child.pid === undefined) return;
    child.kill('SIGTERM');
    const gone = new Promise((r) => child.once('exit', r));
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
  });
  let nextId = 1;
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let onReady: ((pid: number) => void) | undefined;
  let onFail: ((e: Error) => void) | undefined;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const m = JSON.parse(line) as { id?: number; ok?: boolean; result?: unknown; error?: string; event?: string; pid?: number };
    if (m.event === 'ready') onReady?.(m.pid!);
    else if (m.event === 'error') onFail?.(new Error(`${name}: ${m.error}`));
    else if (m.id !== undefined) {
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      if (m.ok) w?.resolve(m.result);
      else w?.reject(new Error(`${name}: ${m.error}`));
    }
  });
  child.once('exit', (code, sig) => {
    const e = new Error(`${name} exited (code ${code}, signal ${sig})`);
    onFail?.(e);
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  });
  const pid = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not ready within 15 s`)), 15_000);
    onReady = (p) => {
      clearTimeout(timer);
      resolve(p);
    };
    onFail = (e) => {
      clearTimeout(timer);
      reject(e);
    };
  });
  onFail = undefined;
  return {
    name,
    pid,
    child,
    alive: () => !exited,
    cmd<T>(cmd: string, args: object = {}, timeoutMs = 10_000): Promise<T> {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`${name}: no answer to ${cmd} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(id, {
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v as T);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        child.stdin!.write(`${JSON.stringify({ id, cmd, ...args })}\n`);
      });
    },
  };
}
