// The crash-safe storage engine under the cluster database (docs/storage.md).
export { Store, type StoreOptions, type ReplaceHandle, type StoreStats } from './store.js';
export type { StoredRecord } from './record.js';
export { StoreCorruptError, StoreFailedError, StoreClosedError, StoreLockedError, StoreRecordError } from './errors.js';
