// The pool of a SQL authenticator or source, by backend.
import type { SqlConnConfig } from '../../config/types.js';
import { openMysql } from './mysql.js';
import type { SqlConn } from './conn.js';
import { openPostgres } from './postgres.js';

export function openSql(backend: 'postgresql' | 'mysql', cfg: SqlConnConfig): SqlConn {
  return backend === 'mysql' ? openMysql(cfg) : openPostgres(cfg);
}
