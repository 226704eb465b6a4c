// `etcd` (v3 API): each node puts `<prefix>/ekkacl/nodes/<node>` = `<node>` under a lease of
// node_ttl that it keeps alive, so a crashed node disappears by itself; the nodes are the values
// under `<prefix>/ekkacl/nodes/`. The forming lock follows etcd's own Lock service (the
// concurrency.Mutex recipe) on the name `<prefix>/ekkacl/lock/`, the name EMQX nodes use, so
// our nodes and EMQX nodes sharing one etcd exclude each other.
//
// The etcd3 package (with gRPC and protobufjs) adds ~20 MiB to a process, so it is imported only
// when a strategy first talks to etcd: nodes on any other strategy never load it. The settings
// are still checked when the strategy is built, so a bad config is reported at start.
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Etcd3, IOptions, Lease } from 'etcd3';
import type { ClusterConfig } from '../config/types.js';
import { isValidNodeName } from '../node/name.js';
import { DiscoveryError, type DiscoveryLogger, type DiscoveryStrategy } from './types.js';

export interface EtcdOptions {
  /** How long lock() waits for another node's lock before giving up. */
  readonly lockTimeoutMs?: number;
  /** Deadline of each etcd call. */
  readonly callTimeoutMs?: number;
}

export interface EtcdKeys {
  readonly nodesPrefix: string;
  readonly nodeKey: string;
  /** Keys of lock contenders start with this; the holder is the one created first. */
  readonly lockPrefix: string;
}

export function etcdKeys(prefix: string, self: string): EtcdKeys {
  const nodesPrefix = `${prefix}/ekkacl/nodes/`;
  // etcd's Lock service appends '/' to the lock name; EMQX passes a name that ends in '/'.
  return { nodesPrefix, nodeKey: nodesPrefix + self, lockPrefix: `${prefix}/ekkacl/lock//` };
}

