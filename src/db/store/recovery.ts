// Opening a store directory: create it, or rebuild the in-memory index from the snapshot and logs
// the MANIFEST names, cut a torn final batch, and refuse (StoreCorruptError) on any other damage.
// Leftovers of an interrupted compaction, replace or state write are removed only after the
// recovery succeeded, so a store that refuses to open is left exactly as found.
import { readdir, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { StoreCorruptError } from './errors.js';
import { MAGIC_BYTES, MANIFEST_FILE, fsyncDir, isTempName, logName, parseLogName, parseSnapshotName, snapshotName } from './files.js';
import { LogFile, replayLog } from './log.js';
import { readManifest, writeManifest, type Manifest } from './manifest.js';
import { loadSnapshot } from './snapshot.js';
import { TableIndex } from './table-index.js';
import { makeDirs } from '../../base/make-dirs.js';

export interface Recovered {
  readonly manifest: Manifest;
  readonly index: TableIndex;
  readonly log: LogFile;
  /** Bytes of batches in the logs on top of the snapshot (what compaction would fold in). */
  readonly logBytes: number;
  readonly snapshotBytes: number;
  /** Next free snapshot number. */
  readonly nextSnapshot: number;
}

/** Creates `dir` (and missing parents) durably: each new entry's parent directory is synced. */
export async function ensureDir(dir: string): Promise<void> {
  const created = await makeDirs(dir);
  if (created === undefined) return;
  for (let d = dir; d !== dirname(created); d = dirname(d)) await fsyncDir(dirname(d));
}

export async function recover(dir: string, logger?: Logger): Promise<Recovered> {
  const names = await readdir(dir);
  const logs = names.map(parseLogName).filter((n): n is number => n !== undefined).sort((a, b) => a - b);
  const snapshots = names.map(parseSnapshotName).filter((n): n is number => n !== undefined);
  let manifest = await readManifest(dir);

  if (!manifest) {
    // A brand-new store is created log first, manifest second: a directory with no manifest may
    // hold that first empty log, nothing else.
    const fresh = snapshots.length === 0 && logs.every((n) => n === 1) && (logs.length === 0 || (await stat(join(dir, logName(1)))).size <= MAGIC_BYTES);
    if (!fresh) {
      throw new StoreCorruptError(join(dir, MANIFEST_FILE), `the MANIFEST is missing but the directory holds data files (${[...logs.map(logName), ...snapshots.map(snapshotName)].join(', ')})`, dir);
    }
    if (logs.length > 0) await unlink(join(dir, logName(1)));
    const log = await LogFile.create(dir, 1);
    await fsyncDir(dir);
    manifest = { format: 1, snapshot: null, firstLog: 1 };
    await writeManifest(dir, manifest);
    logger?.info({ dir }, 'store: created a new empty database');
    return { manifest, index: new TableIndex(), log, logBytes: 0, snapshotBytes: 0, nextSnapshot: 1 };
  }

  const index = new TableIndex();
  const snapshotBytes = manifest.snapshot === null ? 0 : await loadSnapshot(dir, manifest.snapshot, index);

  const live = logs.filter((n) => n >= manifest.firstLog);
  if (live[0] !== manifest.firstLog) {
    throw new StoreCorruptError(join(dir, logName(manifest.firstLog)), 'the log named by the MANIFEST is missing', dir);
  }
  for (let i = 1; i < live.length; i++) {
    if (live[i] !== live[i - 1]! + 1) throw new StoreCorruptError(join(dir, logName(live[i - 1]! + 1)), `log missing between ${logName(live[i - 1]!)} and ${logName(live[i]!)}`, dir);
  }
  // The newest log that holds anything may end in a torn batch even when empty logs follow it
  // (a log whose creation failed while appends went on in the previous one).
  let tornAllowed = live.length - 1;
  while (tornAllowed > 0 && (await stat(join(dir, logName(live[tornAllowed]!)))).size <= MAGIC_BYTES) tornAllowed--;
  let logBytes = 0;
  let lastSize = MAGIC_BYTES;
  let batches = 0;
  for (let i = 0; i < live.length; i++) {
    const r = await replayLog(dir, live[i]!, index, i >= tornAllowed, logger);
    logBytes += r.size - MAGIC_BYTES;
    lastSize = r.size;
    batches += r.batches;
  }
  const last = live[live.length - 1]!;
  const log = await LogFile.openForAppend(dir, last, lastSize);

  // Leftovers: logs folded into the snapshot, snapshots no longer named, temp files.
  const stale = [
    ...logs.filter((n) => n < manifest.firstLog).map(logName),
    ...snapshots.filter((n) => n !== manifest.snapshot).map(snapshotName),
    ...names.filter(isTempName),
  ];
  for (const f of stale) await unlink(join(dir, f)).catch(() => undefined);
  if (stale.length > 0) {
    await fsyncDir(dir);
    logger?.info({ dir, removed: stale }, 'store: removed leftovers of an interrupted compaction or replace');
  }
  logger?.info({ dir, records: index.size(), snapshot: manifest.snapshot, logs: live.length, batches }, 'store: opened');
  return { manifest, index, log, logBytes, snapshotBytes, nextSnapshot: Math.max(0, ...snapshots) + 1 };
}
