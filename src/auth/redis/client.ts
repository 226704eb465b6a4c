// The connection of a Redis authenticator or authorization source to its server, cluster or
// sentinel group (ioredis: reconnection, the cluster's slot map, the sentinels' master). A
// command never waits for a connection that is down (no offline queue) and never longer than
// COMMAND_TIMEOUT_MS: an unreachable Redis makes the check fall through at once, as EMQX's
// resource does while it reconnects. ioredis is loaded by the first Redis authenticator or source,
// so a node that uses none does not pay for it.
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';
import type { RedisConnConfig } from '../../config/types.js';

const load = () => import('ioredis');
let ioredis: ReturnType<typeof load> | undefined;

/** How long one command may take. */
export const COMMAND_TIMEOUT_MS = 5000;

export interface RedisConn {
  /** One command's reply (a string, null, an array of them, a number); rejects on an error reply or no answer. */
  call(args: readonly string[]): Promise<unknown>;
  close(): void;
}

/** Connects in the background; throws only when the CA file cannot be read. */
export function openRedis(cfg: RedisConnConfig): RedisConn {
  const ca = cfg.ssl?.cacertfile ? readFileSync(cfg.ssl.cacertfile) : undefined;
  const tls = cfg.ssl
    ? { rejectUnauthorized: cfg.ssl.verify, ...(ca ? { ca } : {}), ...(cfg.ssl.server_name_indication ? { servername: cfg.ssl.server_name_indication } : {}) }
    : undefined;
  const common = {
    ...(cfg.username !== undefined ? { username: cfg.username } : {}),
    ...(cfg.password !== undefined ? { password: cfg.password } : {}),
    ...(tls ? { tls } : {}),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: COMMAND_TIMEOUT_MS,
    // Reconnect at once, then back off to 2 s between attempts.
    retryStrategy: (times: number): number => Math.min(times * 100, 2000),
  };
  const first = cfg.servers[0]!;
  const where = cfg.servers.map((s) => `${s.host}:${s.port}`).join(',');
  let closed = false;
  const connected = (ioredis ??= load()).then(({ Cluster, Redis }): Redis | Cluster => {
    const client: Redis | Cluster =
      cfg.redis_type === 'cluster'
        ? new Cluster(
            cfg.servers.map((s) => ({ host: s.host, port: s.port })),
            { redisOptions: common, enableOfflineQueue: false, clusterRetryStrategy: (times: number) => Math.min(times * 100, 2000) },
          )
        : cfg.redis_type === 'sentinel'
          ? new Redis({ ...common, sentinels: cfg.servers.map((s) => ({ host: s.host, port: s.port })), name: cfg.sentinel ?? 'mymaster', db: cfg.database })
          : new Redis({ ...common, host: first.host, port: first.port, db: cfg.database });
    // Connection errors are the commands' to report (they fail while it is down); not an 'error' crash.
    client.on('error', () => undefined);
    if (closed) client.disconnect();
    return client;
  });
  return {
    call: async (args) => {
      const c = await connected;
      // Said in the operator's words rather than ioredis's ("Stream isn't writeable ...").
      if (c.status !== 'ready') throw new Error(`Redis at ${where} is not connected (${c.status})`);
      return c.call(args[0]!, ...args.slice(1));
    },
    close: () => {
      closed = true;
      void connected.then((c) => c.disconnect());
    },
  };
}
