// A real Redis (Debian redis-server) on a loopback port, in memory only (no dump, no AOF), with a
// password when asked. `cli` runs redis-cli against it. Stopped by its PID.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './launcher.js';
import { startServer } from './server-process.js';

export const REDIS_SERVER = '/usr/bin/redis-server';
export const REDIS_CLI = '/usr/bin/redis-cli';

export function redisInstalled(): boolean {
  return existsSync(REDIS_SERVER) && existsSync(REDIS_CLI);
}

export interface RedisServer {
  readonly pid: number;
  readonly port: number;
  /** redis-cli with these arguments; its stdout (throws on a failed run). */
  cli(args: readonly string[]): string;
  stop(): Promise<void>;
}

/** Starts redis-server on 127.0.0.1 (`port`: a free one when not given) and waits until it answers PING. */
export async function startRedis(opts: { password?: string; port?: number; cluster?: boolean } = {}): Promise<RedisServer> {
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'redis-'));
  const args = [
    '--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'no',
    ...(opts.password ? ['--requirepass', opts.password, '--masterauth', opts.password] : []),
    ...(opts.cluster ? ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf')] : []),
  ];
  const cli = (a: readonly string[]): string => {
    const r = spawnSync(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), ...(opts.password ? ['--no-auth-warning', '-a', opts.password] : []), ...a], { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`redis-cli ${a.join(' ')}: ${r.stderr || r.error?.message}`);
    return r.stdout;
  };
  const { child, stop } = await startServer({
    what: `redis-server on port ${port}`,
    cmd: REDIS_SERVER,
    args,
    ready: () => cli(['ping']).trim() === 'PONG',
    timeoutMs: 10_000,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  });
  return { pid: child.pid!, port, cli, stop };
}

/** A Redis Sentinel (redis-server --sentinel) watching `master` as `name`; stopped by its PID. */
export async function startSentinel(master: RedisServer, name: string, password: string): Promise<{ readonly port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(conf, [`bind 127.0.0.1`, `port ${port}`, `dir ${dir}`, `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`, `sentinel auth-pass ${name} ${password}`, ''].join('\n'));
  const { stop } = await startServer({
    what: `redis sentinel on port ${port}`,
    cmd: REDIS_SERVER,
    args: [conf, '--sentinel'],
    // Ready once it reports the master it watches.
    ready: () => spawnSync(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), 'sentinel', 'get-master-addr-by-name', name], { encoding: 'utf8', timeout: 5000 }).stdout.includes(String(master.port)),
    timeoutMs: 10_000,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  });
  return { port, stop };
}

/** Three masters on loopback made one Redis cluster (every slot covered), as `redis-cli --cluster create` does it. */
export async function startRedisCluster(password: string): Promise<{ nodes: RedisServer[]; cli(args: readonly string[]): string; stop(): Promise<void> }> {
  const nodes: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    for (const n of nodes) await n.stop();
  };
  try {
    for (let i = 0; i < 3; i++) nodes.push(await startRedis({ password, cluster: true }));
    const r = spawnSync(REDIS_CLI, ['--no-auth-warning', '-a', password, '--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) throw new Error(`redis-cli --cluster create: ${r.stdout}${r.stderr}`);
    const deadline = Date.now() + 15_000;
    while (!nodes.every((n) => n.cli(['cluster', 'info']).includes('cluster_state:ok'))) {
      if (Date.now() > deadline) throw new Error('the Redis cluster did not reach cluster_state:ok within 15 s');
      await sleep(100);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  // -c follows MOVED redirects, so a key lands on the node that owns its slot.
  const cli = (args: readonly string[]): string => nodes[0]!.cli(['-c', ...args]);
  return { nodes, cli, stop };
}
