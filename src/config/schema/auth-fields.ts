// The keys of authentication and authorization: `authentication` (the chain), `authorization`
// and `flapping_detect`, with EMQX 5.8's names and defaults (emqx_authn_schema,
// emqx_authn_mnesia_schema, emqx_authn_password_hashing, emqx_authz_schema, emqx_schema), and
// `mqtt.peer_cert_as_username` / `peer_cert_as_clientid`. The chain and the sources are arrays
// of entries whose keys depend on their kind, so they are checked here entry by entry. Served:
// password_based with built_in_database, http, redis, postgresql, mysql or ldap, jwt (a secret,
// a public key or a JWKS endpoint) and scram with built_in_database. Kinds this node does not serve (mysql, ldap, ...) are accepted, so an EMQX file loads, and kept
// as `unserved`: they act as EMQX's do while their backend is unreachable (they never decide),
// so a chain of only such authenticators lets nobody in, and the node warns at start.
import type { Field } from './fields.js';
import { bool, duration, emqx, int, object, oneOf } from './builders.js';

import { createPublicKey } from 'node:crypto';
import { parseDuration } from '../duration.js';
import { Entry, isObj, show, type Converted, type FileConverter } from './entry.js';
import type { HttpServiceConfig } from '../types.js';
import { authnCommandProblem, authzCommandProblem, splitCommand } from './redis-command.js';

const MAC_FUNS = ['sha', 'sha224', 'sha256', 'sha384', 'sha512'] as const;
const SIMPLE = ['plain', 'md5', 'sha', 'sha256', 'sha512'] as const;

function hashAlgorithm(e: Entry): unknown {
  const raw = e.raw('password_hash_algorithm') ?? { name: 'sha256', salt_position: 'prefix' };
  if (!isObj(raw)) return e.bad('password_hash_algorithm', `${show(raw)} is not an object`);
  const h = new Entry(`${e.at} password_hash_algorithm`, raw);
  const name = h.oneOf('name', ['pbkdf2', 'bcrypt', ...SIMPLE]);
  let out: unknown;
  if (name === 'pbkdf2') {
    const mac = h.oneOf('mac_fun', MAC_FUNS);
    const iterations = h.int('iterations', 1, 100_000_000);
    if (iterations === undefined && h.v.iterations === undefined) h.bad('iterations', 'is required for pbkdf2 (EMQX\'s dashboard suggests 4096)');
    const dk = h.int('dk_length', 1, 1024);
    out = { name, mac_fun: mac, iterations, ...(dk !== undefined ? { dk_length: dk } : {}) };
  } else if (name === 'bcrypt') {
    // EMQX clamps salt_rounds into 5..10 rather than refusing.
    const rounds = h.int('salt_rounds', 0, 31, 10);
    out = { name, salt_rounds: Math.min(10, Math.max(5, rounds ?? 10)) };
  } else if (name !== undefined) {
    out = { name, salt_position: h.oneOf('salt_position', ['disable', 'prefix', 'suffix'], 'prefix') };
  }
  h.rest();
  e.problems.push(...h.problems);
  return out;
}

/** Placeholders an HTTP request or a JWT claim may hold. */
const AUTHN_VARS = ['clientid', 'username', 'password', 'peerhost', 'cert_common_name', 'cert_subject'];
/** The placeholders of an HTTP authorization request (auth/authz/http-source.ts fills them). */
export const AUTHZ_HTTP_VARS = ['clientid', 'username', 'peerhost', 'proto_name', 'mountpoint', 'action', 'access', 'topic', 'qos', 'retain', 'cert_common_name'];

/** A template's unknown placeholders, as a reason; undefined when they are all known. */
function badPlaceholders(text: string, known: readonly string[]): string | undefined {
  const unknown = [...text.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]!.trim()).filter((n) => !known.includes(n));
  return unknown.length > 0 ? `unknown placeholder \${${unknown[0]}} (known: ${known.map((k) => `\${${k}}`).join(', ')})` : undefined;
}

/** An object of strings (`headers`, `body`, `verify_claims`), placeholders checked. */
function stringMap(e: Entry, key: string, def: Record<string, string>, known: readonly string[]): Record<string, string> {
  const raw = e.raw(key) ?? def;
  if (!isObj(raw)) return e.bad(key, `${show(raw)} is not an object`) ?? {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      e.bad(`${key}.${k}`, `${show(v)} is not a string`);
      continue;
    }
    const bad = badPlaceholders(String(v), known);
    if (bad) e.bad(`${key}.${k}`, bad);
    out[k] = String(v);
  }
  return out;
}

