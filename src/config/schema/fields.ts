// The keys under `node` and `cluster` (SPEC §2), as data: their types, defaults and what is ours;
// the broker's roots are in broker-fields.ts. Keys EMQX has but this node does not use are
// declared `emqx` so a real EMQX file loads unchanged; anything else under these roots is an error.
import { AUTO_SUBSCRIBE_FIELDS, REWRITE_FIELD, TOPIC_METRICS_FIELD } from './module-fields.js';
import { BROKER_FIELDS, LISTENERS_FIELDS, MQTT_FIELDS, RETAINER_FIELDS, DELAYED_FIELDS, SLOW_SUBS_FIELDS, SYS_TOPICS_FIELDS } from './broker-fields.js';
import { API_KEY_FIELDS, DASHBOARD_FIELDS } from './dashboard-fields.js';
import { ALARM_FIELDS, CONN_CONGESTION_FIELDS, OVERLOAD_PROTECTION_FIELDS, SYSMON_FIELDS } from './alarm-fields.js';
import { AUTHENTICATION_FIELD, AUTHORIZATION_FIELDS, FLAPPING_FIELDS, MQTT_AUTH_FIELDS } from './auth-fields.js';
import { duration, emqx, oneOf, str } from './builders.js';

/** How long a silent peer is tolerated when the config does not say: silent peer noticed within 5 s (SPEC §6). */
export const DEFAULT_DIST_NET_TICKTIME_MS = 4000;

export const DEFAULT_K8S_TOKEN_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/token';
export const DEFAULT_K8S_CACERT_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt';

export type FieldType =
  | { readonly kind: 'string' }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'integer'; readonly min: number; readonly max: number }
  /** In ms; a bare integer counts in `integerUnitMs` (EMQX: ms, or s for its `duration_s` keys). */
  | { readonly kind: 'duration'; readonly integerUnitMs: number; readonly minMs: number }
  | { readonly kind: 'node_name' }
  /** An array of node names or one comma-separated string of them. */
  | { readonly kind: 'node_list' }
  /** An array of URLs or one comma-separated string of them. */
  | { readonly kind: 'url_list' }
  | { readonly kind: 'url' }
  /** A directory, relative to the install root. */
  | { readonly kind: 'dir' }
  /** A file; a leading `${VAR}` is expanded from the environment as EMQX does, then relative to the install root. */
  | { readonly kind: 'file' }
  /** `host:port` (or `[v6]:port`, or a bare host meaning port 53). */
  | { readonly kind: 'dns_server' }
  | { readonly kind: 'object'; readonly fields: Readonly<Record<string, Field>>; readonly optionalBlock?: boolean }
  /**
   * Named entries, each an object of `fields` (`listeners.tcp.<name>`). `defaults` are entries
   * that exist unless the file says otherwise; a file's entry of the same name is merged over one.
   */
  | { readonly kind: 'map'; readonly fields: Readonly<Record<string, Field>>; readonly defaults?: Readonly<Record<string, Readonly<Record<string, unknown>>>> }
  /** One of a few words standing for a value (`infinity`, `disabled`), or a value of type `of`. */
  | { readonly kind: 'word_or'; readonly words: Readonly<Record<string, unknown>>; readonly of: FieldType }
  /** A number, integral or not. */
  | { readonly kind: 'number'; readonly min: number; readonly max: number }
  /** A percentage written `80%` (EMQX's percent type), kept as a fraction (0.8). */
  | { readonly kind: 'percent' }
  /** In bytes: `1MB`, `512KB` or an integer. */
  | { readonly kind: 'bytesize' }
  /** A rate per second (Infinity for `infinity`): `1000/s`, `100/10s`; `1MB/s` when `bytes`. */
  | { readonly kind: 'rate'; readonly bytes: boolean }
  /** A listener address: a port, `ip:port` or `[ipv6]:port`; kept as text, normalised. */
  | { readonly kind: 'bind' }
  /** An array of strings or one comma-separated string; `values` limits them when given. */
  | { readonly kind: 'string_list'; readonly values?: readonly string[] }
  /** An EMQX key this node accepts and does not use; its value is not checked. */
  | { readonly kind: 'emqx' }
  /** Checked by its own function (arrays of entries of several kinds: authentication, authorization.sources). */
  | {
      readonly kind: 'custom';
      readonly expected: string;
      /** `file` converts a path as a `file` key does. */
      convert(v: unknown, file: (path: string) => { ok: true; value: unknown } | { ok: false; reason: string }): { ok: true; value: unknown } | { ok: false; reason: string };
    };

