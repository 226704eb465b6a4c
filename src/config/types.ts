// The typed, validated configuration every other part of the node reads.
// Keys mirror the HOCON keys of SPEC §2 (snake_case kept so `conf show node.data_dir` maps
// one-to-one); durations are converted to milliseconds, paths made absolute.
import type { SecureContextOptions, TlsOptions, ConnectionOptions } from 'node:tls';
import type { LogLevel } from './log-level.js';
import type { LogConsoleConfig, LogFileConfig } from './log-outputs.js';

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

export type ListenerType = 'tcp' | 'ssl' | 'ws' | 'wss';

/** `listeners.ssl.<name>.ssl_options`: file paths absolute; the files are read when the listener starts. */
export interface ListenerSslOptions {
  readonly cacertfile: string;
  readonly certfile: string;
  readonly keyfile: string;
  readonly verify: 'verify_peer' | 'verify_none';
  readonly fail_if_no_peer_cert: boolean;
  readonly versions: readonly string[];
  readonly ciphers: readonly string[];
  readonly depth: number;
  readonly password?: string;
  /** ms */
  readonly handshake_timeout: number;
  readonly honor_cipher_order: boolean;
}

export interface WebsocketOptions {
  readonly mqtt_path: string;
  readonly fail_if_no_subprotocol: boolean;
  readonly supported_subprotocols: readonly string[];
  /** bytes; Infinity: no limit beyond mqtt.max_packet_size */
  readonly max_frame_size: number;
  readonly check_origin_enable: boolean;
  readonly allow_origin_absence: boolean;
  readonly check_origins: readonly string[];
  /** The upgrade request's header naming the client's address (`x-forwarded-for`), set by a trusted HTTP proxy; '' : none. */
  readonly proxy_address_header: string;
  /** The header naming the client's port (`x-forwarded-port`); '': none. */
  readonly proxy_port_header: string;
}

/** One entry of `listeners.<type>.<name>`. */
export interface ListenerConfig {
  readonly enable: boolean;
  /** Normalised `ip:port` or `[ipv6]:port`. */
  readonly bind: string;
  /** Infinity: no limit. */
  readonly max_connections: number;
  /** Prefixed to every topic the listener's clients publish and subscribe to ('' = none). */
  readonly mountpoint: string;
  /** New connections served per second, Infinity: no limit (EMQX's `max_conn_rate`). */
  readonly max_conn_rate: number;
  /** PUBLISH packets read per second from each client (`messages_rate`). */
  readonly messages_rate: number;
  /** The authentication chain for this listener's clients; false: none (anonymous); quick_deny_anonymous: a client without a user name is refused at once. */
  readonly enable_authn: boolean | 'quick_deny_anonymous';
  /** Which client addresses are accepted ("allow all", "deny 10.0.0.0/8", ...; mqtt/access-rules.ts). */
  readonly access_rules: readonly string[];
  /** Bytes read per second from each client (`bytes_rate`). */
  readonly bytes_rate: number;
  /** A load balancer's PROXY protocol header (v1 or v2) comes first on every connection: it gives the client's address. */
  readonly proxy_protocol: boolean;
  /** ms a connection has to send that header. */
  readonly proxy_protocol_timeout: number;
  readonly ssl_options?: ListenerSslOptions;
  readonly websocket?: WebsocketOptions;
  /** Present (true) when the entry comes from the defaults, not from the file. */
  readonly implicit?: boolean;
  /** A default listener turned off because a listener from the file wants its port. */
  readonly shadowed_by?: string;
  /** Why a default listener is off although enabled (e.g. no certificate on a fresh install). */
  readonly off_reason?: string;
  /** ssl/wss: node:tls server options with the certificate files' contents (read by the loader). */
  readonly tls?: TlsOptions & SecureContextOptions;
}

export type ListenersConfig = { readonly [T in ListenerType]: Readonly<Record<string, ListenerConfig>> };