/** `ssl {enable, cacertfile, verify, server_name_indication}` of a client to an HTTPS service. */
function clientTls(e: Entry, file: FileConverter): { cacertfile?: string; verify: boolean; server_name_indication?: string } | undefined {
  const ssl = e.raw('ssl');
  if (ssl === undefined) return undefined;
  if (!isObj(ssl)) return e.bad('ssl', `${show(ssl)} is not an object`);
  const t = new Entry(`${e.at} ssl`, ssl);
  const on = t.bool('enable', false);
  const ca = t.str('cacertfile');
  const verify = t.oneOf('verify', ['verify_peer', 'verify_none'], 'verify_peer');
  const sni = t.str('server_name_indication');
  t.rest(['certfile', 'keyfile', 'versions', 'ciphers', 'depth', 'password', 'secure_renegotiate', 'reuse_sessions', 'hibernate_after', 'log_level', 'user_lookup_fun', 'middlebox_comp_mode', 'partial_chain', 'verify_peer_ext_key_usage']);
  e.problems.push(...t.problems);
  let caFile: string | undefined;
  if (ca !== undefined && ca !== '') {
    const f = file(ca);
    if (f.ok) caFile = f.value as string;
    else e.bad('ssl.cacertfile', f.reason);
  }
  return on ? { verify: verify !== 'verify_none', ...(caFile !== undefined ? { cacertfile: caFile } : {}), ...(sni !== undefined && sni !== 'disable' ? { server_name_indication: sni } : {}) } : undefined;
}

/** The request of an HTTP authenticator or authorization source: method, url, headers, body, timeout, TLS. */
function httpService(e: Entry, file: FileConverter, vars: readonly string[], defaultTimeout: string): HttpServiceConfig {
  const method = e.oneOf('method', ['get', 'post'], 'post');
  const url = e.str('url');
  if (url === undefined) e.bad('url', 'is required (http:// or https://)');
  else {
    let ok: boolean;
    try {
      const u = new URL(url.replace(/\$\{[^}]*\}/g, 'x'));
      ok = u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      ok = false;
    }
    if (!ok) e.bad('url', `'${url}' is not an http:// or https:// URL`);
    else {
      const bad = badPlaceholders(url, vars);
      if (bad) e.bad('url', bad);
    }
  }
  const headers = stringMap(e, 'headers', method === 'post' ? { 'content-type': 'application/json' } : {}, []);
  const body = stringMap(e, 'body', {}, vars);
  const timeout = parseDuration(e.raw('request_timeout') ?? defaultTimeout, 1);
  if (!timeout.ok) e.bad('request_timeout', timeout.reason);
  const tls = clientTls(e, file);
  const poolSize = e.int('pool_size', 1, 1024, 8);
  // EMQX's other connection keys: accepted, not used (connections are pooled, one request at a time each).
  e.rest(['connect_timeout', 'enable_pipelining', 'max_retries', 'retry_interval', 'request', 'max_inactive', 'allowed_hosts', 'hostname_resolution']);
  return { method: method ?? 'post', url: url ?? '', headers, body, request_timeout: timeout.ok ? timeout.value : 5000, pool_size: poolSize ?? 8, ...(tls ? { ssl: tls } : {}) };
}

/** EMQX's HTTP authenticator (emqx_authn_http_schema). */
function httpAuthenticator(e: Entry, enable: boolean, file: FileConverter): unknown {
  e.seen.add('precondition');
  return { mechanism: 'password_based', backend: 'http', enable, ...httpService(e, file, AUTHN_VARS, '5s') };
}

/** `host:port`, `[v6]:port` or `host` (the default port): one server's address; a reason when it is not one. */
export function parseHostPort(text: string, defaultPort: number): { host: string; port: number } | string {
  const t = text.trim();
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(t) ?? /^([^:\s]+)(?::(\d+))?$/.exec(t);
  if (!m) return `'${text}' is not host:port`;
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (!(port >= 1 && port <= 65535)) return `port ${m[2]} is outside 1..65535`;
  return { host: m[1]!, port };
}

