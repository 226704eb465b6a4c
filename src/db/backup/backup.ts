// `emqx ctl data export | import`: the cluster's data (EMQX's "built-in database") in a tar.gz an
// operator keeps, reads and restores. EMQX's command and wording; our own layout, not EMQX's (its
// tables are Mnesia records): `<name>/META.hocon` (format, version, node, time), `<name>/emqx.conf`
// (this node's config file, for reference: an import never applies it, a config belongs to its
// node) and `<name>/tables/<table>.jsonl` (row-codec.ts).
//
// An import is checked whole before anything is written (the archive, every table's name, every
// row), then merges table by table through the replicated database: a row of the archive replaces
// the row with its key on every member, other rows stay. Nothing is half-read and then applied.
import { createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { basename, join } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { promisify } from 'node:util';
import { createGzip, gunzip } from 'node:zlib';
import { parseHocon } from '../../config/hocon/index.js';
import { makeDirs } from '../../base/make-dirs.js';
import { readTar, TarError, tarPieces, type TarEntry, type TarSource } from '../../base/tar.js';
import type { Db } from '../db.js';
import { decodeRow, encodeRow, RowCodecError } from './row-codec.js';

/** The archive layout this code writes; an archive of another format is refused, not guessed at. */
const FORMAT = 1;

/**
 * The tables a backup holds, in the order they are written and imported. Not: the login tokens'
 * signing key and revocations (a restored node would end everybody's tokens), log traces (they
 * end within hours), delayed messages (a restore would publish again what went out since, as
 * EMQX, which leaves them out too), exclusive-subscription locks (held by live clients).
 */
export const BACKUP_TABLES = ['admins', 'api_keys', 'banned', 'banned_ranges', 'authn_users', 'authn_scram_users', 'authz_rules', 'topic_metrics', 'retained'] as const;

/** The largest archive an import unpacks (it is read into memory whole, then checked). */
const MAX_UNPACKED_BYTES = 1 << 30;
/** Rows, and bytes as exported, per replicated write: each message between the members stays small. */
const WRITE_BATCH = 500;
const WRITE_BATCH_BYTES = 1 << 20;
/** Rows encoded or decoded between two turns of the event loop: clients and links keep being served. */
const SLICE = 2000;

const gunzipAsync = promisify(gunzip);

export class BackupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupError';
  }
}

export interface ExportOptions {
  readonly db: Db;
  readonly node: string;
  readonly version: string;
  /** Where the archive goes (created if missing). */
  readonly dir: string;
  /** The node's config file, copied in for reference (skipped when unreadable). */
  readonly confFile?: string;
  readonly now?: Date;
  /** One line per step, as EMQX prints them. */
  readonly say: (line: string) => void;
}

/** `emqx-export-2026-12-07-18-10-00.123` (UTC), as EMQX names them. */
export function exportName(now: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `emqx-export-${now.getUTCFullYear()}-${p(now.getUTCMonth() + 1)}-${p(now.getUTCDate())}-${p(now.getUTCHours())}-${p(now.getUTCMinutes())}-${p(now.getUTCSeconds())}.${p(now.getUTCMilliseconds(), 3)}`;
}

/**
 * Rows of `table` that belong in a backup: not the retained `$SYS` facts, which describe their
 * node. In the table's own order, as EMQX's export writes its tables: sorting 100,000 keys would
 * hold the node ~100 ms.
 */
function rowsOf(db: Db, table: string): Array<[string, unknown]> {
  const rows = db.rows(table);
  return table === 'retained' ? rows.filter(([topic]) => !topic.startsWith('$SYS/')) : rows;
}

/**
 * One table as JSON lines, a slice of rows per event-loop turn, each slice made bytes at once: the
 * pieces are written one after another, never joined (joining a large table's takes a long turn).
 */
