// Where the node's log is, without loading the logger (`emqx start` names it in its messages).
import { join } from 'node:path';

export const LOG_FILE_NAME = 'emqx.log';

export function logFilePath(logDir: string): string {
  return join(logDir, LOG_FILE_NAME);
}