/** EMQX's Redis connection keys (emqx_redis): redis_type, server(s), sentinel, database, username, password, ssl. */
function redisConnection(e: Entry, file: FileConverter): Record<string, unknown> {
  const type = e.oneOf('redis_type', ['single', 'cluster', 'sentinel'], 'single') ?? 'single';
  const key = type === 'single' ? 'server' : 'servers';
  const raw = e.raw(key);
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw.map(String) : String(raw).split(',');
  const servers: Array<{ host: string; port: number }> = [];
  for (const item of list) {
    const a = parseHostPort(String(item), 6379);
    if (typeof a === 'string') e.bad(key, a);
    else servers.push(a);
  }
  if (list.length === 0) e.bad(key, `is required (${type === 'single' ? '"127.0.0.1:6379"' : '"h1:6379,h2:6379"'})`);
  if (type === 'single' && list.length > 1) e.bad(key, 'names one server (redis_type = single)');
  e.seen.add(type === 'single' ? 'servers' : 'server');
  const sentinel = e.str('sentinel');
  if (type === 'sentinel' && sentinel === undefined) e.bad('sentinel', 'is required with redis_type = sentinel (the master name)');
  const database = e.int('database', 0, 1_000_000, 0) ?? 0;
  const username = e.str('username');
  const password = e.str('password');
  const tls = clientTls(e, file);
  return {
    redis_type: type,
    servers,
    ...(sentinel !== undefined ? { sentinel } : {}),
    database,
    ...(username !== undefined && username !== '' ? { username } : {}),
    ...(password !== undefined && password !== '' ? { password } : {}),
    ...(tls ? { ssl: tls } : {}),
  };
}

/** A Redis `cmd`: split, checked by `problem`; its key's placeholders checked against `vars`. */
function redisCommand(e: Entry, problem: (args: readonly string[]) => string | undefined, vars: readonly string[], example: string): string[] {
  const text = e.str('cmd');
  if (text === undefined) {
    e.bad('cmd', `is required (e.g. "${example}")`);
    return [];
  }
  const args = splitCommand(text);
  if (!Array.isArray(args)) {
    e.bad('cmd', args.error);
    return [];
  }
  const bad = problem(args) ?? (args[1] !== undefined ? badPlaceholders(args[1], vars) : undefined);
  if (bad) e.bad('cmd', bad);
  return args;
}

/** EMQX's PostgreSQL and MySQL connection keys (emqx_postgresql, emqx_mysql): server, database, username, password, pool_size, ssl. */
function sqlConnection(e: Entry, file: FileConverter, backend: 'postgresql' | 'mysql'): Record<string, unknown> {
  const raw = e.str('server');
  const defaultPort = backend === 'mysql' ? 3306 : 5432;
  let server: { host: string; port: number } | undefined;
  if (raw === undefined) e.bad('server', `is required (e.g. "127.0.0.1:${defaultPort}")`);
  else {
    const a = parseHostPort(raw, defaultPort);
    if (typeof a === 'string') e.bad('server', a);
    else server = a;
  }
  const database = e.str('database');
  if (database === undefined || database === '') e.bad('database', 'is required');
  // EMQX's MySQL connector logs in as root unless told otherwise.
  const username = e.str('username', backend === 'mysql' ? 'root' : undefined);
  const password = e.str('password');
  const poolSize = e.int('pool_size', 1, 1024, 8) ?? 8;
  const tls = clientTls(e, file);
  return {
    server: server ?? { host: '', port: 0 },
    database: database ?? '',
    ...(username !== undefined && username !== '' ? { username } : {}),
    ...(password !== undefined && password !== '' ? { password } : {}),
    pool_size: poolSize,
    ...(tls ? { ssl: tls } : {}),
  };
}

/** A SQL `query` whose placeholders are among `vars`. */
function sqlQuery(e: Entry, vars: readonly string[], example: string): string {
  const q = e.str('query');
  if (q === undefined || q.trim() === '') {
    e.bad('query', `is required (e.g. "${example}")`);
    return '';
  }
  const bad = badPlaceholders(q, vars);
  if (bad) e.bad('query', bad);
  return q;
}