/** `mqtt.*`: durations in ms, Infinity for `infinity`. */
export interface MqttConfig {
  readonly idle_timeout: number;
  readonly max_packet_size: number;
  readonly max_clientid_len: number;
  readonly max_topic_levels: number;
  readonly max_qos_allowed: 0 | 1 | 2;
  readonly max_topic_alias: number;
  readonly retain_available: boolean;
  readonly wildcard_subscription: boolean;
  readonly shared_subscription: boolean;
  /** `$exclusive/<filter>` subscriptions (off: refused with 0x8F, as EMQX). */
  readonly exclusive_subscription: boolean;
  readonly ignore_loop_deliver: boolean;
  readonly strict_mode: boolean;
  readonly response_information: string;
  /** Seconds; 0 = disabled (the client's keepalive stands). */
  readonly server_keepalive: number;
  readonly keepalive_multiplier: number;
  readonly retry_interval: number;
  readonly max_awaiting_rel: number;
  readonly await_rel_timeout: number;
  readonly session_expiry_interval: number;
  readonly max_mqueue_len: number;
  readonly mqueue_store_qos0: boolean;
  readonly max_inflight: number;
  readonly max_subscriptions: number;
  readonly upgrade_qos: boolean;
  readonly use_username_as_clientid: boolean;
  readonly message_expiry_interval: number;
  /** mqtt.shared_subscription_strategy, else broker.shared_subscription_strategy, else round_robin. */
  readonly shared_subscription_strategy: SharedSubscriptionStrategy;
  /** ssl/wss: the client certificate's field used as user name / client id (`disabled`: none). */
  readonly peer_cert_as_username: PeerCertAs;
  readonly peer_cert_as_clientid: PeerCertAs;
}

export type PeerCertAs = 'disabled' | 'cn' | 'dn' | 'crt' | 'pem' | 'md5';

export type SharedSubscriptionStrategy = 'random' | 'round_robin' | 'round_robin_per_group' | 'sticky' | 'local' | 'hash_clientid' | 'hash_topic';

export interface BrokerConfig {
  /** The older name of mqtt.shared_subscription_strategy (which the broker reads). */
  readonly shared_subscription_strategy?: SharedSubscriptionStrategy;
}

export interface RetainerConfig {
  readonly enable: boolean;
  /** ms; 0 = never expire */
  readonly msg_expiry_interval: number;
  readonly max_payload_size: number;
  readonly stop_publish_clear_msg: boolean;
  readonly backend: {
    /** 0 = no limit */
    readonly max_retained_messages: number;
  };
}

export interface DelayedConfig {
  readonly enable: boolean;
  /** 0 = no limit */
  readonly max_delayed_messages: number;
}

/** One rule of `rewrite` (EMQX's topic rewrite). */
export interface RewriteRuleConfig {
  readonly action: 'publish' | 'subscribe' | 'all';
  readonly source_topic: string;
  readonly dest_topic: string;
  readonly re: string;
}

/** One of `auto_subscribe.topics`. */
export interface AutoSubscribeTopic {
  readonly topic: string;
  readonly qos: number;
  readonly rh: number;
  readonly rap: number;
  readonly nl: number;
}

/** `slow_subs` (EMQX's slow subscriptions); times in ms. */
export interface SlowSubsConfig {
  readonly enable: boolean;
  readonly threshold: number;
  readonly expire_interval: number;
  readonly top_k_num: number;
  readonly stats_type: 'whole' | 'internal' | 'response';
}

export interface SysTopicsConfig {
  /** ms; 0 = disabled */
  readonly sys_msg_interval: number;
  /** ms; 0 = disabled */
  readonly sys_heartbeat_interval: number;
  readonly sys_event_messages: {
    readonly client_connected: boolean;
    readonly client_disconnected: boolean;
    readonly client_subscribed: boolean;
    readonly client_unsubscribed: boolean;
  };
}

/** `alarm`: what an alarm does, and how many deactivated ones are kept for how long. */
export interface AlarmConfig {
  readonly actions: ReadonlyArray<'log' | 'publish'>;
  readonly size_limit: number;
  /** ms */
  readonly validity_period: number;
}

/** `sysmon.os` (fractions for percentages; ms for intervals, 0 = disabled). */
export interface SysmonConfig {
  readonly os: {
    readonly cpu_check_interval: number;
    readonly cpu_high_watermark: number;
    readonly cpu_low_watermark: number;
    readonly mem_check_interval: number;
    readonly sysmem_high_watermark: number;
  };
  /** EMQX's process keys, applied to open files (alarm `too_many_open_files`). */
  readonly vm: {
    readonly process_check_interval: number;
    readonly process_high_watermark: number;
    readonly process_low_watermark: number;
    /** ms a garbage collection pause may take before it is reported; 0 = disabled. */
    readonly long_gc: number;
    /** ms the event loop may go without turning before it is reported; 0 = disabled. */
    readonly long_schedule: number;
  };
}

/** `overload_protection`: whether an overloaded node refuses new connections. */
export interface OverloadProtectionConfig {
  readonly enable: boolean;
  readonly backoff_new_conn: boolean;
}

export interface ConnCongestionConfig {
  readonly enable_alarm: boolean;
  /** ms an alarm stays at least, once raised */
  readonly min_alarm_sustain_duration: number;
}

