// The connection pool of a PostgreSQL authenticator or authorization source (node-postgres,
// loaded by the first one configured). A query never waits longer than QUERY_TIMEOUT_MS, for a
// connection or for its answer: an unreachable database makes the check fall through, as EMQX's
// resource does while it reconnects; the pool opens connections again by itself when it is back.
import { readFileSync } from 'node:fs';
import type { Pool } from 'pg';
import type { SqlConnConfig } from '../../config/types.js';
import { QUERY_TIMEOUT_MS, type SqlConn } from './conn.js';


const load = () => import('pg');
let pg: ReturnType<typeof load> | undefined;

/** Connects lazily (at the first query); throws only when the CA file cannot be read. */
export function openPostgres(cfg: SqlConnConfig): SqlConn {
  const ca = cfg.ssl?.cacertfile ? readFileSync(cfg.ssl.cacertfile) : undefined;
  const where = `${cfg.server.host}:${cfg.server.port}`;
  let closed = false;
  const pool = (pg ??= load()).then((m): Pool => {
    const p = new m.default.Pool({
      host: cfg.server.host,
      port: cfg.server.port,
      database: cfg.database,
      ...(cfg.username !== undefined ? { user: cfg.username } : {}),
      ...(cfg.password !== undefined ? { password: cfg.password } : {}),
      ...(cfg.ssl ? { ssl: { rejectUnauthorized: cfg.ssl.verify, ...(ca ? { ca } : {}), ...(cfg.ssl.server_name_indication ? { servername: cfg.ssl.server_name_indication } : {}) } } : {}),
      max: cfg.pool_size,
      connectionTimeoutMillis: QUERY_TIMEOUT_MS,
      query_timeout: QUERY_TIMEOUT_MS,
      idleTimeoutMillis: 30_000,
    });
    // A connection the server drops while idle is the pool's to replace, not a crash.
    p.on('error', () => undefined);
    if (closed) void p.end();
    return p;
  });
  return {
    query: async (text, params) => {
      try {
        return (await (await pool).query(text, params as unknown[])).rows as Array<Record<string, unknown>>;
      } catch (err) {
        throw new Error(`PostgreSQL at ${where}: ${(err as Error).message}`, { cause: err });
      }
    },
    close: () => {
      closed = true;
      void pool.then((p) => p.end()).catch(() => undefined);
    },
  };
}
