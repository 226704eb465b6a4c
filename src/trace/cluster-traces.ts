// The cluster's log traces on this node: the rows of the replicated `trace` table (written by the
// API on any member) started and stopped in this node's tracer as their time window opens and
// closes, each writing this node's packets of the traced clients into `<data_dir>/trace/`. A
// deleted trace's file is removed on every member; so are files left by traces deleted while the
// node was down. The API reads the files through here (sizes, a window of bytes, the whole file).
import { closeSync, fstatSync, openSync, readdirSync, readSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Log } from '../base/log.js';
import { makeDirsSync } from '../base/make-dirs.js';
import type { Db } from '../db/db.js';
import type { Tracer } from '../mqtt/tracer.js';
import { TRACE_TABLE, traceFileName, traceFromStored, traceRuns, type TraceRow } from './trace-row.js';

/** A download carries at most this much of one node's file (its beginning): it crosses the link in one message. */
export const MAX_DOWNLOAD_BYTES = 32 * 1024 * 1024;
/** setTimeout's limit is ~24.8 days; a later boundary is looked at again after this. */
const MAX_TIMER_MS = 3_600_000;

export interface ClusterTracesOptions {
  readonly db: Db;
  readonly tracer: Tracer;
  /** `<data_dir>/trace`. */
  readonly dir: string;
  readonly log: Log;
  now?(): number;
}

export type CreateResult = { readonly ok: true } | { readonly ok: false; readonly code: 'ALREADY_EXISTS' | 'DUPLICATE_CONDITION' | 'BAD_REQUEST'; readonly message: string };