export interface Field {
  readonly type: FieldType;
  /** Written as in the file (`'24h'`), converted like a configured value. */
  readonly default?: unknown;
  readonly required?: boolean;
  /** Ours, not EMQX's. */
  readonly ours?: boolean;
  /** The canonical key this one is an old name for (EMQX's aliases). */
  readonly aliasOf?: string;
}

export const DISCOVERY_STRATEGIES = ['manual', 'static', 'singleton', 'dns', 'etcd', 'k8s'] as const;
export const PROTO_DISTS = ['inet_tcp', 'inet6_tcp', 'inet_tls', 'inet6_tls'] as const;

const etcdSslFields: Record<string, Field> = {
  // Ours differs: the block being written means TLS is wanted, so `enable` defaults to true here.
  enable: { type: { kind: 'boolean' }, default: true },
  cacertfile: { type: { kind: 'file' } },
  certfile: { type: { kind: 'file' } },
  keyfile: { type: { kind: 'file' } },
  verify: oneOf(['verify_peer', 'verify_none'], 'verify_none'),
  server_name_indication: str(),
  // EMQX's other TLS client options: accepted, not used.
  cacerts: emqx,
  reuse_sessions: emqx,
  depth: emqx,
  password: emqx,
  versions: emqx,
  ciphers: emqx,
  secure_renegotiate: emqx,
  log_level: emqx,
  hibernate_after: emqx,
  partial_chain: emqx,
  verify_peer_ext_key_usage: emqx,
  middlebox_comp_mode: emqx,
  user_lookup_fun: emqx,
  enable_crl_check: emqx,
};

export const NODE_FIELDS: Readonly<Record<string, Field>> = {
  name: { type: { kind: 'node_name' }, default: 'emqx@127.0.0.1' },
  cookie: { type: { kind: 'string' }, required: true },
  data_dir: { type: { kind: 'dir' }, default: 'data' },
  role: oneOf(['core'], 'core'),
  db_role: { ...oneOf(['core']), aliasOf: 'role' },
  // EMQX: a bare integer is seconds (its `duration_s`); ours defaults far shorter than its 2m.
  dist_net_ticktime: { type: { kind: 'duration', integerUnitMs: 1000, minMs: 200 }, default: `${DEFAULT_DIST_NET_TICKTIME_MS}ms` },
  dist_base_port: { type: { kind: 'integer', min: 1024, max: 65535 }, default: 4370, ours: true },
  dist_busy_poll: { type: { kind: 'boolean' }, default: true, ours: true },
  process_limit: emqx,
  max_ports: emqx,
  dist_buffer_size: emqx,
  max_ets_tables: emqx,
  config_files: emqx,
  global_gc_interval: emqx,
  crash_dump_file: emqx,
  crash_dump_seconds: emqx,
  crash_dump_bytes: emqx,
  backtrace_depth: emqx,
  applications: emqx,
  etc_dir: emqx,
  cluster_call: emqx,
  db_backend: emqx,
  rpc_module: emqx,
  tlog_push_mode: emqx,
  default_shard_transport: emqx,
  shard_transports: emqx,
  default_bootstrap_batch_size: emqx,
  broker_pool_size: emqx,
  generic_pool_size: emqx,
  channel_cleanup_batch_size: emqx,
};

