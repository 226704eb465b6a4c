// Shared helpers of the storage engine tests: throwaway directories, a log capture, records.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { pino, type Logger } from 'pino';
import type { StoredRecord } from '../../../src/db/store/index.js';

export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'store-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'db');
}

export interface CapturedLog {
  readonly logger: Logger;
  readonly lines: { level: number; msg: string; [k: string]: unknown }[];
}

export function captureLog(): CapturedLog {
  const lines: CapturedLog['lines'] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as CapturedLog['lines'][number]) });
  return { logger, lines };
}

export const rec = (table: string, key: string, value: unknown, meta: unknown = 1): StoredRecord => ({ table, key, value, meta });
export const tomb = (table: string, key: string, meta: unknown = 2): StoredRecord => ({ table, key, value: undefined, deleted: true, meta });
