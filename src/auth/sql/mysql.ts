// The connection pool of a MySQL authenticator or authorization source (mysql2, loaded by the
// first one configured); MariaDB speaks the same protocol. As for PostgreSQL, a query never
// waits longer than QUERY_TIMEOUT_MS, for a connection or for its answer.
import { readFileSync } from 'node:fs';
import type { Pool } from 'mysql2/promise';
import type { SqlConnConfig } from '../../config/types.js';
import { QUERY_TIMEOUT_MS, type SqlConn } from './conn.js';

const load = () => import('mysql2/promise');
let mysql: ReturnType<typeof load> | undefined;

/** Connects lazily (at the first query); throws only when the CA file cannot be read. */
export function openMysql(cfg: SqlConnConfig): SqlConn {
  const ca = cfg.ssl?.cacertfile ? readFileSync(cfg.ssl.cacertfile) : undefined;
  const where = `${cfg.server.host}:${cfg.server.port}`;
  let closed = false;
  const pool = (mysql ??= load()).then((m): Pool => {
    const p = m.default.createPool({
      host: cfg.server.host,
      port: cfg.server.port,
      database: cfg.database,
      ...(cfg.username !== undefined ? { user: cfg.username } : {}),
      ...(cfg.password !== undefined ? { password: cfg.password } : {}),
      ...(cfg.ssl ? { ssl: { rejectUnauthorized: cfg.ssl.verify, ...(ca ? { ca } : {}) } } : {}),
      connectionLimit: cfg.pool_size,
      connectTimeout: QUERY_TIMEOUT_MS,
      // Checks wait no longer for a free connection than for an answer.
      queueLimit: 0,
      idleTimeout: 30_000,
    });
    if (closed) void p.end();
    return p;
  });
  return {
    query: async (text, params) => {
      try {
        const p = await pool;
        const [rows] = await p.query({ sql: text, timeout: QUERY_TIMEOUT_MS, values: params as unknown[] });
        return rows as Array<Record<string, unknown>>;
      } catch (err) {
        throw new Error(`MySQL at ${where}: ${(err as Error).message}`, { cause: err });
      }
    },
    close: () => {
      closed = true;
      void pool.then((p) => p.end()).catch(() => undefined);
    },
  };
}