/** EMQX's PostgreSQL and MySQL authenticators (emqx_authn_postgresql_schema, emqx_authn_mysql_schema). */
function sqlAuthenticator(e: Entry, enable: boolean, file: FileConverter, backend: 'postgresql' | 'mysql'): unknown {
  const conn = sqlConnection(e, file, backend);
  const query = sqlQuery(e, AUTHN_VARS, 'SELECT password_hash, salt, is_superuser FROM mqtt_user WHERE username = ${username} LIMIT 1');
  const algo = hashAlgorithm(e);
  e.rest(['precondition', 'auto_reconnect', 'prepare_statement', 'disable_prepared_statements', 'query_timeout']);
  return { mechanism: 'password_based', backend, enable, ...conn, query, password_hash_algorithm: algo };
}

/**
 * EMQX's LDAP connection and search (emqx_ldap, and the base_dn / filter / query_timeout the LDAP
 * authenticator and authorization source share); `vars`: the placeholders base_dn and filter may hold.
 */
function ldapSearch(e: Entry, file: FileConverter, vars: readonly string[]): Record<string, unknown> {
  const raw = e.str('server');
  let server: { host: string; port: number } | undefined;
  if (raw === undefined) e.bad('server', 'is required (e.g. "127.0.0.1:389")');
  else {
    const a = parseHostPort(raw, 389);
    if (typeof a === 'string') e.bad('server', a);
    else server = a;
  }
  const username = e.str('username');
  if (username === undefined) e.bad('username', 'is required (the DN searches bind as, e.g. "cn=root,dc=emqx,dc=io")');
  const password = e.str('password');
  const baseDn = e.str('base_dn');
  if (baseDn === undefined) e.bad('base_dn', 'is required (e.g. "uid=${username},ou=testdevice,dc=emqx,dc=io")');
  else {
    const bad = badPlaceholders(baseDn, vars);
    if (bad) e.bad('base_dn', bad);
  }
  let filter = e.str('filter', '(objectClass=mqttUser)') ?? '(objectClass=mqttUser)';
  if (filter.trim() === '') filter = '(objectClass=mqttUser)';
  else if (!/^\s*\(.*\)\s*$/s.test(filter)) e.bad('filter', `'${filter}' is not an LDAP filter in parentheses`);
  else {
    const bad = badPlaceholders(filter, vars);
    if (bad) e.bad('filter', bad);
  }
  const timeout = parseDuration(e.raw('query_timeout') ?? '5s', 1);
  if (!timeout.ok) e.bad('query_timeout', timeout.reason);
  const tls = clientTls(e, file);
  return {
    server: server ?? { host: '', port: 0 },
    username: username ?? '',
    ...(password !== undefined && password !== '' ? { password } : {}),
    base_dn: baseDn ?? '',
    filter,
    query_timeout: timeout.ok ? timeout.value : 5000,
    ...(tls ? { ssl: tls } : {}),
  };
}

/** EMQX's LDAP authenticator (emqx_authn_ldap_schema, emqx_ldap): the directory, where the user's entry is, and how its password is checked. */
function ldapAuthenticator(e: Entry, enable: boolean, file: FileConverter): unknown {
  const search = ldapSearch(e, file, AUTHN_VARS);
  const mraw = e.raw('method') ?? { type: 'hash' };
  let method: unknown;
  if (!isObj(mraw)) e.bad('method', `${show(mraw)} is not an object`);
  else {
    const m = new Entry(`${e.at} method`, mraw);
    const type = m.oneOf('type', ['hash', 'bind'], 'hash');
    const superuser = m.str('is_superuser_attribute', 'isSuperuser') ?? 'isSuperuser';
    if (type === 'bind') method = { type, bind_password: m.str('bind_password', '${password}') ?? '${password}', is_superuser_attribute: superuser };
    else method = { type: 'hash', password_attribute: m.str('password_attribute', 'userPassword') ?? 'userPassword', is_superuser_attribute: superuser };
    m.rest(['clientid_override_attribute']);
    e.problems.push(...m.problems);
  }
  // The entry's ACL attributes are the LDAP authorization source's business, not read here.
  e.rest(['precondition', 'pool_size', 'request_timeout', 'acl_ttl_attribute', 'publish_attribute', 'subscribe_attribute', 'all_attribute', 'acl_rule_attribute']);
  return { mechanism: 'password_based', backend: 'ldap', enable, ...search, method };
}

/** EMQX's Redis authenticator (emqx_authn_redis_schema). */
function redisAuthenticator(e: Entry, enable: boolean, file: FileConverter): unknown {
  const conn = redisConnection(e, file);
  const cmd = redisCommand(e, authnCommandProblem, AUTHN_VARS, 'HMGET mqtt_user:${username} password_hash salt is_superuser');
  const algo = hashAlgorithm(e);
  e.rest(['precondition', 'pool_size', 'auto_reconnect']);
  return { mechanism: 'password_based', backend: 'redis', enable, ...conn, cmd, password_hash_algorithm: algo };
}

