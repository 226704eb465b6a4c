// What the routes work with: this node's answers, the cluster-wide calls, the replicated tables
// (available once membership runs), the running config and a clock.
import type { Log } from '../base/log.js';
import type { Cluster } from '../cluster/cluster.js';
import type { Config } from '../config/types.js';
import type { Admins } from '../db/admins.js';
import type { Dist } from '../link/types.js';
import type { ApiKeys } from './auth/api-keys.js';
import type { AuthStore } from './auth/auth-store.js';
import type { FailureLimiter } from './auth/rate-limit.js';
import type { LoginLock } from './auth/login-lock.js';
import type { LocalOps } from './cluster/local-ops.js';
import type { ClusterRpc } from './cluster/rpc.js';

export interface ApiContext {
  readonly version: string;
  readonly log: Log;
  readonly local: LocalOps;
  readonly rpc: ClusterRpc;
  readonly failures: FailureLimiter;
  /** dashboard.unsuccessful_login_*: usernames locked after failed logins. */
  readonly logins: LoginLock;
  config(): Config;
  dist(): Dist;
  cluster(): Cluster | undefined;
  admins(): Admins | undefined;
  apiKeys(): ApiKeys | undefined;
  store(): AuthStore | undefined;
  now(): number;
}
