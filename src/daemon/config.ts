// The one place the daemon and the command line get their configuration from.
// Until src/config/load.ts lands this reads defaults and the environment only.
import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError, type Config } from '../config/types.js';
import { parseNodeName, NodeNameError, DEFAULT_DIST_BASE_PORT } from '../node/name.js';

export const DEFAULT_COOKIE = 'emqxsecretcookie';

export interface NodeConfigLoad {
  readonly config: Config;
  /** Human-readable warnings to show the operator (already formatted). */
  readonly warnings: readonly string[];
}

export interface LoadOptions {
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;
}

export function loadNodeConfig({ root, env }: LoadOptions): NodeConfigLoad {
  const name = env.EMQX_NODE__NAME ?? env.EMQX_NODE_NAME ?? 'emqx@127.0.0.1';
  try {
    parseNodeName(name);
  } catch (err) {
    if (err instanceof NodeNameError) throw new ConfigError([{ message: err.message, key: 'node.name' }]);
    throw err;
  }
  const dataRaw = env.EMQX_NODE__DATA_DIR ?? 'data';
  const etcDir = env.EMQX_ETC_DIR ? resolve(env.EMQX_ETC_DIR) : join(root, 'etc');
  const basePort = env.EMQX_NODE__DIST_BASE_PORT ? Number(env.EMQX_NODE__DIST_BASE_PORT) : DEFAULT_DIST_BASE_PORT;
  const config: Config = {
    node: {
      name,
      cookie: env.EMQX_NODE__COOKIE ?? env.EMQX_NODE_COOKIE ?? DEFAULT_COOKIE,
      data_dir: isAbsolute(dataRaw) ? dataRaw : join(root, dataRaw),
      role: 'core',
      dist_net_ticktime: 5000,
      dist_base_port: basePort,
    },
    cluster: {
      name: 'emqxcl',
      discovery_strategy: 'manual',
      proto_dist: 'inet_tcp',
      autoheal: true,
      autoclean: 24 * 3600 * 1000,
      static: { seeds: [] },
      dns: { name: 'localhost', record_type: 'a' },
      etcd: { server: [], prefix: 'emqxcl', node_ttl: 60000 },
      k8s: {
        apiserver: 'https://kubernetes.default.svc:443',
        service_name: 'emqx',
        namespace: 'default',
        address_type: 'ip',
        suffix: 'pod.local',
        token_file: '/var/run/secrets/kubernetes.io/serviceaccount/token',
        cacert_file: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
      },
    },
    paths: {
      root,
      etc_dir: etcDir,
      conf_file: join(etcDir, 'emqx.conf'),
      log_dir: env.EMQX_LOG_DIR ? resolve(env.EMQX_LOG_DIR) : join(root, 'log'),
      ssl_dist_optfile: env.EMQX_SSL_DIST_OPTFILE ?? join(etcDir, 'ssl_dist.conf'),
    },
  };
  return { config, warnings: [] };
}