export const CLUSTER_FIELDS: Readonly<Record<string, Field>> = {
  name: str('emqxcl'),
  discovery_strategy: oneOf(DISCOVERY_STRATEGIES, 'manual'),
  proto_dist: oneOf(PROTO_DISTS, 'inet_tcp'),
  autoheal: { type: { kind: 'boolean' }, default: true },
  autoclean: duration('24h'),
  static: { type: { kind: 'object', fields: { seeds: { type: { kind: 'node_list' }, default: [] } } } },
  dns: {
    type: {
      kind: 'object',
      fields: {
        name: str('localhost'),
        record_type: oneOf(['a', 'aaaa', 'srv'], 'a'),
        server: { type: { kind: 'dns_server' }, ours: true },
      },
    },
  },
  etcd: {
    type: {
      kind: 'object',
      fields: {
        server: { type: { kind: 'url_list' }, default: [] },
        prefix: str('emqxcl'),
        node_ttl: duration('1m', 1000),
        ssl_options: { type: { kind: 'object', fields: etcdSslFields, optionalBlock: true } },
        ssl: { type: { kind: 'object', fields: etcdSslFields, optionalBlock: true }, aliasOf: 'ssl_options' },
      },
    },
  },
  k8s: {
    type: {
      kind: 'object',
      fields: {
        apiserver: { type: { kind: 'url' }, default: 'https://kubernetes.default.svc:443' },
        service_name: str('emqx'),
        namespace: str('default'),
        address_type: oneOf(['ip', 'dns', 'hostname'], 'ip'),
        suffix: str('pod.local'),
        token_file: { type: { kind: 'file' }, default: DEFAULT_K8S_TOKEN_FILE, ours: true },
        cacert_file: { type: { kind: 'file' }, default: DEFAULT_K8S_CACERT_FILE, ours: true },
      },
    },
  },
  quic_lb_mode: emqx,
  prevent_overlapping_partitions: emqx,
  core_nodes: emqx,
  links: emqx,
  mcast: emqx,
};

/** The roots this node reads; every other root is EMQX's business and ignored. */
export const ROOT_FIELDS: Readonly<Record<string, Field>> = {
  node: { type: { kind: 'object', fields: NODE_FIELDS } },
  cluster: { type: { kind: 'object', fields: CLUSTER_FIELDS } },
  listeners: { type: { kind: 'object', fields: LISTENERS_FIELDS } },
  mqtt: { type: { kind: 'object', fields: { ...MQTT_FIELDS, ...MQTT_AUTH_FIELDS } } },
  broker: { type: { kind: 'object', fields: BROKER_FIELDS } },
  retainer: { type: { kind: 'object', fields: RETAINER_FIELDS } },
  delayed: { type: { kind: 'object', fields: DELAYED_FIELDS } },
  rewrite: REWRITE_FIELD,
  topic_metrics: TOPIC_METRICS_FIELD,
  auto_subscribe: { type: { kind: 'object', fields: AUTO_SUBSCRIBE_FIELDS } },
  sys_topics: { type: { kind: 'object', fields: SYS_TOPICS_FIELDS } },
  slow_subs: { type: { kind: 'object', fields: SLOW_SUBS_FIELDS } },
  dashboard: { type: { kind: 'object', fields: DASHBOARD_FIELDS } },
  api_key: { type: { kind: 'object', fields: API_KEY_FIELDS } },
  authentication: AUTHENTICATION_FIELD,
  authorization: { type: { kind: 'object', fields: AUTHORIZATION_FIELDS } },
  flapping_detect: { type: { kind: 'object', fields: FLAPPING_FIELDS } },
  alarm: { type: { kind: 'object', fields: ALARM_FIELDS } },
  sysmon: { type: { kind: 'object', fields: SYSMON_FIELDS } },
  conn_congestion: { type: { kind: 'object', fields: CONN_CONGESTION_FIELDS } },
  overload_protection: { type: { kind: 'object', fields: OVERLOAD_PROTECTION_FIELDS } },
};

/**
 * Whether `path` (e.g. ['cluster', 'static', 'seeds']) names a declared key, or lies inside an
 * EMQX key whose contents are not checked.
 */
export function isKnownKey(path: readonly string[]): boolean {
  let fields: Readonly<Record<string, Field>> = ROOT_FIELDS;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    const field = Object.hasOwn(fields, segment) ? fields[segment] : undefined;
    if (field === undefined) return false;
    if (field.type.kind === 'emqx') return true;
    if (field.type.kind === 'map') {
      // The next segment is an entry's name (any name will do), then the entry's fields.
      i++;
      fields = field.type.fields;
      continue;
    }
    if (field.type.kind !== 'object') return i === path.length - 1;
    fields = field.type.fields;
  }
  return true;
}

/** The declared keys one level below `path`, for suggestions. */
export function fieldsAt(path: readonly string[]): readonly string[] {
  let fields: Readonly<Record<string, Field>> = ROOT_FIELDS;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    const field = Object.hasOwn(fields, segment) ? fields[segment] : undefined;
    if (field === undefined) return [];
    if (field.type.kind === 'map') {
      if (i === path.length - 1) return [];
      i++;
    } else if (field.type.kind !== 'object') return [];
    fields = field.type.fields;
  }
  return Object.keys(fields);
}
