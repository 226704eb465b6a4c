// The keys of the MQTT broker: `listeners`, `mqtt`, `broker`, `retainer`, `delayed`, `sys_topics`, with
// EMQX 5's names and defaults. As for node/cluster, keys EMQX has and this node does not use are
// declared `emqx`: a real EMQX file loads unchanged, and the start-up warning names them.
import type { Field } from './fields.js';
import { ALLOW_ALL, parseAccessRule } from '../../mqtt/access-rules.js';
import { bind, bool, bytes, duration, durationOrInfinity, emqx, int, limit, object, oneOf, rate, str, UNUSED_SSL_OPTIONS } from './builders.js';

export const SHARED_SUBSCRIPTION_STRATEGIES = ['random', 'round_robin', 'round_robin_per_group', 'sticky', 'local', 'hash_clientid', 'hash_topic'] as const;

/** `listeners.<type>.<name>.ssl_options` (ssl and wss): the server side of TLS. */
const sslOptionFields: Record<string, Field> = {
  cacertfile: { type: { kind: 'file' }, default: '${EMQX_ETC_DIR}/certs/cacert.pem' },
  certfile: { type: { kind: 'file' }, default: '${EMQX_ETC_DIR}/certs/cert.pem' },
  keyfile: { type: { kind: 'file' }, default: '${EMQX_ETC_DIR}/certs/key.pem' },
  verify: oneOf(['verify_peer', 'verify_none'], 'verify_none'),
  fail_if_no_peer_cert: bool(false),
  versions: { type: { kind: 'string_list', values: ['tlsv1.3', 'tlsv1.2', 'tlsv1.1', 'tlsv1'] }, default: ['tlsv1.3', 'tlsv1.2'] },
  ciphers: { type: { kind: 'string_list' }, default: [] },
  depth: int(0, 255, 10),
  password: str(),
  handshake_timeout: duration('15s', 1),
  honor_cipher_order: bool(true),
  ...UNUSED_SSL_OPTIONS,
};

const websocketFields: Record<string, Field> = {
  mqtt_path: str('/mqtt'),
  fail_if_no_subprotocol: bool(true),
  supported_subprotocols: { type: { kind: 'string_list' }, default: 'mqtt, mqtt-v3, mqtt-v3.1.1, mqtt-v5' },
  max_frame_size: limit(1, 'infinity'),
  check_origin_enable: bool(false),
  allow_origin_absence: bool(true),
  check_origins: { type: { kind: 'string_list' }, default: 'http://localhost:18083, http://127.0.0.1:18083' },
  mqtt_piggyback: emqx,
  compress: emqx,
  idle_timeout: emqx,
  deflate_opts: emqx,
  validate_utf8: emqx,
  // Off by default, as in EMQX 6.3+ (5.x read x-forwarded-for from anyone, a spoofable address).
  proxy_address_header: str(''),
  proxy_port_header: str(''),
};

/** `enable_authn`: the chain for this listener's clients (true), none (false), or a client without a user name refused before it. */
const enableAuthn: Field = {
  type: {
    kind: 'custom',
    expected: 'true, false or quick_deny_anonymous',
    convert: (v) =>
      v === true || v === 'true'
        ? { ok: true, value: true }
        : v === false || v === 'false'
          ? { ok: true, value: false }
          : v === 'quick_deny_anonymous'
            ? { ok: true, value: v }
            : { ok: false, reason: `${typeof v === 'string' ? `'${v}'` : String(v)} is not true, false or quick_deny_anonymous` },
  },
  default: true,
};

/** `access_rules`: ["allow all"], ["deny 10.0.0.0/8", "allow all"], ... (mqtt/access-rules.ts). */
const accessRules: Field = {
  type: {
    kind: 'custom',
    expected: 'a list of rules such as "allow all" or "deny 10.0.0.0/8, 192.168.0.0/16"',
    convert: (v) => {
      const list = typeof v === 'string' ? [v] : v;
      if (!Array.isArray(list)) return { ok: false, reason: 'is not a list of rules (e.g. ["deny 10.0.0.0/8", "allow all"])' };
      const out: string[] = [];
      for (const [i, rule] of list.entries()) {
        if (typeof rule !== 'string') return { ok: false, reason: `[${i + 1}] is not a string` };
        const parsed = parseAccessRule(rule);
        if (typeof parsed === 'string') return { ok: false, reason: `[${i + 1}] ${parsed}` };
        out.push(rule.trim());
      }
      return { ok: true, value: out };
    },
  },
  default: ALLOW_ALL,
};

/** What every listener has; `bind` defaults to the type's standard port. */
const commonListenerFields: Record<string, Field> = {
  enable: bool(true),
  max_connections: limit(1, 'infinity'),
  mountpoint: str(''),
  acceptors: emqx,
  proxy_protocol: bool(false),
  proxy_protocol_timeout: duration('3s', 1),
  zone: emqx,
  enable_authn: enableAuthn,
  access_rules: accessRules,
  limiter: emqx,
  max_conn_rate: rate(false),
  messages_rate: rate(false),
  bytes_rate: rate(true),
  tcp_options: emqx,
};

export const LISTENER_FIELDS = {
  tcp: { ...commonListenerFields, bind: bind('0.0.0.0:1883') },
  ssl: { ...commonListenerFields, bind: bind('0.0.0.0:8883'), ssl_options: object(sslOptionFields) },
  ws: { ...commonListenerFields, bind: bind('0.0.0.0:8083'), websocket: object(websocketFields) },
  wss: { ...commonListenerFields, bind: bind('0.0.0.0:8084'), ssl_options: object(sslOptionFields), websocket: object(websocketFields) },
} as const;

