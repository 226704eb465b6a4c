// A real MySQL-compatible server (Debian's MariaDB) on a loopback port, in a temp data directory,
// with a password user for TCP clients; the test's own SQL goes through the server's Unix socket as root.
// Stopped by its PID.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './launcher.js';
import { startServer } from './server-process.js';

const SERVER = '/usr/sbin/mariadbd';
const INSTALL_DB = '/usr/bin/mariadb-install-db';
const CLIENT = '/usr/bin/mariadb';

export function mysqlInstalled(): boolean {
  return [SERVER, INSTALL_DB, CLIENT].every((f) => existsSync(f));
}

export interface MysqlServer {
  readonly pid: number;
  readonly port: number;
  /** Runs SQL as root through the Unix socket; its output (throws on an error). */
  sql(text: string): string;
  stop(): Promise<void>;
}

/** Starts MariaDB with a database `mqtt` and a user `emqx` (password `password`) that owns it. */
export async function startMysql(password: string): Promise<MysqlServer> {
  const dir = mkdtempSync(join(tmpdir(), 'mysql-'));
  const data = join(dir, 'data');
  const socket = join(dir, 'sock');
  const init = spawnSync(INSTALL_DB, ['--no-defaults', `--datadir=${data}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db'], { encoding: 'utf8', timeout: 120_000 });
  if (init.status !== 0) throw new Error(`mariadb-install-db: ${init.stdout}${init.stderr}`);
  const port = await freePort();
  const sql = (text: string): string => {
    const r = spawnSync(CLIENT, ['--no-defaults', `--socket=${socket}`, '-uroot', '-N', '-B', '-e', text], { encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) throw new Error(`mariadb: ${r.stderr}`);
    return r.stdout;
  };
  const { child, stop } = await startServer({
    what: `mariadbd on port ${port}`,
    cmd: SERVER,
    args: ['--no-defaults', `--datadir=${data}`, `--socket=${socket}`, `--port=${port}`, '--bind-address=127.0.0.1', '--user=root', '--skip-log-bin', '--innodb-flush-log-at-trx-commit=0', `--pid-file=${join(dir, 'pid')}`],
    ready: () => sql('SELECT 1').trim() === '1',
    timeoutMs: 30_000,
    graceMs: 15_000,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  });
  // TCP clients (the node) log in as `emqx` with a password; the socket stays the test's.
  try {
    sql(`CREATE USER 'emqx'@'127.0.0.1' IDENTIFIED BY '${password}'; CREATE DATABASE mqtt; GRANT ALL ON mqtt.* TO 'emqx'@'127.0.0.1';`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid: child.pid!, port, sql, stop };
}