/** `dashboard.listeners.<http|https>`: `bind` normalised to `ip:port`; port 0 = off, as in EMQX. */
export interface DashboardListenerConfig {
  readonly enable: boolean;
  readonly bind: string;
  readonly max_connections: number;
  /** https only: file paths absolute; the files are read when the listener starts. */
  readonly ssl_options?: {
    readonly certfile: string;
    readonly keyfile: string;
    readonly cacertfile?: string;
    readonly verify: 'verify_peer' | 'verify_none';
    readonly versions: readonly string[];
    readonly ciphers: readonly string[];
    readonly password?: string;
    readonly honor_cipher_order: boolean;
  };
  /**
   * https only: a digest of the certificate files' contents as loaded (added by the loader, not
   * shown by `conf show`), so a certificate renewed under the same names is a change on reload.
   */
  readonly tls?: string;
}

/** `dashboard.*`: the HTTP API and its page (src/api/). */
export interface DashboardConfig {
  readonly listeners: { readonly http: DashboardListenerConfig; readonly https: DashboardListenerConfig };
  /** The administrator created when the admins table is empty at start. */
  readonly default_username: string;
  /** Secret. */
  readonly default_password: string;
  /** How long a login token is valid, ms. */
  readonly token_expired_time: number;
  /** How often /monitor samples are taken, ms. */
  readonly sample_interval: number;
  /** A username that fails this many logins within `unsuccessful_login_interval` (ms) is locked for `unsuccessful_login_lock_duration` (ms). */
  readonly unsuccessful_login_max_attempts: number;
  readonly unsuccessful_login_interval: number;
  readonly unsuccessful_login_lock_duration: number;
}

export interface ApiKeyConfig {
  /** Lines of `key:secret` loaded into the API key table at start; absent: none. */
  readonly bootstrap_file?: string;
}

/** EMQX's password_hash_algorithm of a built_in_database authenticator. */
export type PasswordHashAlgorithm =
  | { readonly name: 'pbkdf2'; readonly mac_fun: 'sha' | 'sha224' | 'sha256' | 'sha384' | 'sha512'; readonly iterations: number; readonly dk_length?: number }
  | { readonly name: 'bcrypt'; readonly salt_rounds: number }
  | { readonly name: 'plain' | 'md5' | 'sha' | 'sha256' | 'sha512'; readonly salt_position: 'disable' | 'prefix' | 'suffix' };

/** One entry of `authentication = [...]`. */
export type AuthenticatorConfig = BuiltinAuthenticatorConfig | ScramAuthenticatorConfig | HttpAuthenticatorConfig | RedisAuthenticatorConfig | SqlAuthenticatorConfig | LdapAuthenticatorConfig | JwtAuthenticatorConfig | UnservedAuthenticatorConfig;

/** An HTTP service asked by an authenticator or an authorization source (auth/http-request.ts). */
export interface HttpServiceConfig {
  readonly method: 'get' | 'post';
  /** May hold placeholders (`${clientid}`, ...), URL-encoded when filled. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Readonly<Record<string, string>>;
  /** ms */
  readonly request_timeout: number;
  /** Connections kept to the service at most (more checks at once wait for one). */
  readonly pool_size: number;
  /** For https: the CA file (absolute), whether the server is verified, the SNI. */
  readonly ssl?: { readonly cacertfile?: string; readonly verify: boolean; readonly server_name_indication?: string };
}

/** A Redis server, cluster or sentinel group (EMQX's emqx_redis keys). */
export interface RedisConnConfig {
  readonly redis_type: 'single' | 'cluster' | 'sentinel';
  /** `server` (single) or `servers` (cluster, sentinel), port 6379 when not given. */
  readonly servers: ReadonlyArray<{ readonly host: string; readonly port: number }>;
  /** sentinel: the master's name. */
  readonly sentinel?: string;
  readonly database: number;
  readonly username?: string;
  readonly password?: string;
  readonly ssl?: { readonly cacertfile?: string; readonly verify: boolean; readonly server_name_indication?: string };
}

/** password_based + redis: the user's hash, salt and superuser flag from a Redis hash (EMQX's emqx_authn_redis). */
export interface RedisAuthenticatorConfig extends RedisConnConfig {
  readonly mechanism: 'password_based';
  readonly backend: 'redis';
  readonly enable: boolean;
  /** `HMGET <key> <field> ...` or `HGET <key> <field>`, split; placeholders in the key. */
  readonly cmd: readonly string[];
  readonly password_hash_algorithm: PasswordHashAlgorithm;
}