/** Each type has a `default` listener unless the file says otherwise (enable = false). */
export const LISTENERS_FIELDS: Readonly<Record<string, Field>> = {
  tcp: { type: { kind: 'map', fields: LISTENER_FIELDS.tcp, defaults: { default: {} } } },
  ssl: { type: { kind: 'map', fields: LISTENER_FIELDS.ssl, defaults: { default: {} } } },
  ws: { type: { kind: 'map', fields: LISTENER_FIELDS.ws, defaults: { default: {} } } },
  wss: { type: { kind: 'map', fields: LISTENER_FIELDS.wss, defaults: { default: {} } } },
  quic: emqx,
};

export const MQTT_FIELDS: Readonly<Record<string, Field>> = {
  idle_timeout: durationOrInfinity('15s'),
  max_packet_size: bytes('1MB'),
  max_clientid_len: int(23, 65535, 65535),
  max_topic_levels: int(1, 65535, 128),
  max_qos_allowed: int(0, 2, 2),
  max_topic_alias: int(0, 65535, 65535),
  retain_available: bool(true),
  wildcard_subscription: bool(true),
  shared_subscription: bool(true),
  ignore_loop_deliver: bool(false),
  strict_mode: bool(false),
  response_information: str(''),
  server_keepalive: { type: { kind: 'word_or', words: { disabled: 0 }, of: { kind: 'integer', min: 1, max: 65535 } }, default: 'disabled' },
  keepalive_multiplier: { type: { kind: 'number', min: 1, max: 100 }, default: 1.5 },
  retry_interval: durationOrInfinity('30s'),
  max_awaiting_rel: limit(1, 100),
  await_rel_timeout: duration('300s', 1000),
  session_expiry_interval: duration('2h'),
  max_mqueue_len: limit(0, 1000),
  mqueue_store_qos0: bool(true),
  max_inflight: int(1, 65535, 32),
  max_subscriptions: limit(1, 'infinity'),
  upgrade_qos: bool(false),
  use_username_as_clientid: bool(false),
  message_expiry_interval: durationOrInfinity('infinity'),
  // EMQX 5's place for it; broker.shared_subscription_strategy is its older name (see schema.ts).
  shared_subscription_strategy: oneOf(SHARED_SUBSCRIPTION_STRATEGIES),
  exclusive_subscription: bool(false),
  subscription_message_filter: emqx,
  keepalive_check_interval: emqx,
  mqueue_priorities: emqx,
  mqueue_default_priority: emqx,
  peer_cert_as_username: emqx,
  peer_cert_as_clientid: emqx,
  client_attrs_init: emqx,
  clientid_override: emqx,
};

export const BROKER_FIELDS: Readonly<Record<string, Field>> = {
  shared_subscription_strategy: oneOf(SHARED_SUBSCRIPTION_STRATEGIES),
  shared_dispatch_ack_enabled: emqx,
  shared_subscription_initial_sticky_pick: emqx,
  enable_session_registry: emqx,
  session_locking_strategy: emqx,
  session_history_retain: emqx,
  route_batch_clean: emqx,
  perf: emqx,
  routing: emqx,
};

export const RETAINER_FIELDS: Readonly<Record<string, Field>> = {
  enable: bool(true),
  /** 0: retained messages do not expire (unless the publisher set a message expiry). */
  msg_expiry_interval: duration('0s'),
  max_payload_size: bytes('1MB'),
  stop_publish_clear_msg: bool(false),
  backend: object({
    /** 0: no limit. */
    max_retained_messages: int(0, Number.MAX_SAFE_INTEGER, 0),
    type: emqx,
    storage_type: emqx,
    index_specs: emqx,
    enable: emqx,
  }),
  msg_clear_interval: emqx,
  delivery_rate: emqx,
  max_publish_rate: emqx,
  flow_control: emqx,
};

/** EMQX's `delayed` (delayed publish, `$delayed/<seconds>/<topic>`). */
export const DELAYED_FIELDS: Readonly<Record<string, Field>> = {
  enable: bool(true),
  /** 0: no limit. */
  max_delayed_messages: int(0, Number.MAX_SAFE_INTEGER, 0),
};

/** EMQX's slow subscriptions (emqx_slow_subs_schema). */
export const SLOW_SUBS_FIELDS: Readonly<Record<string, Field>> = {
  enable: bool(false),
  threshold: duration('500ms', 100),
  expire_interval: duration('300s'),
  top_k_num: int(1, 1000, 10),
  stats_type: oneOf(['whole', 'internal', 'response'], 'whole'),
};

export const SYS_TOPICS_FIELDS: Readonly<Record<string, Field>> = {
  sys_msg_interval: { type: { kind: 'word_or', words: { disabled: 0 }, of: { kind: 'duration', integerUnitMs: 1, minMs: 100 } }, default: '1m' },
  sys_heartbeat_interval: { type: { kind: 'word_or', words: { disabled: 0 }, of: { kind: 'duration', integerUnitMs: 1, minMs: 100 } }, default: '30s' },
  sys_event_messages: object({
    client_connected: bool(true),
    client_disconnected: bool(true),
    client_subscribed: bool(false),
    client_unsubscribed: bool(false),
  }),
};
