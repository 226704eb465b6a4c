// The keys of authentication and authorization: `authentication` (the chain), `authorization`
// and `flapping_detect`, with EMQX 5.8's names and defaults (emqx_authn_schema,
// emqx_authn_mnesia_schema, emqx_authn_password_hashing, emqx_authz_schema, emqx_schema), and
// `mqtt.peer_cert_as_username` / `peer_cert_as_clientid`. The chain and the sources are arrays
// of entries whose keys depend on their kind, so they are checked here entry by entry. Kinds
// this node does not serve (jwt, http, mysql, ...) are accepted, so an EMQX file loads, and kept
// as `unserved`: they act as EMQX's do while their backend is unreachable (they never decide),
// so a chain of only such authenticators lets nobody in, and the node warns at start.
import type { Field } from './fields.js';
import { bool, duration, emqx, int, object, oneOf } from './builders.js';

import { Entry, isObj, show, type Converted, type FileConverter } from './entry.js';

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
    if (mechanism === undefined) e.bad('mechanism', 'is required (password_based)');
    else if (mechanism !== 'password_based' || backend !== 'built_in_database') {
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
    if (type === undefined) e.bad('type', 'is required (file or built_in_database)');
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