/** A PostgreSQL or MySQL server (EMQX's emqx_postgresql and emqx_mysql keys). */
export interface SqlConnConfig {
  readonly server: { readonly host: string; readonly port: number };
  readonly database: string;
  readonly username?: string;
  readonly password?: string;
  /** Connections kept at most. */
  readonly pool_size: number;
  readonly ssl?: { readonly cacertfile?: string; readonly verify: boolean; readonly server_name_indication?: string };
}

/** password_based + postgresql or mysql: the user's hash, salt and superuser flag from a query (EMQX's emqx_authn_postgresql, emqx_authn_mysql). */
export interface SqlAuthenticatorConfig extends SqlConnConfig {
  readonly mechanism: 'password_based';
  readonly backend: 'postgresql' | 'mysql';
  readonly enable: boolean;
  /** SQL with `${username}`-style placeholders (sent as parameters). */
  readonly query: string;
  readonly password_hash_algorithm: PasswordHashAlgorithm;
}

/** An LDAP directory (EMQX's emqx_ldap keys). */
export interface LdapConnConfig {
  readonly server: { readonly host: string; readonly port: number };
  /** The DN searches bind as. */
  readonly username: string;
  readonly password?: string;
  /** ms, every operation. */
  readonly query_timeout: number;
  readonly ssl?: { readonly cacertfile?: string; readonly verify: boolean; readonly server_name_indication?: string };
}

/** password_based + ldap: the user's entry found by base_dn and filter, its password checked or bound with (EMQX's emqx_authn_ldap). */
export interface LdapAuthenticatorConfig extends LdapConnConfig {
  readonly mechanism: 'password_based';
  readonly backend: 'ldap';
  readonly enable: boolean;
  /** With placeholders (DN-escaped when filled). */
  readonly base_dn: string;
  /** With placeholders (filter-escaped when filled). */
  readonly filter: string;
  readonly method:
    | { readonly type: 'hash'; readonly password_attribute: string; readonly is_superuser_attribute: string }
    | { readonly type: 'bind'; readonly bind_password: string; readonly is_superuser_attribute: string };
}

/** password_based + http: an HTTP service decides (EMQX's emqx_authn_http). */
export interface HttpAuthenticatorConfig extends HttpServiceConfig {
  readonly mechanism: 'password_based';
  readonly backend: 'http';
  readonly enable: boolean;
}

/** jwt with a secret (HS256/384/512), a public key or a JWKS endpoint (RS*, PS*, ES*): EMQX's emqx_authn_jwt. */
export interface JwtAuthenticatorConfig {
  readonly mechanism: 'jwt';
  readonly enable: boolean;
  /** Absent with `jwks`. */
  readonly algorithm?: 'hmac-based' | 'public-key';
  /** use_jwks = true: the keys are fetched from `endpoint` every `refresh_interval` (ms). */
  readonly jwks?: { readonly endpoint: string; readonly refresh_interval: number; readonly ssl?: { readonly cacertfile?: string; readonly verify: boolean; readonly server_name_indication?: string } };
  /** Where the client puts its token. */
  readonly from: 'password' | 'username';
  readonly secret?: string;
  readonly secret_base64_encoded?: boolean;
  readonly public_key?: string;
  /** Claims the token must hold, `${clientid}` / `${username}` filled in. */
  readonly verify_claims: Readonly<Record<string, string>>;
  /** The claim holding the client's authorization rules. */
  readonly acl_claim_name: string;
  /** Close the connection when the token expires. */
  readonly disconnect_after_expire: boolean;
}

/** An authenticator of a kind this node does not serve (jwt, http, ldap, ...): it never decides. */
export interface UnservedAuthenticatorConfig {
  readonly mechanism: string;
  readonly backend?: string;
  readonly enable: boolean;
  readonly unserved: true;
}

/** password_based + built_in_database, the kind served. */
export interface BuiltinAuthenticatorConfig {
  readonly mechanism: 'password_based';
  readonly backend: 'built_in_database';
  readonly enable: boolean;
  readonly user_id_type: 'username' | 'clientid';
  readonly password_hash_algorithm: PasswordHashAlgorithm;
  /** Users added at start when missing (EMQX's CSV or JSON format); absent: none. */
  readonly bootstrap_file?: string;
  readonly bootstrap_type: 'plain' | 'hash';
}

