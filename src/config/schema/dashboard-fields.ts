// The keys of the HTTP API and its dashboard page: `dashboard` and `api_key`, with EMQX 5.8's
// names and defaults (emqx_dashboard_schema, emqx_mgmt_api_key_schema). As elsewhere, keys EMQX
// has and this node does not use are declared `emqx`, so a real EMQX file loads unchanged.
import type { Field } from './fields.js';
import { bind, bool, emqx, int, object, oneOf, str, UNUSED_SSL_OPTIONS } from './builders.js';

/** `bind = 0` turns a dashboard listener off, as in EMQX; a bare port binds every IPv4 address. */
/** A file, or `""` for none (EMQX's default for api_key.bootstrap_file). */
const optionalFile: Field = { type: { kind: 'word_or', words: { '': undefined }, of: { kind: 'file' } } };

/** What both listeners have. EMQX's socket tuning keys are accepted and not used. */
const commonListenerFields: Record<string, Field> = {
  max_connections: int(1, Number.MAX_SAFE_INTEGER, 512),
  num_acceptors: emqx,
  backlog: emqx,
  send_timeout: emqx,
  inet6: emqx,
  ipv6_v6only: emqx,
  proxy_header: emqx,
};

/** `dashboard.listeners.https.ssl_options`: the server side of TLS (EMQX's server_ssl_opts_schema). */
const sslOptionFields: Record<string, Field> = {
  certfile: { type: { kind: 'file' }, default: '${EMQX_ETC_DIR}/certs/cert.pem' },
  keyfile: { type: { kind: 'file' }, default: '${EMQX_ETC_DIR}/certs/key.pem' },
  cacertfile: { type: { kind: 'file' } },
  verify: oneOf(['verify_peer', 'verify_none'], 'verify_none'),
  versions: { type: { kind: 'string_list', values: ['tlsv1.3', 'tlsv1.2', 'tlsv1.1', 'tlsv1'] }, default: ['tlsv1.3', 'tlsv1.2'] },
  ciphers: { type: { kind: 'string_list' }, default: [] },
  password: str(),
  honor_cipher_order: bool(true),
  fail_if_no_peer_cert: emqx,
  depth: emqx,
  handshake_timeout: emqx,
  ...UNUSED_SSL_OPTIONS,
};

export const DASHBOARD_FIELDS: Readonly<Record<string, Field>> = {
  listeners: object({
    // EMQX's schema default is 0 (off); its shipped emqx_dashboard.conf sets http.bind = 18083.
    http: object({ enable: bool(true), bind: bind('0.0.0.0:18083'), ...commonListenerFields }),
    https: object({ enable: bool(false), bind: bind('0.0.0.0:18084'), ssl_options: object(sslOptionFields), ...commonListenerFields }),
  }),
  default_username: str('admin'),
  default_password: str('public'),
  token_expired_time: { type: { kind: 'duration', integerUnitMs: 1, minMs: 1000 }, default: '60m' },
  // EMQX: seconds in 1..60 that divide 60; the /monitor samples are taken this often.
  sample_interval: { type: { kind: 'duration', integerUnitMs: 1000, minMs: 1000 }, default: '10s' },
  cors: emqx,
  swagger_support: emqx,
  i18n_lang: emqx,
  bootstrap_users_file: emqx,
  sso: emqx,
  password_expired_time: emqx,
  // A username that fails this many logins within the interval is locked for the duration.
  unsuccessful_login_max_attempts: int(3, Number.MAX_SAFE_INTEGER, 5),
  unsuccessful_login_lock_duration: { type: { kind: 'duration', integerUnitMs: 1000, minMs: 1000 }, default: '10m' },
  unsuccessful_login_interval: { type: { kind: 'duration', integerUnitMs: 1000, minMs: 1000 }, default: '5m' },
};

export const API_KEY_FIELDS: Readonly<Record<string, Field>> = {
  bootstrap_file: optionalFile,
};
