// Typed failures of the storage engine. Each carries a stable code (for logs and the CLI) and a
// message an operator can act on without reading the source.

/** A file of the store is damaged in a way recovery must not paper over. */
export class StoreCorruptError extends Error {
  readonly code = 'store_corrupt';
  /** Absolute path of the damaged file. */
  readonly file: string;
  /** What is wrong, and where in the file (byte offset) when that is known. */
  readonly detail: string;

  constructor(file: string, detail: string, dir?: string) {
    super(
      `store file ${file} is damaged: ${detail}. ` +
        'The node refuses to serve a damaged database. ' +
        (dir
          ? `If other cluster members are running, move ${dir} aside and restart: the node rejoins and copies the cluster's data; ` +
            `otherwise restore ${dir} from a backup. See docs/storage.md, "When the node refuses to start".`
          : 'See docs/storage.md, "When the node refuses to start".'),
    );
    this.name = 'StoreCorruptError';
    this.file = file;
    this.detail = detail;
  }
}

/**
 * The store hit an I/O error after which it cannot tell what reached the disk (a failed fsync):
 * it stops accepting writes; a restart recovers from the last durable state.
 */
export class StoreFailedError extends Error {
  readonly code = 'store_failed';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreFailedError';
  }
}

/** An operation on a store that is closed (or closing). */
export class StoreClosedError extends Error {
  readonly code = 'store_closed';
  constructor(dir: string) {
    super(`store ${dir} is closed`);
    this.name = 'StoreClosedError';
  }
}

/** Another process (or another Store in this process) has the directory open. */
export class StoreLockedError extends Error {
  readonly code = 'store_locked';
  constructor(dir: string, pid: number) {
    super(
      `store ${dir} is in use by process ${pid}${pid === process.pid ? ' (this process)' : ''}; ` +
        'two processes must never share a database directory: stop the other one first',
    );
    this.name = 'StoreLockedError';
  }
}

/** A record the store cannot accept (bad table/key, value that cannot be serialized, too large). */
export class StoreRecordError extends TypeError {
  readonly code = 'store_bad_record';
  constructor(message: string) {
    super(message);
    this.name = 'StoreRecordError';
  }
}