/** scram + built_in_database: MQTT 5 enhanced authentication (EMQX's emqx_authn_scram_mnesia). */
export interface ScramAuthenticatorConfig {
  readonly mechanism: 'scram';
  readonly backend: 'built_in_database';
  readonly enable: boolean;
  /** The method clients name: SCRAM-SHA-256 or SCRAM-SHA-512. */
  readonly algorithm: 'sha256' | 'sha512';
  /** PBKDF2 iterations of a password stored from now on (a stored user keeps its own). */
  readonly iteration_count: number;
}

export type AuthzSourceConfig =
  | { readonly type: 'file'; readonly enable: boolean; readonly path: string }
  | { readonly type: 'built_in_database'; readonly enable: boolean; readonly max_rules: number }
  /** An HTTP service decides each check (EMQX's emqx_authz_http). */
  | ({ readonly type: 'http'; readonly enable: boolean } & HttpServiceConfig)
  /** The client's rules from a query's rows (EMQX's emqx_authz_postgresql, emqx_authz_mysql). */
  | ({ readonly type: 'postgresql' | 'mysql'; readonly enable: boolean; readonly query: string } & SqlConnConfig)
  /** The client's allow rules from its LDAP entry's topic attributes (EMQX's emqx_authz_ldap). */
  | ({
      readonly type: 'ldap';
      readonly enable: boolean;
      /** With placeholders (DN-escaped when filled). */
      readonly base_dn: string;
      /** With placeholders (filter-escaped when filled). */
      readonly filter: string;
      readonly publish_attribute: string;
      readonly subscribe_attribute: string;
      readonly all_attribute: string;
    } & LdapConnConfig)
  /** The client's allow rules from a Redis hash, `HGETALL <key>` (EMQX's emqx_authz_redis). */
  | ({ readonly type: 'redis'; readonly enable: boolean; readonly cmd: readonly string[] } & RedisConnConfig)
  /** A source of a kind this node does not serve (http, mysql, ...): it never matches. */
  | { readonly type: string; readonly enable: boolean; readonly unserved: true };

/** `authorization.*` (src/auth/). */
export interface AuthorizationConfig {
  readonly no_match: 'allow' | 'deny';
  readonly deny_action: 'ignore' | 'disconnect';
  readonly cache: {
    readonly enable: boolean;
    readonly max_size: number;
    /** ms */
    readonly ttl: number;
    readonly excludes: readonly string[];
  };
  /** Absent: EMQX's default, the file `${EMQX_ETC_DIR}/acl.conf` (skipped with a warning when missing). */
  readonly sources?: readonly AuthzSourceConfig[];
}

/** One dimension of `flapping_detect`: so many connects within the window bans for ban_time. */
export interface FlappingPolicy {
  readonly enable: boolean;
  readonly max_count: number;
  /** ms */
  readonly window_time: number;
  /** ms */
  readonly ban_time: number;
}

/** `flapping_detect.*`: by client id (EMQX's keys), plus ours by peer host and by user name. */
export interface FlappingConfig extends FlappingPolicy {
  readonly by_peerhost: FlappingPolicy;
  readonly by_username: FlappingPolicy;
}

export interface LogConfig {
  /** EMQX's level name: the most verbose of the handlers' levels, `info` when none is set. */
  readonly level: LogLevel;
  /** The file the node writes, its rotation and formatter (config/log-outputs.ts). */
  readonly file: LogFileConfig;
  /** The terminal, in the foreground modes. */
  readonly console: LogConsoleConfig;
}

export interface Config {
  readonly node: NodeConfig;
  readonly cluster: ClusterConfig;
  readonly listeners: ListenersConfig;
  readonly mqtt: MqttConfig;
  readonly broker: BrokerConfig;
  readonly retainer: RetainerConfig;
  readonly delayed: DelayedConfig;
  readonly rewrite: readonly RewriteRuleConfig[];
  /** Topics metered from the start (EMQX's topic metrics), besides those added through the API. */
  readonly topic_metrics: ReadonlyArray<{ readonly topic: string }>;
  readonly auto_subscribe: { readonly topics: readonly AutoSubscribeTopic[] };
  readonly sys_topics: SysTopicsConfig;
  readonly slow_subs: SlowSubsConfig;
  readonly dashboard: DashboardConfig;
  readonly api_key: ApiKeyConfig;
  readonly authentication: readonly AuthenticatorConfig[];
  readonly authorization: AuthorizationConfig;
  readonly flapping_detect: FlappingConfig;
  readonly alarm: AlarmConfig;
  readonly sysmon: SysmonConfig;
  readonly conn_congestion: ConnCongestionConfig;
  readonly overload_protection: OverloadProtectionConfig;
  /** From EMQX's `log` section: level, file and terminal; absent in hand-built configs. */
  readonly log?: LogConfig;
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
