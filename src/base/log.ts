// The slice of a pino logger the cluster and database parts use; structural, so a pino Logger
// fits and tests can pass a silent or capturing one.
export interface Log {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };
