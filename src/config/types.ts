// The typed, validated configuration every other part of the node reads.
// Keys mirror the HOCON keys of SPEC §2 (snake_case kept so `conf show node.data_dir` maps
// one-to-one); durations are converted to milliseconds, paths made absolute.
import type { SecureContextOptions, TlsOptions, ConnectionOptions } from 'node:tls';

export type DiscoveryStrategy = 'manual' | 'static' | 'singleton' | 'dns' | 'etcd' | 'k8s';
export type ProtoDist = 'inet_tcp' | 'inet6_tcp' | 'inet_tls' | 'inet6_tls';
export type DnsRecordType = 'a' | 'aaaa' | 'srv';
export type K8sAddressType = 'ip' | 'dns' | 'hostname';

export interface NodeConfig {
  readonly name: string;
  /** Secret: never log or print it (see redactConfig). */
  readonly cookie: string;
  /** Absolute path. */
  readonly data_dir: string;
  readonly role: 'core';
  /** How long a silent peer is tolerated, in ms. */
  readonly dist_net_ticktime: number;
  readonly dist_base_port: number;
  /** Whether a call may busy poll for its reply when that measures faster (docs/links.md). */
  readonly dist_busy_poll: boolean;
}

export interface EtcdSslOptions {
  readonly enable: boolean;
  readonly cacertfile?: string;
  readonly certfile?: string;
  readonly keyfile?: string;
  readonly verify: 'verify_peer' | 'verify_none';
  readonly server_name_indication?: string;
}

export interface ClusterConfig {
  readonly name: string;
  readonly discovery_strategy: DiscoveryStrategy;
  readonly proto_dist: ProtoDist;
  readonly autoheal: boolean;
  /** ms */
  readonly autoclean: number;
  readonly static: { readonly seeds: readonly string[] };
  readonly dns: {
    readonly name: string;
    readonly record_type: DnsRecordType;
    /** Ours: a specific DNS server `host:port` instead of the system resolver. */
    readonly server?: string;
  };
  readonly etcd: {
    readonly server: readonly string[];
    readonly prefix: string;
    /** ms */
    readonly node_ttl: number;
    readonly ssl_options?: EtcdSslOptions;
  };
  readonly k8s: {
    readonly apiserver: string;
    readonly service_name: string;
    readonly namespace: string;
    readonly address_type: K8sAddressType;
    readonly suffix: string;
    /** Ours: where the service-account token and CA live (defaults: the in-pod paths). */
    readonly token_file: string;
    readonly cacert_file: string;
  };
}

/** Where things are on disk for this node (SPEC §3 locations). All absolute. */
export interface Paths {
  /** The install root (the directory holding bin/, etc/). */
  readonly root: string;
  readonly etc_dir: string;
  readonly conf_file: string;
  readonly log_dir: string;
  readonly ssl_dist_optfile: string;
}

/** TLS options for the distribution links, loaded from ssl_dist.conf (SPEC §4). */
export interface DistTlsOptions {
  readonly server: TlsOptions & SecureContextOptions;
  readonly client: ConnectionOptions;
  /** Human-readable warnings (verify_none, options we cannot honour), to be logged at start. */
  readonly warnings: readonly string[];
  /**
   * `{verify, verify_peer}` per side (set by loadSslDistFile). server: dialling nodes must present
   * a certificate chaining to cacertfile (server.requestCert/rejectUnauthorized say the same);
   * client: the dialled node's certificate must chain to cacertfile and name its host
   * (client.rejectUnauthorized).
   */
  readonly verifyPeer?: { readonly server: boolean; readonly client: boolean };
  /**
   * Server `fail_if_no_peer_cert`. With verifyPeer.server and false, Erlang lets in a node that
   * offers no certificate at all (one offering a bad certificate is refused either way); the link
   * layer decides whether to follow it, server.rejectUnauthorized stays true.
   */
  readonly failIfNoPeerCert?: boolean;
  /**
   * Client `server_name_indication`: undefined = SNI and the hostname check use the peer's host
   * from its node name; a host = sent as SNI and checked against the peer's certificate instead;
   * 'disable' = no SNI and no hostname check (the chain is still verified). Already applied to
   * client.servername/checkServerIdentity.
   */
  readonly serverNameIndication?: string;
  /**
   * Server `depth`: the most intermediate CA certificates a dialling node's chain may have.
   * node:tls has no server-side hook for it, so the link layer checks the verified chain.
   */
  readonly serverDepth?: number;
}

export interface Config {
  readonly node: NodeConfig;
  readonly cluster: ClusterConfig;
  readonly paths: Paths;
  /** Present when cluster.proto_dist is inet_tls or inet6_tls. */
  readonly tls?: DistTlsOptions;
}

/** A problem found while loading configuration; `file`/`line`/`column` when known. */
export interface ConfigProblem {
  readonly message: string;
  readonly key?: string;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  /** The environment variable the problem came from, when it came from one. */
  readonly env?: string;
}

export class ConfigError extends Error {
  readonly code = 'config_error';
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.file ? `${p.file}${p.line ? `:${p.line}${p.column ? `:${p.column}` : ''}` : ''}: ` : '';
  const env = p.env ? `${p.env}: ` : '';
  return `${where}${env}${p.message}`;
}
