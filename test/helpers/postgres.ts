// A real PostgreSQL (Debian postgresql 15) on a loopback port, in a temp data directory: initdb
// and the server run as the `postgres` user (PostgreSQL refuses root), password authentication
// (scram-sha-256) over TCP, trust on its own Unix socket for the test's psql. Stopped by its PID.
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './launcher.js';
import { startServer } from './server-process.js';

const PG_ROOT = '/usr/lib/postgresql';

/** The newest installed server's bin directory, if any. */
function binDir(): string | undefined {
  if (!existsSync(PG_ROOT)) return undefined;
  const versions = readdirSync(PG_ROOT).filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(PG_ROOT, versions[0], 'bin');
}

export function postgresInstalled(): boolean {
  return binDir() !== undefined && spawnSync('id', ['postgres']).status === 0;
}

export interface PostgresServer {
  readonly pid: number;
  readonly port: number;
  /** Runs SQL through psql as the superuser; its output (throws on an error). */
  sql(text: string): string;
  stop(): Promise<void>;
}

/** Starts PostgreSQL with a superuser `postgres` whose password is `password`. */
export async function startPostgres(password: string): Promise<PostgresServer> {
  const bin = binDir();
  if (!bin) throw new Error(`no PostgreSQL server under ${PG_ROOT}`);
  const asPostgres = userInfo().uid === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
  const dir = mkdtempSync(join(tmpdir(), 'pg-'));
  const data = join(dir, 'data');
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, `${password}\n`);
  if (userInfo().uid === 0) {
    const id = (flag: string): number => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chownSync(dir, id('-u'), id('-g'));
    chownSync(pwfile, id('-u'), id('-g'));
  }
  const run = (args: readonly string[]): ReturnType<typeof spawnSync> => spawnSync(asPostgres[0] ?? args[0]!, [...asPostgres.slice(1), ...(asPostgres.length ? args : args.slice(1))], { encoding: 'utf8', timeout: 60_000 });
  const init = run([join(bin, 'initdb'), '-D', data, '-U', 'postgres', `--pwfile=${pwfile}`, '--auth-host=scram-sha-256', '--auth-local=trust', '-E', 'UTF8', '--no-sync']);
  if (init.status !== 0) throw new Error(`initdb: ${String(init.stdout)}${String(init.stderr)}`);
  const port = await freePort();
  const cmd = [join(bin, 'postgres'), '-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'];
  const sql = (text: string): string => {
    const r = run([join(bin, 'psql'), '-h', dir, '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-q', '-At', '-c', text]);
    if (r.status !== 0) throw new Error(`psql: ${String(r.stderr)}`);
    return String(r.stdout);
  };
  const { child, stop } = await startServer({
    what: `postgres on port ${port}`,
    cmd: asPostgres[0] ?? cmd[0]!,
    args: [...asPostgres.slice(1), ...(asPostgres.length ? cmd : cmd.slice(1))],
    ready: () => sql('SELECT 1').trim() === '1',
    timeoutMs: 20_000,
    // runuser passes the signal on to the server; SIGTERM is PostgreSQL's smart shutdown.
    graceMs: 10_000,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  });
  return { pid: child.pid!, port, sql, stop };
}