async function tableText(table: string, rows: ReadonlyArray<[string, unknown]>): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  let parts: string[] = [];
  for (let i = 0; i < rows.length; i++) {
    if (i > 0 && i % SLICE === 0) {
      chunks.push(Buffer.from(parts.join('')));
      parts = [];
      await turn();
    }
    const [key, value] = rows[i]!;
    try {
      parts.push(encodeRow(table, key, value));
    } catch (err) {
      if (err instanceof RowCodecError) throw new BackupError(err.message);
      throw err;
    }
  }
  chunks.push(Buffer.from(parts.join('')));
  return chunks;
}

/** The archive through gzip into `file`, piece by piece, waiting whenever the stream is full. */
async function writeArchive(file: string, entries: readonly TarSource[]): Promise<void> {
  const gz = createGzip();
  const done = pipeline(gz, createWriteStream(file, { mode: 0o600 }));
  // A failed write surfaces through `done`; meanwhile nothing more is fed.
  let failed = false;
  done.catch(() => (failed = true));
  for (const piece of tarPieces(entries)) {
    if (failed) break;
    if (!gz.write(piece)) await Promise.race([once(gz, 'drain'), done]);
  }
  gz.end();
  await done;
}

/** Writes the archive; returns its path. The file appears whole (written aside, then renamed). */
export async function exportData(o: ExportOptions): Promise<string> {
  const now = o.now ?? new Date();
  const name = exportName(now);
  const file = join(o.dir, `${name}.tar.gz`);
  o.say(`Exporting data to "${file}"...`);
  const entries: TarSource[] = [];
  const mtimeMs = now.getTime();
  const meta = `format = ${FORMAT}\nversion = "${o.version}"\nedition = "ce"\nnode = "${o.node}"\ncreated_at = "${now.toISOString()}"\n`;
  entries.push({ name: `${name}/META.hocon`, data: Buffer.from(meta), mtimeMs });
  if (o.confFile !== undefined) {
    const conf = await readFile(o.confFile).catch(() => undefined);
    if (conf) {
      o.say('Exporting the node configuration (for reference: an import does not apply it)...');
      entries.push({ name: `${name}/emqx.conf`, data: conf, mtimeMs, mode: 0o600 });
    }
  }
  o.say('Exporting built-in database...');
  // Every table read in the same turn: one moment's data.
  const tables = BACKUP_TABLES.map((table) => ({ table, rows: rowsOf(o.db, table) }));
  for (const { table, rows } of tables) {
    o.say(`Exporting ${table} database table...`);
    // Password hashes and API key hashes are in here: readable by the owner only.
    entries.push({ name: `${name}/tables/${table}.jsonl`, data: await tableText(table, rows), mtimeMs, mode: 0o600 });
  }
  const partial = `${file}.partial`;
  try {
    // Not mkdir's own `recursive`: it never returns for a path under /proc (base/make-dirs.ts).
    await makeDirs(o.dir);
    await writeArchive(partial, entries);
    await rename(partial, file);
  } catch (err) {
    // A full disk or a directory that cannot be written: no half file left behind.
    await rm(partial, { force: true }).catch(() => undefined);
    throw new BackupError(`cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  o.say(`Data has been successfully exported to ${file}.`);
  return file;
}

export interface ImportOptions {
  readonly db: Db;
  readonly file: string;
  readonly say: (line: string) => void;
}

/** A row read from an archive, with the size of its line (what a replicated write carries, roughly). */
interface Row {
  readonly key: string;
  readonly value: unknown;
  readonly bytes: number;
}

interface Archive {
  readonly meta: Record<string, unknown>;
  readonly tables: ReadonlyArray<{ table: string; rows: Row[] }>;
}

/** The rows of one table file, a slice of lines per event-loop turn. */
async function tableRows(file: string, text: string): Promise<Row[]> {
  const rows: Row[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (i > 0 && i % SLICE === 0) await turn();
    try {
      const row = decodeRow(file, i + 1, lines[i]!);
      if (row) rows.push({ key: row[0], value: row[1], bytes: lines[i]!.length });
    } catch (err) {
      if (err instanceof RowCodecError) throw new BackupError(err.message);
      throw err;
    }
  }
  return rows;
}

/** Reads and checks a whole archive; BackupError saying what is wrong with it. */
export async function readArchive(file: string): Promise<Archive> {
  let packed: Buffer;
  try {
    // Only a regular file of bounded size is read: a device or a FIFO would be read forever.
    const st = await stat(file);
    if (!st.isFile()) throw new BackupError(`${file} is not a regular file`);
    if (st.size > MAX_UNPACKED_BYTES) throw new BackupError(`${file} is larger than ${MAX_UNPACKED_BYTES} bytes`);
    packed = await readFile(file);
  } catch (err) {
    if (err instanceof BackupError) throw err;
    throw new BackupError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let entries: TarEntry[];
  try {
    entries = readTar(await gunzipAsync(packed, { maxOutputLength: MAX_UNPACKED_BYTES }));
  } catch (err) {
    if (err instanceof TarError) throw new BackupError(`${basename(file)} is not a data export: ${err.message}`);
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new BackupError(`${basename(file)} unpacks to more than ${MAX_UNPACKED_BYTES} bytes`);
    throw new BackupError(`${basename(file)} is not a gzip-compressed tar archive (${(err as Error).message})`);
  }
  const tops = new Set(entries.map((e) => e.name.split('/')[0]));
  const metaEntry = entries.find((e) => /^[^/]+\/META\.hocon$/.test(e.name));
  if (tops.size !== 1 || !metaEntry) throw new BackupError(`${basename(file)} is not a data export: it needs one top directory holding META.hocon`);
  let meta: Record<string, unknown>;
  try {
    meta = parseHocon(metaEntry.data.toString('utf8'), { file: metaEntry.name }).value as Record<string, unknown>;
  } catch (err) {
    throw new BackupError(`${metaEntry.name}: ${(err as Error).message}`);
  }
  if (meta.format !== FORMAT) {
    throw new BackupError(`${basename(file)} has format ${JSON.stringify(meta.format ?? null)}; this node reads format ${FORMAT} (an export of EMQX itself cannot be imported here)`);
  }
  const known = new Set<string>(BACKUP_TABLES);
  const found = new Map<string, Row[]>();
  for (const e of entries) {
    const m = /^[^/]+\/tables\/([^/]+)\.jsonl$/.exec(e.name);
    if (!m) continue;
    const table = m[1]!;
    if (!known.has(table)) throw new BackupError(`${e.name}: unknown table ${table} (known: ${BACKUP_TABLES.join(', ')})`);
    found.set(table, await tableRows(e.name, e.data.toString('utf8')));
  }
  return { meta, tables: BACKUP_TABLES.filter((t) => found.has(t)).map((table) => ({ table, rows: found.get(table)! })) };
}

/** Checks the archive whole, then writes its rows cluster-wide, table by table. */
export async function importData(o: ImportOptions): Promise<void> {
  o.say(`Importing data from "${o.file}"...`);
  const archive = await readArchive(o.file);
  o.say('Importing built-in database...');
  for (const { table, rows } of archive.tables) {
    o.say(`Importing ${table} database table...`);
    try {
      let batch: Array<{ table: string; key: string; value: unknown }> = [];
      let bytes = 0;
      for (const r of rows) {
        if (batch.length > 0 && (batch.length >= WRITE_BATCH || bytes + r.bytes > WRITE_BATCH_BYTES)) {
          await o.db.writeMany(batch);
          batch = [];
          bytes = 0;
        }
        batch.push({ table, key: r.key, value: r.value });
        bytes += r.bytes;
      }
      if (batch.length > 0) await o.db.writeMany(batch);
    } catch (err) {
      // Rows are written by key: importing the same file again completes what this did not.
      throw new BackupError(`writing table ${table} failed (${(err as Error).message}); the tables before it are imported, an import of the same file again completes it`);
    }
  }
  o.say('Data has been imported successfully.');
}