export class ClusterTraces {
  readonly #o: ClusterTracesOptions;
  /** Traces this node runs now: name → the type and filter it was started with. */
  readonly #running = new Map<string, { type: TraceRow['type']; filter: string }>();
  /** Traces that could not start here (logged once, tried again when the row changes). */
  readonly #failed = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #onChanged = (table: string): void => {
    if (table === TRACE_TABLE) this.reconcile();
  };
  readonly #onReset = (): void => this.reconcile();

  constructor(o: ClusterTracesOptions) {
    this.#o = o;
  }

  #now(): number {
    return this.#o.now ? this.#o.now() : Date.now();
  }

  start(): void {
    this.#o.db.on('changed', this.#onChanged);
    this.#o.db.on('reset', this.#onReset);
    this.reconcile();
  }

  stop(): void {
    this.#stopped = true;
    this.#o.db.off('changed', this.#onChanged);
    this.#o.db.off('reset', this.#onReset);
    clearTimeout(this.#timer);
    for (const [, t] of this.#running) this.#o.tracer.stop(t.type, t.filter);
    this.#running.clear();
  }

  /** Every trace of the cluster, newest start first. */
  list(): TraceRow[] {
    const out: TraceRow[] = [];
    for (const [, v] of this.#o.db.list(TRACE_TABLE)) {
      const r = traceFromStored(v);
      if (r) out.push(r);
    }
    return out.sort((a, b) => b.startAt - a.startAt || (a.name < b.name ? -1 : 1));
  }

  get(name: string): TraceRow | undefined {
    return traceFromStored(this.#o.db.get(TRACE_TABLE, name));
  }

  /** A new trace, refused as EMQX refuses it: a name taken, or the same type and filter running. */
  async create(row: TraceRow, max: number): Promise<CreateResult> {
    const all = this.list();
    if (all.some((r) => r.name === row.name)) return { ok: false, code: 'ALREADY_EXISTS', message: `${row.name} already exists` };
    const now = this.#now();
    const same = all.find((r) => r.type === row.type && r.filter === row.filter && r.enable && r.endAt > now);
    if (same) return { ok: false, code: 'DUPLICATE_CONDITION', message: `${same.name} duplication condition (the same ${row.type} is traced)` };
    if (all.filter((r) => r.enable && r.endAt > now).length >= max) return { ok: false, code: 'BAD_REQUEST', message: `max_limit_reached: at most ${max} traces at once` };
    await this.#o.db.write(TRACE_TABLE, row.name, row);
    return { ok: true };
  }

  /** False when there is no such trace. */
  async disable(name: string): Promise<boolean> {
    const r = this.get(name);
    if (!r) return false;
    await this.#o.db.write(TRACE_TABLE, name, { ...r, enable: false });
    return true;
  }

  async delete(name: string): Promise<boolean> {
    if (!this.get(name)) return false;
    await this.#o.db.write(TRACE_TABLE, name, undefined);
    return true;
  }

  async clear(): Promise<void> {
    await this.#o.db.writeMany(this.list().map((r) => ({ table: TRACE_TABLE, key: r.name, value: undefined })));
  }

  /** Starts what should run, stops what should not, removes files of traces gone, sets the next wake-up. */
  reconcile(): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    const now = this.#now();
    const rows = this.list();
    const names = new Set(rows.map((r) => r.name));
    for (const [name, t] of this.#running) {
      const r = rows.find((x) => x.name === name);
      if (r && traceRuns(r, now) && r.type === t.type && r.filter === t.filter) continue;
      this.#o.tracer.stop(t.type, t.filter);
      this.#running.delete(name);
    }
    for (const name of this.#failed) if (!names.has(name)) this.#failed.delete(name);
    let next = Number.POSITIVE_INFINITY;
    for (const r of rows) {
      if (r.startAt > now) next = Math.min(next, r.startAt);
      else if (r.endAt > now && r.enable) next = Math.min(next, r.endAt);
      if (!traceRuns(r, now) || this.#running.has(r.name) || this.#failed.has(r.name)) continue;
      this.#begin(r);
    }
    this.#removeStrayFiles(rows);
    if (next !== Number.POSITIVE_INFINITY) {
      this.#timer = setTimeout(() => this.reconcile(), Math.min(MAX_TIMER_MS, Math.max(0, next - now) + 5));
      this.#timer.unref();
    }
  }

  #begin(r: TraceRow): void {
    const path = join(this.#o.dir, traceFileName(r));
    try {
      makeDirsSync(this.#o.dir);
    } catch (err) {
      this.#fail(r, `cannot create ${this.#o.dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      return;
    }
    const res = this.#o.tracer.start({ type: r.type, filter: r.filter, level: 'debug', path, formatter: r.formatter, payload: r.payloadEncode });
    if (!res.ok) return this.#fail(r, res.error);
    this.#running.set(r.name, { type: r.type, filter: r.filter });
    this.#o.log.info({ trace: r.name, [r.type]: r.filter, file: path }, `trace ${r.name} started`);
  }

  #fail(r: TraceRow, why: string): void {
    this.#failed.add(r.name);
    this.#o.log.warn({ trace: r.name, [r.type]: r.filter, err: why }, `trace ${r.name} could not start on this node: ${why}`);
  }

  /** Files of traces that are no longer in the table (deleted here or while this node was down). */
  #removeStrayFiles(rows: readonly TraceRow[]): void {
    let files: string[];
    try {
      files = readdirSync(this.#o.dir);
    } catch {
      return;
    }
    const keep = new Set(rows.map(traceFileName));
    for (const f of files) {
      if (!f.startsWith('trace_') || !f.endsWith('.log') || keep.has(f)) continue;
      try {
        rmSync(join(this.#o.dir, f), { force: true });
      } catch (err) {
        this.#o.log.warn({ file: f, err: String(err) }, 'could not remove the file of a deleted trace');
      }
    }
  }

  #path(name: string): string | undefined {
    const r = this.get(name);
    return r ? join(this.#o.dir, traceFileName(r)) : undefined;
  }

  /** This node's file of a trace: size and last change; undefined when the trace is unknown. */
  detail(name: string): { size: number; mtime: number } | undefined {
    const p = this.#path(name);
    if (p === undefined) return undefined;
    try {
      const s = statSync(p);
      return { size: s.size, mtime: s.mtimeMs };
    } catch {
      return { size: 0, mtime: 0 };
    }
  }

  /** Sizes of this node's files, by trace name. */
  sizes(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.list()) out[r.name] = this.detail(r.name)?.size ?? 0;
    return out;
  }

  /** Up to `bytes` of this node's file from `position`; `size` is the file's. */
  read(name: string, position: number, bytes: number): { data: Buffer; size: number } | undefined {
    const p = this.#path(name);
    if (p === undefined) return undefined;
    let fd: number;
    try {
      fd = openSync(p, 'r');
    } catch {
      return { data: Buffer.alloc(0), size: 0 };
    }
    try {
      const size = fstatSync(fd).size;
      const want = Math.max(0, Math.min(bytes, size - position));
      const data = Buffer.alloc(want);
      let got = 0;
      while (got < want) {
        const n = readSync(fd, data, got, want - got, position + got);
        if (n === 0) break;
        got += n;
      }
      return { data: data.subarray(0, got), size };
    } finally {
      closeSync(fd);
    }
  }

  /** This node's whole file (at most MAX_DOWNLOAD_BYTES of it), for a download. */
  file(name: string): { name: string; data: Buffer; mtime: number } | undefined {
    const r = this.get(name);
    if (!r) return undefined;
    const read = this.read(name, 0, MAX_DOWNLOAD_BYTES);
    return { name: traceFileName(r), data: read?.data ?? Buffer.alloc(0), mtime: this.detail(name)?.mtime ?? 0 };
  }
}