/** The etcd3 client options for cluster.etcd (TLS from ssl_options). Throws naming the file. */
export function etcdClientOptions(cfg: ClusterConfig['etcd'], logger: DiscoveryLogger, callTimeoutMs: number): IOptions {
  if (cfg.server.length === 0) throw new DiscoveryError('etcd', 'cluster.etcd.server is empty: give at least one URL, e.g. http://127.0.0.1:2379');
  const hosts = cfg.server.map((s) => s.trim());
  for (const h of hosts) {
    if (!/^https?:\/\/[^/]+\/?$/.test(h)) throw new DiscoveryError('etcd', `cluster.etcd.server: '${h}' is not an http(s)://host:port URL`);
  }
  const options: IOptions = {
    hosts,
    dialTimeout: callTimeoutMs,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
  };
  const ssl = cfg.ssl_options;
  if (ssl?.enable) {
    const read = (file: string | undefined, key: string): Buffer | undefined => {
      if (file === undefined) return undefined;
      try {
        return readFileSync(file);
      } catch (err) {
        throw new DiscoveryError('etcd', `cannot read cluster.etcd.ssl_options.${key} '${file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    };
    if ((ssl.certfile === undefined) !== (ssl.keyfile === undefined)) {
      throw new DiscoveryError('etcd', 'cluster.etcd.ssl_options: certfile and keyfile must be given together');
    }
    if (ssl.verify === 'verify_none') {
      // gRPC always verifies the server; refusing silently to honour verify_none would surprise.
      logger.warn({}, 'cluster.etcd.ssl_options.verify = verify_none is not supported by the etcd client: the server certificate is still verified (against cacertfile, or the system CAs)');
    }
    const rootCertificate = read(ssl.cacertfile, 'cacertfile');
    const certChain = read(ssl.certfile, 'certfile');
    const privateKey = read(ssl.keyfile, 'keyfile');
    // gRPC parses these when the client is built, which is now deferred to the first call:
    // parse them here the same way, so unusable PEM content still fails at start.
    try {
      createSecureContext({ ca: rootCertificate, cert: certChain, key: privateKey });
    } catch (err) {
      const files = [ssl.cacertfile, ssl.certfile, ssl.keyfile].filter((f) => f !== undefined).map((f) => `'${f}'`).join(', ');
      throw new DiscoveryError('etcd', `cluster.etcd.ssl_options: cannot use ${files}: ${(err as Error).message}`);
    }
    // Without cacertfile gRPC verifies against the system CAs (it takes null for "default").
    options.credentials = {
      rootCertificate: rootCertificate ?? (null as unknown as Buffer),
      ...(certChain ? { certChain } : {}),
      ...(privateKey ? { privateKey } : {}),
    };
    if (ssl.server_name_indication !== undefined) {
      options.grpcOptions = { 'grpc.ssl_target_name_override': ssl.server_name_indication, 'grpc.default_authority': ssl.server_name_indication };
    }
  }
  return options;
}

export interface EtcdStrategy extends DiscoveryStrategy {
  readonly keys: EtcdKeys;
}

/** Loads etcd3 and builds a client; any failure is a DiscoveryError saying which step failed. */
async function loadClient(options: IOptions): Promise<Etcd3> {
  let Client: typeof Etcd3;
  try {
    ({ Etcd3: Client } = await import('etcd3'));
  } catch (err) {
    throw new DiscoveryError('etcd', `cannot load the etcd client package 'etcd3': ${(err as Error).message}`);
  }
  try {
    return new Client(options);
  } catch (err) {
    throw new DiscoveryError('etcd', `cannot create the etcd client: ${(err as Error).message}`);
  }
}

export function etcdStrategy(self: string, cfg: ClusterConfig['etcd'], logger: DiscoveryLogger, opts: EtcdOptions = {}): EtcdStrategy {
  const callTimeoutMs = opts.callTimeoutMs ?? 5000;
  // Validated now (throws naming the key); the client itself is built on first use.
  const options = etcdClientOptions(cfg, logger, callTimeoutMs);
  const keys = etcdKeys(cfg.prefix, self);
  const ttlSeconds = Math.max(1, Math.ceil(cfg.node_ttl / 1000));
  const where = cfg.server.join(',');
  const fail = (what: string, err: unknown): DiscoveryError =>
    err instanceof DiscoveryError ? err : new DiscoveryError('etcd', `${what} at ${where}: ${(err as Error).message}`);

  let lease: Lease | undefined;
  let leaseId: string | undefined;
  let closed = false;

  let loading: Promise<Etcd3> | undefined;
  // A failed load is kept: a missing package or unusable options do not mend between rounds.
  function client(): Promise<Etcd3> {
    // After close() a new client would hold gRPC channels nobody closes.
    if (closed && loading === undefined) return Promise.reject(new DiscoveryError('etcd', 'the strategy is closed'));
    loading ??= loadClient(options);
    return loading;
  }

  let granting: Promise<string> | undefined;
  // One lease per node incarnation, kept alive by the client; renewed if etcd lost it. Callers
  // arriving while a grant is in flight share it, so a node never holds two leases.
  function ensureLease(): Promise<string> {
    if (lease !== undefined && leaseId !== undefined && !lease.revoked()) return Promise.resolve(leaseId);
    granting ??= grantLease().finally(() => {
      granting = undefined;
    });
    return granting;
  }

  async function grantLease(): Promise<string> {
    const l = (await client()).lease(ttlSeconds, { autoKeepAlive: true });
    l.on('lost', (err) => {
      logger.warn({ err: err.message }, 'etcd lease lost; the node key will be registered again on the next round');
      if (lease === l) {
        lease = undefined;
        leaseId = undefined;
      }
    });
    try {
      const id = await l.grant();
      lease = l;
      leaseId = id;
      return id;
    } catch (err) {
      l.release();
      throw err;
    }
  }

  async function waitForLock(client: Etcd3, myKey: string, myRev: bigint, signal: AbortSignal): Promise<void> {
    let delay = 50;
    for (;;) {
      signal.throwIfAborted();
      const res = await client.getAll().prefix(keys.lockPrefix).sort('Create', 'Ascend').exec();
      const first = res.kvs[0];
      if (first === undefined) throw new Error('our lock key vanished (lease expired?)');
      if (first.key.toString() === myKey || BigInt(first.create_revision) >= myRev) return;
      await sleep(delay + Math.floor(Math.random() * delay), undefined, { signal });
      delay = Math.min(500, delay * 2);
    }
  }

  return {
    name: 'etcd',
    keys,
    async discover(signal?: AbortSignal): Promise<string[]> {
      signal?.throwIfAborted();
      let values: Record<string, string>;
      try {
        values = await (await client()).getAll().prefix(keys.nodesPrefix).strings();
      } catch (err) {
        throw fail(`listing ${keys.nodesPrefix}`, err);
      }
      const nodes = new Set<string>();
      for (const [key, value] of Object.entries(values)) {
        if (isValidNodeName(value)) nodes.add(value);
        else logger.warn({ key, value }, 'etcd node key does not hold a valid node name; ignored');
      }
      return [...nodes].sort();
    },
    async register(): Promise<void> {
      if (closed) return;
      try {
        const id = await ensureLease();
        await (await client()).put(keys.nodeKey).value(self).lease(id).exec();
      } catch (err) {
        throw fail(`registering ${keys.nodeKey}`, err);
      }
    },
    async unregister(): Promise<void> {
      try {
        await (await client()).delete().key(keys.nodeKey).exec();
      } catch (err) {
        throw fail(`deleting ${keys.nodeKey}`, err);
      }
    },
    async lock<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
      const timeoutMs = opts.lockTimeoutMs ?? 30_000;
      const timeout = AbortSignal.timeout(timeoutMs);
      const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
      let myKey: string | undefined;
      let c: Etcd3 | undefined;
      try {
        c = await client();
        const id = await ensureLease();
        myKey = keys.lockPrefix + BigInt(id).toString(16);
        // Create our contender key unless it exists (then keep its place in the queue).
        const txn = await c
          .if(myKey, 'Create', '==', 0)
          .then(c.put(myKey).value(self).lease(id))
          .else(c.get(myKey))
          .commit();
        const rev = txn.succeeded ? txn.header.revision : txn.responses[0]?.response_range?.kvs[0]?.create_revision;
        if (rev === undefined) throw new Error('could not read back our lock key');
        await waitForLock(c, myKey, BigInt(rev), both);
      } catch (err) {
        if (c !== undefined && myKey !== undefined) await c.delete().key(myKey).exec().catch(() => undefined);
        if (signal?.aborted) throw signal.reason;
        if (timeout.aborted) throw new DiscoveryError('etcd', `another node held the lock ${keys.lockPrefix} for more than ${timeoutMs} ms`);
        throw fail(`taking the lock ${keys.lockPrefix}`, err);
      }
      try {
        return await fn();
      } finally {
        await c.delete().key(myKey).exec().catch((err: Error) => {
          // The lease expiry frees it in node_ttl anyway.
          logger.warn({ err: err.message, key: myKey }, 'could not release the etcd lock');
        });
      }
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      const l = lease;
      lease = undefined;
      // Revoking deletes the node key and any lock key at once: others see us leave immediately.
      if (l !== undefined) await l.revoke().catch(() => undefined);
      // A load still in flight is awaited, so its client is closed too.
      const c = await loading?.catch(() => undefined);
      c?.close();
    },
  };
}
