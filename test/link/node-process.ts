// Drives test/helpers/dist-node.ts as a child process (integration tests and the benchmark).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../helpers/dist-node.ts', import.meta.url));

export interface NodeEvent {
  readonly event: string;
  readonly node?: string;
  readonly reason?: string;
  readonly detail?: string;
  readonly at?: number;
  readonly [k: string]: unknown;
}

export interface DistProcessOptions {
  /**
   * The program speaking this protocol: by default the TypeScript source of dist-node, run through
   * tsx; a `.js` file (a compiled copy, as the benchmark uses) runs with plain `node`, as the
   * product does.
   */
  readonly script?: string;
  /** Flags for node itself, e.g. `--expose-gc`. */
  readonly nodeArgs?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

export class DistProcess {
  readonly events: NodeEvent[] = [];
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly answers = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly watchers = new Set<() => void>();
  private exited = false;
  readonly exit: Promise<void>;

  constructor(readonly name: string, args: readonly string[], opts: DistProcessOptions = {}) {
    const script = opts.script ?? SCRIPT;
    const entry = script.endsWith('.ts') ? ['--import', 'tsx', script] : [script];
    this.child = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...entry, '--name', name, ...args], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: opts.env ?? process.env,
    });
    this.exit = new Promise((r) => this.child.once('exit', () => {
      this.exited = true;
      for (const a of this.answers.values()) a.reject(new Error(`${name} exited`));
      this.answers.clear();
      this.notify();
      r();
    }));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      let m: { id?: number; ok?: boolean; result?: unknown; error?: string; code?: string } & NodeEvent;
      try {
        m = JSON.parse(line) as typeof m;
      } catch {
        return;
      }
      if (m.id !== undefined) {
        const a = this.answers.get(m.id);
        this.answers.delete(m.id);
        if (m.ok) a?.resolve(m.result);
        else a?.reject(Object.assign(new Error(m.error ?? 'failed'), { code: m.code }));
      } else {
        this.events.push(m);
        this.notify();
      }
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** true while the process has not exited. */
  alive(): boolean {
    return !this.exited;
  }

  /** Starts a node and waits until it listens. */
  static async start(name: string, args: readonly string[], opts: DistProcessOptions & { timeoutMs?: number } = {}): Promise<DistProcess> {
    const timeoutMs = opts.timeoutMs ?? 15_000;
    const p = new DistProcess(name, args, opts);
    try {
      const e = await p.waitFor((ev) => ev.event === 'ready' || ev.event === 'error', timeoutMs);
      if (e.event === 'error') throw new Error(`${name} failed to start: ${String(e.error)}`);
    } catch (err) {
      p.kill();
      throw err;
    }
    return p;
  }

  cmd<T = unknown>(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.name} has exited`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.answers.delete(id);
        reject(new Error(`${this.name}: ${cmd} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.answers.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.stdin!.write(`${JSON.stringify({ id, cmd, ...args })}\n`);
    });
  }

  /** The first event (already seen or future) matching pred. */
  waitFor(pred: (e: NodeEvent) => boolean, timeoutMs: number, from = 0): Promise<NodeEvent> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const e = this.events.slice(from).find(pred);
        if (e) {
          cleanup();
          resolve(e);
          return true;
        }
        if (this.exited) {
          cleanup();
          reject(new Error(`${this.name} exited while waiting`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.name}: awaited event not seen within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.watchers.delete(watcher);
      };
      const watcher = (): void => void check();
      this.watchers.add(watcher);
      check();
    });
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.exited) process.kill(this.pid, sig);
  }

  /** SIGCONT first (a stopped process cannot die of SIGTERM), then SIGKILL. */
  kill(): void {
    if (this.exited) return;
    try {
      process.kill(this.pid, 'SIGCONT');
      process.kill(this.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  private notify(): void {
    for (const w of [...this.watchers]) w();
  }
}