/** EMQX's JWT authenticator (emqx_authn_jwt_schema): a secret, a public key, or keys from a JWKS endpoint. */
function jwtAuthenticator(e: Entry, enable: boolean, file: FileConverter): unknown {
  const useJwks = e.bool('use_jwks', false);
  const from = e.oneOf('from', ['password', 'username'], 'password');
  let algorithm: 'hmac-based' | 'public-key' | undefined;
  let secret: string | undefined;
  let publicKey: string | undefined;
  let jwks: unknown;
  const base64 = e.bool('secret_base64_encoded', false);
  if (useJwks) {
    const endpoint = e.str('endpoint');
    let ok: boolean;
    try {
      ok = endpoint !== undefined && ['http:', 'https:'].includes(new URL(endpoint).protocol);
    } catch {
      ok = false;
    }
    if (!ok) e.bad('endpoint', `${endpoint === undefined ? 'is required' : `'${endpoint}' is not an http:// or https:// URL`} (the JWKS endpoint, with use_jwks = true)`);
    const refresh = parseDuration(e.raw('refresh_interval') ?? '300s', 1000);
    if (!refresh.ok) e.bad('refresh_interval', refresh.reason);
    else if ((refresh.value as number) < 10_000) e.bad('refresh_interval', 'is shorter than 10s');
    const tls = clientTls(e, file);
    jwks = { endpoint, refresh_interval: refresh.ok ? refresh.value : 300_000, ...(tls ? { ssl: tls } : {}) };
    e.raw('algorithm');
  } else {
    algorithm = e.oneOf('algorithm', ['hmac-based', 'public-key']);
    if (algorithm === 'hmac-based') {
      secret = e.str('secret');
      if (secret === undefined || secret === '') e.bad('secret', 'is required with algorithm = "hmac-based"');
      else if (base64 && !/^[A-Za-z0-9+/]+=*$/.test(secret)) e.bad('secret', 'is not base64 (secret_base64_encoded = true)');
    } else if (algorithm === 'public-key') {
      publicKey = e.str('public_key');
      if (publicKey === undefined || publicKey === '') e.bad('public_key', 'is required with algorithm = "public-key" (a PEM public key)');
      else {
        try {
          createPublicKey(publicKey);
        } catch (err) {
          e.bad('public_key', `is not a PEM public key: ${(err as Error).message}`);
        }
      }
    }
  }
  const claims = stringMap(e, 'verify_claims', {}, ['clientid', 'username']);
  const disconnect = e.bool('disconnect_after_expire', true);
  const aclClaim = e.str('acl_claim_name', 'acl') ?? 'acl';
  e.rest(['precondition', 'ssl', 'endpoint', 'refresh_interval', 'pool_size', 'secret', 'public_key']);
  return {
    mechanism: 'jwt',
    enable,
    ...(algorithm !== undefined ? { algorithm } : {}),
    from,
    ...(secret !== undefined ? { secret, secret_base64_encoded: base64 } : {}),
    ...(publicKey !== undefined ? { public_key: publicKey } : {}),
    ...(jwks !== undefined ? { jwks } : {}),
    verify_claims: claims,
    acl_claim_name: aclClaim,
    disconnect_after_expire: disconnect,
  };
}

/** `authentication = [...]`: the chain, tried in order. */
export function convertAuthentication(v: unknown, file: FileConverter): Converted {
  const items = v === undefined ? [] : isObj(v) ? [v] : v;
  if (!Array.isArray(items)) return { ok: false, reason: `${show(v)} is not an array of authenticators` };
  const problems: string[] = [];
  const out: unknown[] = [];
  const ids = new Set<string>();
  items.forEach((item, i) => {
    const at = `[${i + 1}]`;
    if (!isObj(item)) return problems.push(`${at}: ${show(item)} is not an object`);
    const e = new Entry(at, item);
    const enable = e.bool('enable', true);
    const mechanism = e.str('mechanism');
    const backend = e.str('backend');
    const id = `${mechanism ?? '?'}${backend !== undefined ? `:${backend}` : ''}`;
    if (ids.has(id)) e.bad('', `authenticator ${id} is configured twice`);
    ids.add(id);
    if (mechanism === undefined) e.bad('mechanism', 'is required (password_based, jwt or scram)');
    else if (mechanism === 'password_based' && backend === 'http') {
      out.push(httpAuthenticator(e, enable, file));
      problems.push(...e.problems);
      return;
    } else if (mechanism === 'password_based' && backend === 'redis') {
      out.push(redisAuthenticator(e, enable, file));
      problems.push(...e.problems);
      return;
    } else if (mechanism === 'password_based' && backend === 'ldap') {
      out.push(ldapAuthenticator(e, enable, file));
      problems.push(...e.problems);
      return;
    } else if (mechanism === 'password_based' && (backend === 'postgresql' || backend === 'mysql')) {
      out.push(sqlAuthenticator(e, enable, file, backend));
      problems.push(...e.problems);
      return;
    } else if (mechanism === 'jwt') {
      out.push(jwtAuthenticator(e, enable, file));
      problems.push(...e.problems);
      return;
    } else if (mechanism === 'scram' && backend === 'built_in_database') {
      // EMQX's emqx_authn_scram_mnesia_schema: MQTT 5 enhanced authentication, SCRAM-SHA-256/512.
      const algorithm = e.oneOf('algorithm', ['sha256', 'sha512'], 'sha256');
      const iterations = e.int('iteration_count', 1, 10_000_000, 4096);
      e.rest(['precondition']);
      out.push({ mechanism, backend, enable, algorithm, iteration_count: iterations });
      problems.push(...e.problems);
      return;
    } else if (mechanism !== 'password_based' || backend !== 'built_in_database') {
      problems.push(...e.problems);
      out.push({ mechanism, ...(backend !== undefined ? { backend } : {}), enable, unserved: true });
      return;
    }
    const userIdType = e.oneOf('user_id_type', ['username', 'clientid'], 'username');
    const algo = hashAlgorithm(e);
    const bootstrapRaw = e.str('bootstrap_file', '${EMQX_ETC_DIR}/auth-built-in-db-bootstrap.csv');
    let bootstrap: string | undefined;
    if (bootstrapRaw !== undefined && bootstrapRaw !== '') {
      const f = file(bootstrapRaw);
      if (f.ok) bootstrap = f.value as string;
      else e.bad('bootstrap_file', f.reason);
    }
    const bootstrapType = e.oneOf('bootstrap_type', ['plain', 'hash'], 'plain');
    e.rest(['precondition']);
    problems.push(...e.problems);
    out.push({ mechanism, backend, enable, user_id_type: userIdType, password_hash_algorithm: algo, bootstrap_type: bootstrapType, ...(bootstrap !== undefined ? { bootstrap_file: bootstrap } : {}) });
  });
  return problems.length > 0 ? { ok: false, reason: problems.join('; ') } : { ok: true, value: out };
}

/** `authorization.sources = [...]`: tried in order. */
export function convertSources(v: unknown, file: FileConverter): Converted {
  if (!Array.isArray(v)) return { ok: false, reason: `${show(v)} is not an array of sources` };
  const problems: string[] = [];
  const out: unknown[] = [];
  const types = new Set<string>();
  v.forEach((item, i) => {
    const at = `[${i + 1}]`;
    if (!isObj(item)) return problems.push(`${at}: ${show(item)} is not an object`);
    const e = new Entry(at, item);
    const type = e.str('type');
    const enable = e.bool('enable', true);
    if (type === undefined) e.bad('type', 'is required (file, built_in_database, http, redis, postgresql, mysql or ldap)');
    else if (types.has(type)) e.bad('type', `a ${type} source is configured twice`);
    if (type !== undefined) types.add(type);
    if (type === 'file') {
      const path = e.str('path');
      if (path === undefined) e.bad('path', 'is required (e.g. "${EMQX_ETC_DIR}/acl.conf")');
      else {
        const f = file(path);
        if (f.ok) out.push({ type, enable, path: f.value });
        else e.bad('path', f.reason);
      }
      // `rules` (the file's text inline) is what EMQX's API writes; only `path` is read here.
      if (e.v.rules !== undefined) e.bad('rules', 'inline rules are not supported; put them in the file named by path');
      e.seen.add('rules');
    } else if (type === 'built_in_database') {
      out.push({ type, enable, max_rules: e.int('max_rules', 1, 1_000_000, 100) });
    } else if (type === 'http') {
      // EMQX's emqx_authz_http_schema; its request_timeout defaults to 30 s.
      out.push({ type, enable, ...httpService(e, file, AUTHZ_HTTP_VARS, '30s') });
      problems.push(...e.problems);
      return;
    } else if (type === 'postgresql' || type === 'mysql') {
      // EMQX's emqx_authz_postgresql_schema and emqx_authz_mysql_schema.
      const conn = sqlConnection(e, file, type);
      const query = sqlQuery(e, ['username', 'clientid', 'peerhost', 'cert_common_name', 'cert_subject'], 'SELECT permission, action, topic FROM mqtt_acl WHERE username = ${username}');
      e.rest(['auto_reconnect', 'prepare_statement', 'disable_prepared_statements', 'query_timeout']);
      out.push({ type, enable, ...conn, query });
      problems.push(...e.problems);
      return;
    } else if (type === 'ldap') {
      // EMQX's emqx_authz_ldap_schema: the client's entry, and the attributes holding its topics.
      const search = ldapSearch(e, file, ['username', 'clientid', 'peerhost', 'cert_common_name', 'cert_subject']);
      const attrs = {
        publish_attribute: e.str('publish_attribute', 'mqttPublishTopic') ?? 'mqttPublishTopic',
        subscribe_attribute: e.str('subscribe_attribute', 'mqttSubscriptionTopic') ?? 'mqttSubscriptionTopic',
        all_attribute: e.str('all_attribute', 'mqttPubSubTopic') ?? 'mqttPubSubTopic',
      };
      e.rest(['pool_size', 'request_timeout', 'acl_rule_attribute']);
      out.push({ type, enable, ...search, ...attrs });
      problems.push(...e.problems);
      return;
    } else if (type === 'redis') {
      // EMQX's emqx_authz_redis_schema.
      const conn = redisConnection(e, file);
      const cmd = redisCommand(e, authzCommandProblem, ['username', 'clientid', 'peerhost', 'cert_common_name'], 'HGETALL mqtt_acl:${username}');
      e.rest(['pool_size', 'auto_reconnect']);
      out.push({ type, enable, ...conn, cmd });
      problems.push(...e.problems);
      return;
    } else if (type !== undefined) {
      problems.push(...e.problems);
      out.push({ type, enable, unserved: true });
      return;
    }
    e.rest();
    problems.push(...e.problems);
  });
  return problems.length > 0 ? { ok: false, reason: problems.join('; ') } : { ok: true, value: out };
}

export const AUTHENTICATION_FIELD: Field = { type: { kind: 'custom', expected: 'an array of authenticators', convert: convertAuthentication }, default: [] };

export const AUTHORIZATION_FIELDS: Readonly<Record<string, Field>> = {
  no_match: oneOf(['allow', 'deny'], 'allow'),
  deny_action: oneOf(['ignore', 'disconnect'], 'ignore'),
  cache: object({
    enable: bool(true),
    max_size: int(1, 1_048_576, 32),
    ttl: duration('1m'),
    excludes: { type: { kind: 'string_list' }, default: [] },
  }),
  sources: { type: { kind: 'custom', expected: 'an array of sources', convert: convertSources } },
  node_cache: emqx,
};

const flappingPolicy = (maxCount: number): Record<string, Field> => ({
  enable: bool(false),
  max_count: int(0, Number.MAX_SAFE_INTEGER, maxCount),
  window_time: duration('1m'),
  ban_time: duration('5m'),
});

export const FLAPPING_FIELDS: Readonly<Record<string, Field>> = {
  ...flappingPolicy(15),
  // Ours: the same detection by the client's address and by its user name, each on its own
  // thresholds (off by default: many honest clients may share one address behind a NAT).
  by_peerhost: { ...object(flappingPolicy(15)), ours: true },
  by_username: { ...object(flappingPolicy(15)), ours: true },
};

/** `mqtt.peer_cert_as_username` / `peer_cert_as_clientid` (used on ssl and wss listeners). */
export const MQTT_AUTH_FIELDS: Readonly<Record<string, Field>> = {
  peer_cert_as_username: oneOf(['disabled', 'cn', 'dn', 'crt', 'pem', 'md5'], 'disabled'),
  peer_cert_as_clientid: oneOf(['disabled', 'cn', 'dn', 'crt', 'pem', 'md5'], 'disabled'),
};
